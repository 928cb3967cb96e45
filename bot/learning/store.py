"""Storage of the learners' cells and of the check-in time series.

Two promises, both tested on SQLite and PostgreSQL:
- an update is never lost when check-ins arrive at once: each is one UPDATE whose new value is
  computed from the row's value inside the statement (value = (1 - alpha) * value + ...), so
  the database's row lock orders concurrent writers and each sees the other's result;
- what a person said lives only sealed (AES-GCM under the person's own key, bot/store/keys.py),
  and /forget destroys the key and deletes it.

The statements are built once (module level or cached per shape, bound parameters): one
check-in with its next batch runs six of them in one transaction (the latest events with the
person's key, the Q-table row, two cell UPDATEs, two event INSERTs), and building SQLAlchemy
expressions anew for each cost more CPU than running them.

`MemoryStore` keeps the same cells and events in dictionaries, for the simulation only
(bot/sim/learning_sim.py): every function here takes either a database session or a
MemoryStore, so the learners and LearningService run the same code on both and only the last
step (a SQL statement or a dictionary write) differs. A simulated person has nothing to seal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeAlias

from sqlalchemy import and_, bindparam, event, insert, literal, or_, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import Select
from sqlmodel import Session

from bot.store.keys import (
    WRAPPED_KEY_KIND,
    knows_person_key,
    person_key,
    remember_wrapped_key,
    seal_for,
)
from bot.store.sealing import Sealer, SealError, unseal_with
from bot.store.tables import CheckIn, LearnedValue, PersonSecret, utcnow

EVERYONE = "all"
_CELLS = LearnedValue.__table__  # type: ignore[attr-defined]
_EVENTS = CheckIn.__table__  # type: ignore[attr-defined]
_SECRETS = PersonSecret.__table__  # type: ignore[attr-defined]


def person_scope(person_id: int) -> str:
    return f"p:{person_id}"


@dataclass(frozen=True, slots=True)
class Cell:
    value: float = 0.0
    visits: int = 0
    total: float = 0.0
    total_sq: float = 0.0


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    at: datetime
    data: dict[str, object]


@dataclass
class MemoryStore:
    """Cells and events in memory: the simulation's stand-in for the two tables."""

    # (learner, scope, state key) -> action -> cell: a read is one lookup per state
    cells: dict[tuple[str, str, str], dict[str, Cell]] = field(default_factory=dict)
    events: dict[int, list[Event]] = field(default_factory=dict)
    next_event_id: int = 1

    def row(self, learner: str, scope: str, key: str) -> dict[str, Cell]:
        return self.cells.setdefault((learner, scope, key), {})


Store: TypeAlias = Session | MemoryStore
"""Where the learners' cells and the check-in events live: a session, or memory (simulation)."""


# -- the learners' cells ------------------------------------------------------------------------
@cache
def _read(pairs: int) -> Any:
    """The cells of `pairs` (scope, state key) rows, each named by its index prefix (learner,
    scope, state_key), OR-ed: with the row-value IN form SQLite searched on `learner` alone
    from five pairs on (see the UPDATEs below)."""
    return sa_select(
        _CELLS.c.scope,
        _CELLS.c.state_key,
        _CELLS.c.action,
        _CELLS.c.value,
        _CELLS.c.visits,
        _CELLS.c.total,
        _CELLS.c.total_sq,
    ).where(
        or_(
            *(
                and_(
                    _CELLS.c.learner == bindparam("b_learner"),
                    _CELLS.c.scope == bindparam(f"b_scope_{i}"),
                    _CELLS.c.state_key == bindparam(f"b_key_{i}"),
                )
                for i in range(pairs)
            )
        )
    )


def _pairs(learner: str, pairs: Sequence[tuple[str, str]]) -> dict[str, object]:
    params: dict[str, object] = {"b_learner": learner}
    for i, (scope, key) in enumerate(pairs):
        params[f"b_scope_{i}"], params[f"b_key_{i}"] = scope, key
    return params


_CACHE = "needtotalk.learned_cells"
_RowKey: TypeAlias = tuple[str, str, str]  # (learner, scope, state key)


