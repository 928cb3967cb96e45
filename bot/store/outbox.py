"""The outbox: messages for someone other than the sender wait here until a channel delivers them.

A "this helped" to an author, a reply card, a counsellor's note written in another process: all
go through this table, so a restart loses nothing, and Telegram's 429 `retry_after` is honoured
by moving `next_attempt_at` instead of sleeping in a handler.

What a row keeps (docs/privacy.md): while it waits, its words are sealed in `payload` (AES-GCM
under the server key, bound to the outbox), and a message carrying a card's words names that
card only by a keyed hash (`card_tag`). Once delivered (or given up) the row is deleted: a copy
of the database does not say who was sent what, nor when.
"""

from __future__ import annotations

import base64
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, bindparam, delete, func, insert, or_, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.domain import Button, Outbound, OutboxItem
from bot.store.addresses import delivery_refs
from bot.store.engine import sync_at_commit, writes_first
from bot.store.sealing import Sealer, SealError
from bot.store.tables import OutboxMessage, utcnow

MAX_ATTEMPTS = 8
_SQLITE_CLAIM = threading.Lock()
# How long a worker holds the rows it took; a worker that died lets them go after this.
LEASE_SECONDS = 20.0
# A lease younger than this is not renewed before a send (it has more than LEASE_SECONDS minus
# this left): most replies go out within a second of their claim, and a renewal is a write.
FRESH_LEASE_SECONDS = 2.0
# At most this many of one person's messages in one round, so one long queue cannot hold
# everyone else's back.
PER_RECIPIENT_PER_ROUND = 5
# Priorities: a crisis answer goes ahead of everything else waiting.
URGENT = 10
NORMAL = 0


class OutboxPayload(BaseModel):
    """What an outbox row holds until delivery: everything an `Outbound` carries (the picture
    as base64), or the message ids to delete (a withdrawn card), and for a reply to a pressed
    button the message to edit instead of sending a new one."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["message", "delete"] = "message"
    text: str = ""
    buttons: list[list[tuple[str, str]]] = []
    protect_content: bool = False
    is_card: bool = False
    flags: list[str] = []
    delivery_token: str | None = None
    image_png: str | None = None  # base64
    message_ids: list[int] = []
    edit_message_id: int | None = None
    parts_sent: int = 0  # of a message in several parts, those already delivered

    @classmethod
    def of(cls, message: Outbound, *, edit_message_id: int | None = None) -> OutboxPayload:
        return cls(
            text=message.text,
            buttons=[[(b.label, b.data) for b in row] for row in message.buttons],
            protect_content=message.protect_content,
            is_card=message.is_card,
            flags=sorted(message.flags),
            delivery_token=message.delivery_token,
            image_png=(
                base64.b64encode(message.image_png).decode("ascii")
                if message.image_png is not None
                else None
            ),
            edit_message_id=edit_message_id,
        )

    @property
    def deletes(self) -> tuple[int, ...]:
        """The message ids a "delete" payload names; () for an ordinary message."""
        return tuple(self.message_ids) if self.kind == DELETE else ()

    def outbound(self) -> Outbound:
        return Outbound(
            text=self.text,
            buttons=tuple(
                tuple(Button(label=b[0], data=b[1]) for b in row) for row in self.buttons
            ),
            protect_content=self.protect_content,
            is_card=self.is_card,
            flags=frozenset(self.flags),
            delivery_token=self.delivery_token,
            image_png=base64.b64decode(self.image_png) if self.image_png is not None else None,
        )


PAYLOAD_PURPOSE = "outbox.payload"
ADDRESS_PURPOSE = "outbox.sealed_address"


def seal_payload(sealer: Sealer, payload: OutboxPayload) -> dict[str, object]:
    """The row's words, sealed: a copy of the database shows nothing of a waiting message."""
    return {"sealed": sealer.seal(payload.model_dump_json(), purpose=PAYLOAD_PURPOSE)}


def open_payload(sealer: Sealer, payload: dict[str, object]) -> OutboxPayload | None:
    """The words of a waiting row; None when they cannot be opened here (another secret) or
    do not parse."""
    sealed = payload.get("sealed")
    try:
        if not isinstance(sealed, str):
            return OutboxPayload.model_validate(payload)  # written before payloads were sealed
        return OutboxPayload.model_validate_json(sealer.unseal(sealed, purpose=PAYLOAD_PURPOSE))
    except (SealError, ValueError):
        return None


