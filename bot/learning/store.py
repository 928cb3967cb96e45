"""Storage of the learners' cells and of the check-in time series.

Two promises, both tested on SQLite and PostgreSQL:
- an update is never lost when check-ins arrive at once: each is one UPDATE whose new value is
  computed from the row's value inside the statement (value = (1 - alpha) * value + ...), so
  the database's row lock orders concurrent writers and each sees the other's result;
- what a person said lives only sealed (Fernet, bot/store/sealing.py), and /forget deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.store.sealing import Sealer
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


def _cell(learner: str, scope: str, state_key: str, action: str) -> list[object]:
    return [
        LearnedValue.learner == learner,
        LearnedValue.scope == scope,
        LearnedValue.state_key == state_key,
        LearnedValue.action == action,
    ]


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
    ensure_cells(session, learner, scope, [state_key], [action], initial_value=initial_value)
    session.execute(
        update(LearnedValue)
        .where(*_cell(learner, scope, state_key, action))  # type: ignore[arg-type]
        .values(
            value=(1.0 - alpha) * col(LearnedValue.value) + alpha * target,
            visits=col(LearnedValue.visits) + 1,
        )
    )


def add_observation(
    session: Session,
    learner: str,
    scope: str,
    state_key: str,
    action: str,
    reward: float,
    *,
    person_id: int | None = None,
) -> None:
    """Add one reward to a cell's running sums (n, sum, sum of squares), atomically."""
    ensure_cells(session, learner, scope, [state_key], [action], person_id=person_id)
    session.execute(
        update(LearnedValue)
        .where(*_cell(learner, scope, state_key, action))  # type: ignore[arg-type]
        .values(
            visits=col(LearnedValue.visits) + 1,
            total=col(LearnedValue.total) + reward,
            total_sq=col(LearnedValue.total_sq) + reward * reward,
        )
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
) -> CheckIn:
    row = CheckIn(
        person_id=person_id,
        kind=kind,
        created_at=at or utcnow(),
        sealed=sealer.seal(json.dumps(data, sort_keys=True)),
    )
    session.add(row)
    session.flush()
    return row


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
    query = select(CheckIn).where(CheckIn.person_id == person_id)
    if kinds is not None:
        query = query.where(col(CheckIn.kind).in_(list(kinds)))
    if since is not None:
        query = query.where(col(CheckIn.created_at) >= since)
    if last is not None:
        rows = list(session.exec(query.order_by(col(CheckIn.id).desc()).limit(last)))[::-1]
    else:
        rows = list(session.exec(query.order_by(col(CheckIn.id))))
    out = []
    for row in rows:
        assert row.id is not None
        data = json.loads(sealer.unseal(row.sealed))
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        out.append(Event(row.id, row.kind, at, data))
    return out