def _cached(session: Session) -> dict[_RowKey, dict[str, Cell]]:
    """The cells this transaction has read, by row; each row holds every cell it has (an action
    missing from a row has no cell yet). Kept until the transaction ends, like a person's key
    (bot/store/keys.py): a check-in reads the Q-table's row of the new state to learn (max Q)
    and again to choose the next batch's card type, and the second read was a query of its
    own. The UPDATEs patch it with the values they return, so a read after one sees the
    database's result, including a concurrent check-in's update that committed first. What it
    does not see is a cell another transaction creates or updates after this one read the row:
    choosing from a snapshot taken earlier in the same check-in, which the updates themselves
    never depend on (they are computed in SQL)."""
    cache: dict[_RowKey, dict[str, Cell]] = session.info.setdefault(_CACHE, {})
    return cache


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_soft_rollback")
def _forget_cached_cells(session: OrmSession, *_: Any) -> None:
    session.info.pop(_CACHE, None)


def forget_cached_cells(session: Session) -> None:
    """Drop what this transaction has read (after deleting cells: /forget)."""
    session.info.pop(_CACHE, None)


def read_cells(
    session: Store, learner: str, scoped_keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str, str], Cell]:
    """Cells by (scope, state key, action) for the given (scope, state key) pairs."""
    if not scoped_keys:
        return {}
    wanted = list(dict.fromkeys(scoped_keys))
    if isinstance(session, MemoryStore):
        return {
            (scope, key, action): cell
            for scope, key in wanted
            for action, cell in session.cells.get((learner, scope, key), {}).items()
        }
    cache = _cached(session)
    missing = [(scope, key) for scope, key in wanted if (learner, scope, key) not in cache]
    if missing:
        for scope, key in missing:
            cache[(learner, scope, key)] = {}
        rows = session.connection().execute(_read(len(missing)), _pairs(learner, missing))
        for r in rows:
            cache[(learner, r[0], r[1])][r[2]] = Cell(r[3], r[4], r[5], r[6])
    return {
        (scope, key, action): cell
        for scope, key in wanted
        for action, cell in cache[(learner, scope, key)].items()
    }


def ensure_cells(
    session: Session,
    learner: str,
    scope: str,
    state_keys: Iterable[str],
    actions: Iterable[str],
    *,
    initial_value: float = 0.0,
    person_id: int | None = None,
) -> None:
    """Create the missing cells (INSERT ... ON CONFLICT DO NOTHING: safe when racing)."""
    rows = [
        {
            "learner": learner,
            "scope": scope,
            "person_id": person_id,
            "state_key": key,
            "action": action,
            "value": initial_value,
            "visits": 0,
            "total": 0.0,
            "total_sq": 0.0,
        }
        for key in state_keys
        for action in actions
    ]
    if not rows:
        return
    session.connection().execute(
        _insert_cells(session.get_bind().dialect.name),
        [{f"b_{name}": value for name, value in row.items()} for row in rows],
    )