def card_tag(sealer: Sealer, card_id: int) -> str:
    """How an outbox row names the card whose words it carries: a keyed hash, so a copy of
    the database cannot follow it to the card (and from a reply to the card it answers)."""
    return sealer.keyed_hash("outbox.card", str(card_id))


DELETE = "delete"  # payload kind: delete earlier copies instead of sending a message


def enqueue_delete(
    *, session: Session, sealer: Sealer, address: str, channel: str, message_ids: list[int]
) -> OutboxMessage:
    """Queue the deletion of earlier messages in one chat (a withdrawn card's delivered copy)."""
    row = OutboxMessage(
        sealed_address=sealer.seal(address, purpose=ADDRESS_PURPOSE),
        channel=channel,
        payload=seal_payload(sealer, OutboxPayload(kind=DELETE, message_ids=list(message_ids))),
    )
    session.add(row)
    session.flush()
    return row


def enqueue(
    *,
    session: Session,
    sealer: Sealer,
    person_id: int,
    channel: str,
    message: Outbound,
    card_id: int | None = None,
    priority: int = NORMAL,
    edit_message_id: int | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        person_id=person_id,
        channel=channel,
        payload=seal_payload(sealer, OutboxPayload.of(message, edit_message_id=edit_message_id)),
        card_tag=None if card_id is None else card_tag(sealer, card_id),
        priority=priority,
    )
    session.add(row)
    session.flush()
    return row


def enqueue_to_address(
    *,
    session: Session,
    sealer: Sealer,
    address: str,
    channel: str,
    message: Outbound,
    priority: int = NORMAL,
    case_id: int | None = None,
) -> OutboxMessage:
    """Queue a message for a chat that is not one of our people (the counsellors' chat), or for
    someone whose turn failed before they were stored; `case_id`: the case an alert is about,
    so /forget withdraws an alert not yet sent."""
    row = OutboxMessage(
        sealed_address=sealer.seal(address, purpose=ADDRESS_PURPOSE),
        channel=channel,
        payload=seal_payload(sealer, OutboxPayload.of(message)),
        priority=priority,
        case_id=case_id,
    )
    session.add(row)
    session.flush()
    return row


_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
# Built once, on the table: the inbox's `settle` queues every turn's replies with it (the ORM's
# object and unit-of-work bookkeeping cost more than the insert, inside the one writer's turn).
INSERT_QUEUED = insert(_OUTBOX)
# The columns `queued_row` gives values for, in its order.
QUEUED_COLUMNS = (
    "person_id",
    "sealed_address",
    "card_tag",
    "case_id",
    "channel",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "delivered_at",
    "priority",
    "claimed_until",
)


def queued_row(
    sealer: Sealer,
    *,
    channel: str,
    message: Outbound,
    priority: int = NORMAL,
    person_id: int | None = None,
    address: str | None = None,
    edit_message_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, object]:
    """The column values `enqueue` (`person_id`) or `enqueue_to_address` (`address`) would
    write, for INSERT_QUEUED: sealed and built before the caller's first write, so its
    transaction holds the writer's turn only for the statements."""
    if (person_id is None) == (address is None):
        raise ValueError("a queued message goes to a person or to an address")
    at = now or utcnow()
    values: dict[str, object] = {
        "person_id": person_id,
        "sealed_address": (
            None if address is None else sealer.seal(address, purpose=ADDRESS_PURPOSE)
        ),
        "card_tag": None,
        "case_id": None,
        "channel": channel,
        "payload": seal_payload(sealer, OutboxPayload.of(message, edit_message_id=edit_message_id)),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
        "delivered_at": None,
        "priority": priority,
        "claimed_until": None,
    }
    assert tuple(values) == QUEUED_COLUMNS
    return values


_DELETE_ROW = delete(OutboxMessage).where(col(OutboxMessage.id) == bindparam("b_id"))
_DELETE_ROWS = delete(OutboxMessage).where(
    col(OutboxMessage.id).in_(bindparam("b_ids", expanding=True))
)


