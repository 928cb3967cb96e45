"""Storage of the learners' cells and of the check-in time series.

Two promises, both tested on SQLite and PostgreSQL:
- an update is never lost when check-ins arrive at once: each is one UPDATE whose new value is
  computed from the row's value inside the statement (value = (1 - alpha) * value + ...), so
  the database's row lock orders concurrent writers and each sees the other's result;
- what a person said lives only sealed (AES-GCM under the person's own key, bot/store/keys.py),
  and /forget destroys the key and deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.store.keys import person_key, seal_for
from bot.store.sealing import Sealer, SealError, unseal_with
from bot.store.tables import CheckIn, LearnedValue, utcnow

EVERYONE = "all"


def person_scope(person_id: int) -> str:
    return f"p:{person_id}"


@dataclass(frozen=True, slots=True)
class Cell:
    value: float = 0.0
    visits: int = 0
    total: float = 0.0
    total_sq: float = 0.0


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
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LearnedValue).values(rows)
    statement = statement.on_conflict_do_nothing(
        index_elements=["learner", "scope", "state_key", "action"]
    )
    session.execute(statement)


def read_cells(
    session: Session, learner: str, scoped_keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str, str], Cell]:
    """Cells by (scope, state key, action) for the given (scope, state key) pairs."""
    if not scoped_keys:
        return {}
    condition = or_(
        *(
            and_(col(LearnedValue.scope) == scope, col(LearnedValue.state_key) == key)
            for scope, key in scoped_keys
        )
    )
    rows = session.exec(
        select(LearnedValue).where(LearnedValue.learner == learner).where(condition)
    )
    return {
        (r.scope, r.state_key, r.action): Cell(r.value, r.visits, r.total, r.total_sq) for r in rows
    }


def _update_or_create(
    session: Session,
    learner: str,
    cells: Sequence[tuple[str, str, int | None]],
    action: str,
    values: dict[str, object],
    initial_value: float = 0.0,
) -> None:
    """One UPDATE of the (scope, state key) cells for `action`; the cells it did not find are
    created (ON CONFLICT DO NOTHING, so racing creators are fine) and updated the same way."""
    pending = list(cells)
    for attempt in range(2):
        statement = (
            update(LearnedValue)
            .where(col(LearnedValue.learner) == learner, col(LearnedValue.action) == action)
            .where(
                or_(
                    *(
                        and_(col(LearnedValue.scope) == scope, col(LearnedValue.state_key) == key)
                        for scope, key, _ in pending
                    )
                )
            )
            .values(**values)
            .returning(col(LearnedValue.scope), col(LearnedValue.state_key))
        )
        done = {(r[0], r[1]) for r in session.execute(statement)}
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
    session: Session,
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
    _update_or_create(
        session,
        learner,
        [(scope, state_key, None)],
        action,
        {
            "value": (1.0 - alpha) * col(LearnedValue.value) + alpha * target,
            "visits": col(LearnedValue.visits) + 1,
        },
        initial_value,
    )


def add_observation(
    session: Session,
    learner: str,
    cells: Sequence[tuple[str, str, int | None]],
    action: str,
    reward: float,
) -> None:
    """Add one reward to the running sums (n, sum, sum of squares) of several cells
    ((scope, state key, person id or None)) at once, atomically."""
    _update_or_create(
        session,
        learner,
        cells,
        action,
        {
            "visits": col(LearnedValue.visits) + 1,
            "total": col(LearnedValue.total) + reward,
            "total_sq": col(LearnedValue.total_sq) + reward * reward,
        },
    )


# -- the check-in time series ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    at: datetime
    data: dict[str, object]


def record_event(
    session: Session,
    sealer: Sealer,
    person_id: int,
    kind: str,
    data: dict[str, object],
    at: datetime | None = None,
) -> None:
    """Append one event (a Core INSERT: no ORM object to track, the path is per check-in)."""
    session.execute(
        insert(CheckIn).values(
            person_id=person_id,
            kind=kind,
            created_at=at or utcnow(),
            sealed=seal_for(
                session=session,
                sealer=sealer,
                person_id=person_id,
                value=json.dumps(data, sort_keys=True),
                purpose=checkin_purpose(person_id),
            ),
        )
    )


def events(
    session: Session,
    sealer: Sealer,
    person_id: int,
    *,
    kinds: Iterable[str] | None = None,
    since: datetime | None = None,
    last: int | None = None,
) -> list[Event]:
    """A person's events, oldest first (the `last` n of them when given)."""
    table = CheckIn.__table__  # type: ignore[attr-defined]
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
    out: list[Event] = []
    key = person_key(session=session, sealer=sealer, person_id=person_id)
    if key is None:  # forgotten, or sealed under another secret: nothing to read
        return out
    purpose = checkin_purpose(person_id)
    for row_id, kind, created_at, sealed in rows:
        at = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        try:
            data = json.loads(unseal_with(key, sealed, purpose=purpose))
        except (SealError, ValueError):
            continue
        out.append(Event(row_id, kind, at, data))
    return out


def checkin_purpose(person_id: int) -> str:
    """Check-ins are sealed under the person's own key, bound to them (docs/privacy.md)."""
    return f"checkin.sealed:{person_id}"
