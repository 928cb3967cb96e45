"""The durable inbox: every update is stored, sealed, before the channel acknowledges it.

Why: a process that dies between "Telegram, I have it" and "the person has their answer" must
not lose the message, and a message delivered twice must not be answered twice. So a channel
stores each update here (its raw form, encrypted with the Sealer) and only then answers its
webhook or confirms its polling offset; a worker handles the row, and the core marks it handled
and queues its replies in the outbox in the turn's own transaction (`settler`), so the update is
handled exactly once, and the answer goes out even if the process dies right after the turn.

Rows are grouped in *lanes*, one per chat (a keyed hash, never the id). One lane's rows are
handled one at a time and in update order, across workers: on PostgreSQL under an advisory lock
keyed by the schema and the lane, on SQLite (one process) under an in-process lock.

Nothing channel-specific lives here: the payload is opaque text to this module.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Integer, Table, bindparam, delete, exists, func, literal, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from bot.domain import Outbound, Settle
from bot.store.engine import sync_at_commit
from bot.store.outbox import (
    INSERT_QUEUED,
    NORMAL,
    QUEUED_COLUMNS,
    URGENT,
    enqueue_to_address,
    queued_row,
)
from bot.store.sealing import Sealer, SealError
from bot.store.side_work import SideWorkRecovery
from bot.store.tables import InboxUpdate, Person, utcnow

PENDING = "pending"
DONE = "done"
SET_ASIDE = "set_aside"  # could not be parsed or handled after its attempts
SKIPPED = "skipped"  # over the person's cap and not a crisis
# A row whose handling started this many times without finishing (the process died each time,
# or the turn failed) is set aside, so one poison update cannot stop its lane for good.
MAX_ATTEMPTS = 3
# The sealed update is bound to the inbox (AES-GCM associated data): it opens nowhere else.
PAYLOAD_PURPOSE = "inbox.sealed_payload"
# How long a handled row (its words already dropped) is kept: long enough to recognise the same
# update delivered again (a webhook retried, a poll whose offset was not confirmed before a
# restart), short enough that the table is no diary of when each chat was active, and a person
# who used /forget is not tied to their return by their chat's lane for long.
KEEP_HANDLED = timedelta(hours=1)


# The statements every update runs, built once with bound parameters: building SQLAlchemy
# expressions anew for each update cost more CPU than running them.
_WAITING_IN_LANE = (
    select(func.count())
    .select_from(InboxUpdate)
    .where(InboxUpdate.lane == bindparam("b_lane"), InboxUpdate.status == PENDING)
)
# On the table, not the ORM class: the row is not loaded in the turn's session (next_in_lane
# read it in its own), so there is nothing for the ORM to bring up to date, and its bookkeeping
# cost more than the statement.
_INBOX: Table = InboxUpdate.__table__  # type: ignore[attr-defined]
# What a taken row carries (StoredUpdate), in both ways of taking one below.
_TAKEN = (
    _INBOX.c.id,
    _INBOX.c.update_id,
    _INBOX.c.lane,
    _INBOX.c.sealed_payload,
    _INBOX.c.attempts,
    _INBOX.c.over_cap,
)


def _waiting_in_lane(rows: Any) -> tuple[Any, ...]:
    """The conditions of a row still waiting in the bound channel and lane (`rows`: the inbox
    table or an alias of it)."""
    return (
        rows.c.channel == bindparam("b_channel"),
        rows.c.lane == bindparam("b_lane"),
        rows.c.status == PENDING,
    )


_FIRST_WAITING = select(InboxUpdate.id).where(*_waiting_in_lane(_INBOX))
# next_in_lane reads its row and counts the attempt on the table too, on a plain connection:
# loading an ORM object to change one integer cost three times the two statements.
_NEXT_IN_LANE = (
    sa_select(*_TAKEN).where(*_waiting_in_lane(_INBOX)).order_by(_INBOX.c.update_id).limit(2)
)
# PostgreSQL, on the lane's own connection: the oldest waiting row taken and its attempt
# counted in one statement, with whether more rows wait behind it (then the holder need not ask
# again for a row that is not there).
_WAITING_ROW = _INBOX.alias("waiting")
_LATER_ROW = _INBOX.alias("later")
_TAKE_NEXT = (
    update(_INBOX)
    .where(
        _INBOX.c.id
        == sa_select(_WAITING_ROW.c.id)
        .where(*_waiting_in_lane(_WAITING_ROW))
        .order_by(_WAITING_ROW.c.update_id)
        .limit(1)
        .scalar_subquery(),
        _INBOX.c.status == PENDING,
    )
    .values(attempts=_INBOX.c.attempts + 1)
    .returning(
        *_TAKEN,
        exists()
        .where(
            _LATER_ROW.c.channel == _INBOX.c.channel,
            _LATER_ROW.c.lane == _INBOX.c.lane,
            _LATER_ROW.c.status == PENDING,
            _LATER_ROW.c.update_id > _INBOX.c.update_id,
        )
        .label("more"),
    )
)
_LANE_KEY = "hashtextextended(current_schema() || '/inbox-lane/' || :lane, 0)"
_TRY_LANE_LOCK = text(f"SELECT pg_try_advisory_lock({_LANE_KEY})")
_LANE_UNLOCK = text(f"SELECT pg_advisory_unlock({_LANE_KEY})")
# The same on the driver's connection, for its pipeline (`holding_lane`).
_LANE_UNLOCK_SQL = f"SELECT pg_advisory_unlock({_LANE_KEY.replace(':lane', '%s')})"
_WAITING_SQL = "SELECT 1 FROM inbox WHERE channel = %s AND lane = %s AND status = 'pending' LIMIT 1"
_COUNT_ATTEMPT = (
    update(_INBOX).where(_INBOX.c.id == bindparam("b_id")).values(attempts=bindparam("b_attempts"))
)
_CLOSE_ROW = (
    update(_INBOX)
    .where(_INBOX.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        sealed_payload=None,
        done_at=bindparam("b_done_at"),
    )
)


# PostgreSQL: a turn's one reply queued and its row closed in one statement (the close as a
# data-modifying WITH, which runs whether or not the INSERT reads it). The reply's values are
# bound under names of their own ("q_" + column): a parameter named like a column would be
# taken as a value for it in the UPDATE too (inbox and outbox share `status`, `attempts`...).
_QUEUED_COLUMNS = tuple(QUEUED_COLUMNS)
_QUEUE_ONE_AND_CLOSE = INSERT_QUEUED.values(
    {name: bindparam(f"q_{name}") for name in _QUEUED_COLUMNS}
).add_cte(_CLOSE_ROW.returning(_INBOX.c.id).cte("closed_update"))


# SQLite: an update stored unless its update_id already is, returning its id (None: a
# repeat); whether it is over the cap is counted before (`InboxStore.store`).
_NEW_ROW = (
    sqlite.insert(_INBOX)
    .values(
        channel=bindparam("b_channel"),
        update_id=bindparam("b_update_id"),
        lane=bindparam("b_lane"),
        sealed_payload=bindparam("b_payload"),
        status=PENDING,
        over_cap=bindparam("b_over_cap"),
        attempts=0,
        received_at=bindparam("b_received_at"),
    )
    .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    .returning(_INBOX.c.id)
)
# PostgreSQL: the same, with the lane's waiting rows counted inside the insert (one round trip,
# not two). Each statement sees the rows inserted before it in its transaction, so a batch
# counts as the two statements did.
_NEW_ROW_COUNTED = (
    postgresql.insert(_INBOX)
    .from_select(
        [
            "channel",
            "update_id",
            "lane",
            "sealed_payload",
            "status",
            "over_cap",
            "attempts",
            "received_at",
        ],
        sa_select(
            bindparam("b_channel", type_=_INBOX.c.channel.type),
            bindparam("b_update_id", type_=_INBOX.c.update_id.type),
            bindparam("b_lane", type_=_INBOX.c.lane.type),
            bindparam("b_payload", type_=_INBOX.c.sealed_payload.type),
            literal(PENDING, _INBOX.c.status.type),
            _WAITING_IN_LANE.scalar_subquery() >= bindparam("b_cap", type_=Integer),
            literal(0, Integer),
            bindparam("b_received_at", type_=_INBOX.c.received_at.type),
        ),
    )
    .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    .returning(_INBOX.c.id)
)


# Telegram's limit on one message's text: replies are joined only up to it.
MESSAGE_LIMIT = 4096


def _plain(reply: Outbound) -> bool:
    """Words only: nothing another person wrote, no picture, nothing a channel tracks."""
    return not (
        reply.protect_content
        or reply.is_card
        or reply.flags
        or reply.delivery_token
        or reply.image_png is not None
    )


def joined_replies(replies: Sequence[Outbound]) -> list[Outbound]:
    """A turn's replies with each plain, button-less one joined to the plain one after it, as
    one message (a blank line between): "Thank you." + "A few questions..." + the first question
    with its buttons is one message, one call against Telegram's 30 calls/s instead of three,
    and one edit of the pressed message. Cards, pictures and anything protected stay apart."""
    out: list[Outbound] = []
    for reply in replies:
        previous = out[-1] if out else None
        if (
            previous is not None
            and not previous.buttons
            and _plain(previous)
            and _plain(reply)
            and previous.text.strip()
            and reply.text.strip()
            and len(previous.text) + 2 + len(reply.text) <= MESSAGE_LIMIT
        ):
            out[-1] = Outbound(text=f"{previous.text}\n\n{reply.text}", buttons=reply.buttons)
            continue
        out.append(reply)
    return out


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    id: int
    update_id: int
    lane: str
    payload: str | None  # None when it cannot be unsealed (another secret)
    attempts: int
    over_cap: bool


@dataclass(frozen=True, slots=True)
class NewUpdate:
    update_id: int
    lane: str
    payload: str


class HeldLane:
    """A lane its caller handles alone (`InboxStore.holding_lane`)."""

    def __init__(
        self, store: InboxStore, channel: str, lane: str, connection: Connection | None
    ) -> None:
        self._store = store
        self._channel = channel
        self._lane = lane
        self._connection = connection
        self.more = False  # after `next`: whether rows waited behind the one it returned
        self.waiting_after = False  # once let go: whether rows wait in the lane

    def next(self) -> StoredUpdate | None:
        """The lane's oldest waiting row, its attempt counted (and committed) before it is
        handled, so a row that kills its process every time is set aside after MAX_ATTEMPTS."""
        row, self.more = self._store._take_next(self._channel, self._lane, self._connection)
        return row


class InboxStore:
    """The database side of the durable inbox (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, sealer: Sealer, *, cap: int = 20) -> None:
        self._engine = engine
        self._sealer = sealer
        self._cap = cap
        self._postgres = engine.dialect.name == "postgresql"
        self._local_locks: dict[str, threading.Lock] = {}
        self._local_guard = threading.Lock()
        self._side_work = SideWorkRecovery(engine, sealer)

    @property
    def cap(self) -> int:
        return self._cap

    def lane_of(self, channel: str, chat_ref: str) -> str:
        """The lane of a chat: a keyed hash (the same chat, the same lane; no id stored)."""
        return self._sealer.keyed_hash("inbox-lane", f"{channel}:{chat_ref}")[:40]

    # -- storing (before the channel acknowledges) --------------------------------------------
    def store(self, channel: str, updates: Sequence[NewUpdate]) -> int:
        """Store a batch in one transaction; an update already stored is ignored. Returns how
        many were new. A row that finds its lane already holding `cap` waiting rows is marked
        over the cap (handled as a crisis check only)."""
        if not updates:
            return 0
        new = 0
        now = utcnow()
        with Session(self._engine) as session:
            sync_at_commit(session)  # acknowledged once this returns: on disk first
            connection = session.connection()
            if self._postgres:
                sealed = [self._sealer.seal(u.payload, purpose=PAYLOAD_PURPOSE) for u in updates]
                for item, payload in zip(updates, sealed, strict=True):
                    params = {
                        "b_channel": channel,
                        "b_update_id": item.update_id,
                        "b_lane": item.lane,
                        "b_payload": payload,
                        "b_cap": self._cap,
                        "b_received_at": now,
                    }
                    if connection.execute(_NEW_ROW_COUNTED, params).first() is not None:
                        new += 1
                session.commit()
                return new
            # Read and sealed before the first insert: on SQLite the transaction holds the one
            # writer's turn from its first write to its (synced) commit.
            waiting = {
                lane: int(connection.execute(_WAITING_IN_LANE, {"b_lane": lane}).scalar_one())
                for lane in dict.fromkeys(item.lane for item in updates)
            }
            sealed = [self._sealer.seal(item.payload, purpose=PAYLOAD_PURPOSE) for item in updates]
            for item, payload in zip(updates, sealed, strict=True):
                params = {
                    "b_channel": channel,
                    "b_update_id": item.update_id,
                    "b_lane": item.lane,
                    "b_payload": payload,
                    "b_over_cap": waiting[item.lane] >= self._cap,
                    "b_received_at": now,
                }
                if connection.execute(_NEW_ROW, params).first() is not None:
                    new += 1
                    waiting[item.lane] += 1  # what a count after this insert would find
            session.commit()
        return new

    # -- handling -----------------------------------------------------------------------------
    def lanes_waiting(self, channel: str, limit: int = 200) -> list[str]:
        """Lanes with rows to handle, oldest first (for a worker that (re)starts or sweeps)."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(InboxUpdate.lane, func.min(InboxUpdate.id))
                .where(InboxUpdate.channel == channel, InboxUpdate.status == PENDING)
                .group_by(col(InboxUpdate.lane))
                .order_by(func.min(InboxUpdate.id))
                .limit(limit)
            ).all()
        return [lane for lane, _ in rows]

    def has_waiting(self, channel: str, lane: str) -> bool:
        # A plain connection: a session's bookkeeping cost more than this one read.
        with self._engine.connect() as connection:
            found = connection.execute(_FIRST_WAITING, {"b_channel": channel, "b_lane": lane})
            return found.first() is not None

    def waiting_count(self, channel: str) -> int:
        with Session(self._engine) as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.channel == channel, InboxUpdate.status == PENDING)
                ).one()
            )

    def last_update_id(self, channel: str) -> int | None:
        """The newest update stored. Every older one was stored too (a batch is confirmed to
        Telegram only once stored, and Telegram sends in order), so polling may start after it:
        an update handled before a kill is then not fetched again after the restart, however
        long the bot was down (handled rows are pruned after KEEP_HANDLED)."""
        with Session(self._engine) as session:
            newest = session.exec(
                select(func.max(InboxUpdate.update_id)).where(InboxUpdate.channel == channel)
            ).one()
        return None if newest is None else int(newest)

    def prune(self, channel: str, now: datetime | None = None) -> int:
        """Delete handled, skipped and set-aside rows older than KEEP_HANDLED, except the
        channel's newest (`last_update_id`); how many went."""
        cutoff = (now or utcnow()) - KEEP_HANDLED
        newest = (
            select(func.max(InboxUpdate.update_id))
            .where(InboxUpdate.channel == channel)
            .scalar_subquery()
        )
        with Session(self._engine) as session:
            result = session.exec(
                delete(InboxUpdate).where(
                    col(InboxUpdate.channel) == channel,
                    col(InboxUpdate.status) != PENDING,
                    col(InboxUpdate.done_at) < cutoff,
                    col(InboxUpdate.update_id) < newest,
                )
            )
            session.commit()
            return int(result.rowcount or 0)

    def recover_side_work(self) -> int:
        """Write the side transactions of turns whose process died between their commits
        (bot/store/side_work.py); how many were written."""
        return self._side_work.run_once()

    @contextmanager
    def lane_lock(self, lane: str) -> Iterator[bool]:
        """Try to become the one handler of `lane`; yields whether this caller got it
        (`holding_lane` without its rows)."""
        with self.holding_lane("", lane, look_after=False) as held:
            yield held is not None

    @contextmanager
    def holding_lane(
        self, channel: str, lane: str, *, look_after: bool = True
    ) -> Iterator[HeldLane | None]:
        """Try to become the one handler of `lane`: yields the held lane (take its rows with
        `HeldLane.next`), or None when another handler has it (it looks again when it lets go).
        Once let go, `HeldLane.waiting_after` says whether rows wait in the lane (stored by a
        worker that could not take the lane meanwhile): its holder is the one who looks.

        PostgreSQL: a session-level advisory lock keyed by the schema and the lane, held on its
        own connection (a worker that dies lets it go with its connection), and that connection
        in autocommit also takes the rows and looks after letting go: one round trip each,
        where a transaction on a connection of its own cost a checkout, BEGIN and COMMIT more.
        SQLite: the bot runs as one process there, so an in-process lock per lane is enough.
        """
        if not self._postgres:
            with self._local_guard:
                lock = self._local_locks.setdefault(lane, threading.Lock())
            if not lock.acquire(blocking=False):
                yield None
                return
            held = HeldLane(self, channel, lane, None)
            try:
                yield held
            finally:
                lock.release()
            if look_after:
                held.waiting_after = self.has_waiting(channel, lane)
            return
        with self._engine.connect() as connection:
            # No BEGIN or COMMIT: each statement is its own transaction (the attempt count is
            # committed before the turn, as it must be).
            connection.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(connection.execute(_TRY_LANE_LOCK, {"lane": lane}).scalar())
            if not got:
                yield None
                return
            held = HeldLane(self, channel, lane, connection)
            try:
                yield held
            except BaseException:
                connection.execute(_LANE_UNLOCK, {"lane": lane})
                raise
            # Let go, then look: a row stored meanwhile is seen here, or by its storer, whose
            # lock attempt then succeeds. Both sent at once (psycopg's pipeline: one round
            # trip), run in this order; the look takes its snapshot after the letting go.
            raw = connection.connection.dbapi_connection
            assert isinstance(raw, psycopg.Connection)
            with raw.pipeline():
                raw.execute(_LANE_UNLOCK_SQL, (lane,))
                found = raw.execute(_WAITING_SQL, (channel, lane)) if look_after else None
            held.waiting_after = found is not None and found.fetchone() is not None

    def next_in_lane(self, channel: str, lane: str) -> StoredUpdate | None:
        """The lane's oldest waiting row, its attempt counted (and committed) before it is
        handled, so a row that kills its process every time is set aside after MAX_ATTEMPTS.
        (A lane's holder uses `HeldLane.next`, which also says whether more rows wait.)"""
        return HeldLane(self, channel, lane, None).next()

    def _take_next(
        self, channel: str, lane: str, connection: Connection | None
    ) -> tuple[StoredUpdate | None, bool]:
        """The lane's oldest waiting row with its attempt counted, and whether more wait."""
        params = {"b_channel": channel, "b_lane": lane}
        if connection is not None:  # PostgreSQL, autocommit: one statement
            found = connection.execute(_TAKE_NEXT, params).first()
            if found is None:
                return None, False
            row_id, update_id, row_lane, sealed, attempts, over_cap, more = found
        else:
            with self._engine.connect() as own:
                # Two rows: the second says whether more wait. Read before the write: on
                # SQLite a lane with nothing waiting must not queue for the one writer.
                rows = own.execute(_NEXT_IN_LANE, params).all()
                if not rows:
                    return None, False
                row_id, update_id, row_lane, sealed, attempts, over_cap = rows[0]
                more = len(rows) > 1
                attempts = int(attempts) + 1
                # The lane's one handler (lane_lock) writes the count it read, plus one.
                own.execute(_COUNT_ATTEMPT, {"b_id": row_id, "b_attempts": attempts})
                own.commit()
        try:
            payload = self._sealer.unseal(sealed, purpose=PAYLOAD_PURPOSE) if sealed else None
        except SealError:
            payload = None
        stored = StoredUpdate(
            id=int(row_id),
            update_id=int(update_id),
            lane=row_lane,
            payload=payload,
            attempts=int(attempts),
            over_cap=bool(over_cap),
        )
        return stored, bool(more)

    def overflow_is_first(self, row: StoredUpdate) -> bool:
        """Whether this over-the-cap row is the first of its burst (the one that says so)."""
        with Session(self._engine) as session:
            previous = session.exec(
                select(InboxUpdate.status)
                .where(InboxUpdate.lane == row.lane, InboxUpdate.update_id < row.update_id)
                .order_by(col(InboxUpdate.update_id).desc())
                .limit(1)
            ).first()
        return previous != SKIPPED

    def settler(
        self,
        row: StoredUpdate,
        channel: str,
        *,
        address: str,
        edit_message_id: int | None = None,
    ) -> tuple[Settle, list[bool]]:
        """The core's `settle` for one row, and a one-item list that turns True once it ran.

        Inside the turn's transaction: the row is marked handled (its payload dropped) and the
        replies are queued for the person, urgent ones (a crisis answer) ahead of every queue;
        the first reply may replace the message whose button was pressed. A person who has just
        used /forget is gone: their last answer goes to `address` (sealed), for this once."""
        ran = [False]

        def settle(session: Any, person_id: int, replies: list[Outbound], urgent: bool) -> None:
            assert isinstance(session, Session)
            if not urgent:  # a crisis answer goes out exactly as written
                replies = joined_replies(replies)
            priority = URGENT if urgent else NORMAL
            # Everything read and sealed before the turn's first write (the flush below): on
            # SQLite the transaction holds the one writer's turn from its first write to its
            # commit, and every other writer waits. No flush for the read: only /forget deletes
            # a person, and it flushes the delete itself. The turn loaded the person in this
            # session, so `get` finds them without a query; a person /forget deleted is gone
            # from it, and the query then finds nobody.
            with session.no_autoflush:
                person = session.get(Person, person_id)
                gone = person is None or person in session.deleted
            now = utcnow()
            rows = [
                queued_row(
                    self._sealer,
                    channel=channel,
                    message=reply,
                    priority=priority,
                    # Gone (/forget in this turn): their last answer goes to the chat, sealed.
                    address=address if gone else None,
                    person_id=None if gone else person_id,
                    edit_message_id=edit_message_id if index == 0 and not gone else None,
                    now=now,
                )
                for index, reply in enumerate(replies)
            ]
            session.flush()  # the turn's own changes (the person's state) go first
            connection = session.connection()
            close = {
                "b_id": row.id,
                "b_status": SKIPPED if row.over_cap and not urgent else DONE,
                "b_done_at": now,
            }
            if len(rows) == 1 and self._postgres:  # the usual turn: one statement, not two
                queued = {f"q_{name}": value for name, value in rows[0].items()}
                connection.execute(_QUEUE_ONE_AND_CLOSE, {**queued, **close})
            else:
                if rows:
                    connection.execute(INSERT_QUEUED, rows)
                connection.execute(_CLOSE_ROW, close)
            ran[0] = True

        return settle, ran

    def finish(
        self,
        row: StoredUpdate,
        *,
        status: str,
        channel: str,
        error: str | None = None,
        address: str | None = None,
        replies: Sequence[Outbound] = (),
        urgent: bool = False,
    ) -> None:
        """Close a row the core did not settle: nothing to do (not for the core), set aside
        (`error` is the exception's type name, nothing else), or a failed turn whose fallback
        (`replies`) goes to the chat `address`."""
        with Session(self._engine) as session:
            if address is not None:
                for reply in replies:
                    enqueue_to_address(
                        session=session,
                        sealer=self._sealer,
                        address=address,
                        channel=channel,
                        message=reply,
                        priority=URGENT if urgent else NORMAL,
                    )
            session.exec(
                update(InboxUpdate)
                .where(col(InboxUpdate.id) == row.id)
                .values(
                    status=status,
                    error=error[:64] if error else None,
                    sealed_payload=None,
                    done_at=utcnow(),
                )
            )
            session.commit()

    def retry_later(self, row: StoredUpdate) -> None:
        """Nothing to change: the row stays waiting and its lane is tried again."""