# The claim's statements, built once on the table: the claim runs for every round of the drain,
# under a lock every worker waits for, and loading ORM objects to change one column of each
# cost more than the statements.
_HELD = (
    sa_select(_OUTBOX.c.person_id)
    .where(
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.claimed_until > bindparam("b_now"),
        _OUTBOX.c.person_id.is_not(None),
    )
    .distinct()
)
_CLAIMABLE = (
    sa_select(
        _OUTBOX.c.id,
        _OUTBOX.c.person_id,
        _OUTBOX.c.sealed_address,
        _OUTBOX.c.payload,
        _OUTBOX.c.attempts,
        _OUTBOX.c.claimed_until,
    )
    .where(
        _OUTBOX.c.channel == bindparam("b_channel"),
        _OUTBOX.c.status == "pending",
        _OUTBOX.c.next_attempt_at <= bindparam("b_now"),
        or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until <= bindparam("b_now")),
        or_(_OUTBOX.c.person_id.is_(None), _OUTBOX.c.person_id.not_in(_HELD)),
    )
    .order_by(_OUTBOX.c.priority.desc(), _OUTBOX.c.id)
    .limit(bindparam("b_limit"))
)
_CLAIMABLE_LOCKED = _CLAIMABLE.with_for_update(skip_locked=True, of=_OUTBOX)
_TAKE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(claimed_until=bindparam("b_lease"))
)