@cache
def _insert_cells(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING of one cell, built once per dialect (run for many)."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    names = ("learner", "scope", "person_id", "state_key", "action")
    statement = dialect_insert(LearnedValue).values(
        {name: bindparam(f"b_{name}") for name in (*names, "value", "visits", "total", "total_sq")}
    )
    return statement.on_conflict_do_nothing(
        index_elements=["learner", "scope", "state_key", "action"]
    )


# The UPDATEs name each cell by its whole unique key, `learner = ? AND scope = ? AND state_key = ?
# AND action = ?`, one such term per cell, OR-ed: SQLite then searches the unique index once per
# cell. With the row-value form `(scope, state_key) IN (VALUES ...)` beside `learner = ? AND
# action = ?` (and also with the pairs OR-ed beside them, from five pairs on) it searched the
# index on `learner` alone and visited every cell of the learner, so each check-in's update grew
# with the number of people (11 ms per UPDATE with 10,000 people's cells, against 0.01-0.15 ms;
# tests/unit/test_learning_store.py checks the plan). Built once per number of cells.
_RETURNING = (
    _CELLS.c.scope,
    _CELLS.c.state_key,
    _CELLS.c.value,
    _CELLS.c.visits,
    _CELLS.c.total,
    _CELLS.c.total_sq,
)


def _where_cells(pairs: int) -> Any:
    return or_(
        *(
            and_(
                _CELLS.c.learner == bindparam("b_learner"),
                _CELLS.c.scope == bindparam(f"b_scope_{i}"),
                _CELLS.c.state_key == bindparam(f"b_key_{i}"),
                _CELLS.c.action == bindparam("b_action"),
            )
            for i in range(pairs)
        )
    )


@cache
def _q_update(pairs: int) -> Any:
    """value = keep * value + add, with keep = 1 - alpha and add = alpha * target."""
    return (
        update(_CELLS)
        .where(_where_cells(pairs))
        .values(
            value=bindparam("keep") * _CELLS.c.value + bindparam("add"),
            visits=_CELLS.c.visits + 1,
        )
        .returning(*_RETURNING)
    )


@cache
def _sums_update(pairs: int) -> Any:
    return (
        update(_CELLS)
        .where(_where_cells(pairs))
        .values(
            visits=_CELLS.c.visits + 1,
            total=_CELLS.c.total + bindparam("reward"),
            total_sq=_CELLS.c.total_sq + bindparam("reward_sq"),
        )
        .returning(*_RETURNING)
    )


def _update_or_create(
    session: Session,
    learner: str,
    cells: Sequence[tuple[str, str, int | None]],
    action: str,
    statement: Callable[[int], Any],  # _q_update or _sums_update, by number of pairs
    params: dict[str, object],
    initial_value: float = 0.0,
) -> None:
    """One UPDATE of the (scope, state key) cells for `action`; the cells it did not find are
    created (ON CONFLICT DO NOTHING, so racing creators are fine) and updated the same way."""
    pending = list(cells)
    for attempt in range(2):
        where = _pairs(learner, [(scope, key) for scope, key, _ in pending])
        where["b_action"] = action
        cache = _cached(session)
        done = set()
        for r in session.connection().execute(statement(len(pending)), {**where, **params}):
            done.add((r[0], r[1]))
            row = cache.get((learner, r[0], r[1]))
            if row is not None:  # a row this transaction has read: keep it true
                row[action] = Cell(r[2], r[3], r[4], r[5])
        pending = [c for c in pending if (c[0], c[1]) not in done]
        if not pending or attempt == 1:
            break
        for scope, key, person_id in pending:
            ensure_cells(
                session,
                learner,
                scope,
                [key],
                [action],
                initial_value=initial_value,
                person_id=person_id,
            )
    if pending:
        raise RuntimeError("learned value cells could not be created")


def apply_q_update(
    session: Store,
    learner: str,
    scope: str,
    state_key: str,
    action: str,
    *,
    target: float,
    alpha: float,
    initial_value: float = 0.0,
) -> None:
    """Seed 1's Q(s,a) <- (1 - alpha) Q(s,a) + alpha * target, with target = r + gamma max Q(s').

    One UPDATE computed from the stored value, so two check-ins updating the same cell at once
    both count (the second waits for the first's row lock and reads its result)."""
    keep, add = 1.0 - alpha, alpha * target
    if isinstance(session, MemoryStore):
        row = session.row(learner, scope, state_key)
        cell = row.get(action, Cell(value=initial_value))
        row[action] = Cell(keep * cell.value + add, cell.visits + 1, cell.total, cell.total_sq)
        return
    _update_or_create(
        session,
        learner,
        [(scope, state_key, None)],
        action,
        _q_update,
        {"keep": keep, "add": add},
        initial_value,
    )


def add_observation(
    session: Store,
    learner: str,
    cells: Sequence[tuple[str, str, int | None]],
    action: str,
    reward: float,
) -> None:
    """Add one reward to the running sums (n, sum, sum of squares) of several cells
    ((scope, state key, person id or None)) at once, atomically."""
    if isinstance(session, MemoryStore):
        for scope, key, _ in cells:
            row = session.row(learner, scope, key)
            cell = row.get(action, Cell())
            row[action] = Cell(
                cell.value, cell.visits + 1, cell.total + reward, cell.total_sq + reward * reward
            )
        return
    _update_or_create(
        session,
        learner,
        cells,
        action,
        _sums_update,
        {"reward": reward, "reward_sq": reward * reward},
    )


# -- the check-in time series ----------------------------------------------------------------
_INSERT_EVENT = insert(_EVENTS).values(
    person_id=bindparam("b_person_id"),
    kind=bindparam("b_kind"),
    created_at=bindparam("b_created_at"),
    sealed=bindparam("b_sealed"),
)


def record_event(
    session: Store,
    sealer: Sealer,
    person_id: int,
    kind: str,
    data: dict[str, object],
    at: datetime | None = None,
) -> None:
    """Append one event (a Core INSERT: no ORM object to track, the path is per check-in)."""
    at = at or utcnow()
    if isinstance(session, MemoryStore):
        event = Event(session.next_event_id, kind, at, dict(data))
        session.next_event_id += 1
        session.events.setdefault(person_id, []).append(event)
        return
    sealed = seal_for(
        session=session,
        sealer=sealer,
        person_id=person_id,
        value=json.dumps(data, sort_keys=True),
        purpose=checkin_purpose(person_id),
    )
    session.connection().execute(
        _INSERT_EVENT,
        {
            "b_person_id": person_id,
            "b_kind": kind,
            "b_created_at": at,
            "b_sealed": sealed,
        },
    )


def _opened(session: Session, sealer: Sealer, person_id: int, rows: Iterable[Any]) -> list[Event]:
    """Rows opened with the person's own key: none after /forget destroyed it, and a row sealed
    under another secret is skipped rather than failing the person's turn."""
    rows = list(rows)
    if not rows:
        return []
    key = person_key(session=session, sealer=sealer, person_id=person_id)
    if key is None:  # forgotten, or sealed under another secret: nothing to read
        return []
    purpose = checkin_purpose(person_id)
    out = []
    for row_id, kind, created_at, sealed in rows:
        at = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        try:
            data = json.loads(unseal_with(key, sealed, purpose=purpose))
        except (SealError, ValueError):
            continue
        out.append(Event(row_id, kind, at, data))
    return out


def events(
    session: Store,
    sealer: Sealer,
    person_id: int,
    *,
    kinds: Iterable[str] | None = None,
    since: datetime | None = None,
    last: int | None = None,
) -> list[Event]:
    """A person's events, oldest first (the `last` n of them when given)."""
    if isinstance(session, MemoryStore):
        wanted = None if kinds is None else set(kinds)
        found = [
            e
            for e in session.events.get(person_id, [])
            if (wanted is None or e.kind in wanted) and (since is None or e.at >= since)
        ]
        return found[-last:] if last is not None else found
    table = _EVENTS
    query = sa_select(table.c.id, table.c.kind, table.c.created_at, table.c.sealed).where(
        table.c.person_id == person_id
    )
    if kinds is not None:
        query = query.where(table.c.kind.in_(list(kinds)))
    if since is not None:
        query = query.where(table.c.created_at >= since)
    if last is not None:
        rows = list(session.execute(query.order_by(table.c.id.desc()).limit(last)))[::-1]
    else:
        rows = list(session.execute(query.order_by(table.c.id)))
    return _opened(session, sealer, person_id, rows)


@cache
def _latest_query(kinds: tuple[str, ...], with_key: bool = False) -> Select[Any]:
    """One query for the latest event of each kind; `with_key`: and the person's wrapped key
    as one more row (kind WRAPPED_KEY_KIND), saving the key's own query on a check-in."""
    parts = [
        sa_select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.created_at, _EVENTS.c.sealed)
        .where(_EVENTS.c.person_id == bindparam("b_person_id"), _EVENTS.c.kind == literal(kind))
        .order_by(_EVENTS.c.id.desc())
        .limit(1)
        .subquery()
        for kind in kinds
    ]
    selects: list[Any] = [sa_select(*p.c) for p in parts]
    if with_key:
        selects.append(
            sa_select(
                literal(0).label("id"),
                literal(WRAPPED_KEY_KIND).label("kind"),
                literal(None).label("created_at"),
                _SECRETS.c.wrapped_key,
            ).where(_SECRETS.c.person_id == bindparam("b_person_id"))
        )
    return union_all(*selects)  # type: ignore[return-value]


def latest_events(
    session: Store, sealer: Sealer, person_id: int, kinds: Sequence[str]
) -> dict[str, Event]:
    """The latest event of each kind (kinds never seen are missing), in one query (with the
    person's key, when this transaction has not read it yet)."""
    if isinstance(session, MemoryStore):
        out: dict[str, Event] = {}
        for e in reversed(session.events.get(person_id, [])):
            if e.kind in kinds and e.kind not in out:
                out[e.kind] = e
                if len(out) == len(kinds):
                    break
        return out
    with_key = not knows_person_key(session, person_id)
    rows = []
    for row in session.connection().execute(
        _latest_query(tuple(kinds), with_key), {"b_person_id": person_id}
    ):
        if with_key and row[1] == WRAPPED_KEY_KIND:
            remember_wrapped_key(
                session=session, sealer=sealer, person_id=person_id, wrapped=row[3]
            )
        else:
            rows.append(row)
    return {e.kind: e for e in _opened(session, sealer, person_id, rows)}


def checkin_purpose(person_id: int) -> str:
    """Check-ins are sealed under the person's own key, bound to them (docs/privacy.md)."""
    return f"checkin.sealed:{person_id}"