class OutboxStore:
    """The database side of bot.domain.Outbox, used by the running channel."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer

    def due(self, channel: str, limit: int = 50) -> list[OutboxItem]:
        """Take what is due now for this worker (a lease of LEASE_SECONDS), urgent first.

        Safe with many workers: the claim runs under a database-wide lock on PostgreSQL (an
        advisory transaction lock keyed by the schema) and takes rows FOR UPDATE SKIP LOCKED;
        a person with messages still held by a worker is skipped, so one person's messages go
        out in order from one worker at a time.
        """
        postgres = self._engine.dialect.name == "postgresql"
        if postgres:
            return self._claim(channel, limit, postgres=True)
        # SQLite runs one process: claims take turns in it, and go ahead of waiting turns for
        # the one writer (replies already decided wait behind turns still being decided).
        with _SQLITE_CLAIM, writes_first():
            return self._claim(channel, limit, postgres=False)

    def _claim(self, channel: str, limit: int, *, postgres: bool) -> list[OutboxItem]:
        now = utcnow()
        with Session(self._engine) as session:
            # What is claimed is sent next: the claim, and with it every commit before it (the
            # turns that queued these replies), is on disk first (bot.store.engine).
            sync_at_commit(session)
            connection = session.connection()
            if postgres:
                connection.execute(
                    text(
                        "SELECT pg_advisory_xact_lock("
                        "hashtextextended(current_schema() || :purpose, 0))"
                    ),
                    {"purpose": "/outbox-claim"},
                )
            rows = connection.execute(
                _CLAIMABLE_LOCKED if postgres else _CLAIMABLE,
                {"b_now": now, "b_channel": channel, "b_limit": limit * 4},
            ).all()
            per_recipient: defaultdict[object, int] = defaultdict(int)
            items: list[OutboxItem] = []
            lease = now + timedelta(seconds=LEASE_SECONDS)
            refs = delivery_refs(
                session=session,
                sealer=self._sealer,
                person_ids={row.person_id for row in rows if row.person_id is not None},
                channel=channel,
            )
            claimed: list[int] = []
            undeliverable: list[int] = []
            for row in rows:
                who = row.person_id if row.person_id is not None else row.sealed_address
                if len(items) >= limit or per_recipient[who] >= PER_RECIPIENT_PER_ROUND:
                    continue
                if row.person_id is not None:
                    ref = refs.get(row.person_id)
                else:
                    ref = self._open_address(row.sealed_address)
                payload = (
                    open_payload(self._sealer, row.payload)
                    if isinstance(row.payload, dict)
                    else None
                )
                if ref is None or payload is None:
                    undeliverable.append(row.id)  # nothing of it is worth keeping
                    continue
                per_recipient[who] += 1
                claimed.append(row.id)
                items.append(
                    OutboxItem(
                        id=row.id,
                        recipient_ref=ref,
                        message=payload.outbound(),
                        attempts=row.attempts,
                        delete_message_ids=payload.deletes,
                        edit_message_id=payload.edit_message_id,
                        lease=lease,
                        parts_sent=payload.parts_sent,
                        retaken=row.claimed_until is not None,  # an earlier claim never finished
                    )
                )
            # Read, opened and decided before the first write: on SQLite the claim holds the
            # one writer's turn from here to its (synced) commit. One statement each.
            if claimed:
                connection.execute(_TAKE, {"b_ids": claimed, "b_lease": lease})
            if undeliverable:
                connection.execute(_DELETE_ROWS, {"b_ids": undeliverable})
            session.commit()
            return items

    def pending_count(self, channel: str) -> int:
        with Session(self._engine) as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.channel == channel, OutboxMessage.status == "pending")
                ).one()
            )

    def _open_address(self, sealed: str | None) -> str | None:
        """None for a row sealed under another secret: one bad row must not stop delivery."""
        try:
            return self._sealer.unseal(sealed, purpose=ADDRESS_PURPOSE) if sealed else None
        except SealError:
            return None

    def _update(self, item_id: int, **changes: object) -> None:
        with Session(self._engine) as session:
            row = session.get(OutboxMessage, item_id)
            if row is None:  # the person used /forget meanwhile
                return
            for name, value in changes.items():
                setattr(row, name, value)
            session.add(row)
            session.commit()

    def _delete(self, item_id: int) -> None:
        # One statement, built once: `delivered` runs on the event loop for every message.
        with self._engine.begin() as connection:
            connection.execute(_DELETE_ROW, {"b_id": item_id})

    def delivered(self, item_id: int) -> None:
        """Delete the row: a delivered message is the recipient's, not ours, and a row kept
        would say who was sent something, and when. (A deleted row cannot be claimed again, so
        this is also what keeps a message from going out twice.) Ahead of other waiting
        writers: until it is written, a process killed now would send the message again."""
        self.delivered_many([item_id])

    def delivered_many(self, item_ids: Sequence[int]) -> None:
        """`delivered` for several rows in one transaction: the drain records the deliveries
        that finished while the previous record was being written all at once, one write
        instead of one each behind SQLite's one writer."""
        if not item_ids:
            return
        with writes_first(), self._engine.begin() as connection:
            connection.execute(_DELETE_ROWS, {"b_ids": sorted(set(item_ids))})

    def progress(self, item_id: int, parts_sent: int) -> None:
        """Record that the first `parts_sent` parts of a message in several went out, in its
        sealed payload, committed at once: a worker killed before the rest sends only the rest
        after the restart, instead of the whole message again."""
        with Session(self._engine) as session:
            row = session.get(OutboxMessage, item_id)
            if row is None:
                return
            payload = open_payload(self._sealer, row.payload)
            if payload is None:
                return
            row.payload = seal_payload(
                self._sealer, payload.model_copy(update={"parts_sent": parts_sent})
            )
            session.add(row)
            session.commit()

    def failed(self, item_id: int, retry_after_seconds: float | None = None) -> None:
        with Session(self._engine) as session:
            row = session.get(OutboxMessage, item_id)
            if row is None:
                return
            row.attempts += 1
            row.claimed_until = None
            if row.attempts >= MAX_ATTEMPTS:  # given up: keep nothing of it
                session.delete(row)
                session.commit()
                return
            else:
                wait = retry_after_seconds if retry_after_seconds is not None else 2**row.attempts
                row.next_attempt_at = utcnow() + timedelta(seconds=wait)
            session.add(row)
            session.commit()

    def undeliverable(self, item_id: int) -> None:
        self._delete(item_id)

    def renew(self, item_id: int, lease: datetime | None) -> datetime | None:
        """Right before sending: extend this worker's claim if it still holds it (the lease it
        was given is unchanged), and return the new one; None when another worker took the row
        after the lease ran out (a worker slowed down past it), which must then not send."""
        if lease is None:
            return None
        now = utcnow()
        if lease - now > timedelta(seconds=LEASE_SECONDS - FRESH_LEASE_SECONDS):
            # Claimed a moment ago: the row is this worker's for most of a lease still, and no
            # other can take it before then, so a write here would change nothing.
            return lease
        renewed = now + timedelta(seconds=LEASE_SECONDS)
        with writes_first(), Session(self._engine) as session:
            result = session.exec(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == item_id,
                    col(OutboxMessage.status) == "pending",
                    col(OutboxMessage.claimed_until) == lease,
                )
                .values(claimed_until=renewed)
            )
            session.commit()
            return renewed if result.rowcount == 1 else None

    def release(self, item_id: int) -> None:
        """Give a taken row back untried (an earlier message to the same person failed)."""
        self._update(item_id, claimed_until=None)
