"""A turn's side transactions, made safe against a crash between the commits (PostgreSQL).

Why: on PostgreSQL every row carries the id of the transaction that wrote it, so a turn writes
the person's own rows in one transaction and the rows that must not share it (cards,
deliveries, reactions, flags and cases about a card: `Turn.anon`; messages for other people:
`Turn.outbox`) in side transactions committed right after it (docs/privacy.md). A process
killed between those commits kept the person's part (their draft gone, the card's reference in
their index, the inbox row handled) and lost the card or the notice: the update is not run
again, since it was handled.

So each side session is watched while the turn runs (`SideJournal`): every row it inserts,
changes or deletes, and every bulk UPDATE or DELETE it runs, is recorded as data. Before the
person's commit the record is sealed (server key) into one `side_work` row written in the
person's transaction; the side transaction deletes that row as the last thing before it
commits. So the side work is written exactly once: by the side transaction, or, when it never
committed, by `SideWorkRecovery` (any worker, from the inbox's sweep), which replays the record
and deletes the row in one transaction. A row lock on the `side_work` row decides between the
two if both try at once; recovery only looks at rows it has seen for RECOVER_AFTER.

What this costs in privacy: the `side_work` row shares the person's transaction id, and its
deletion carries the side transaction's. A live row holds only sealed bytes and lives for the
milliseconds between the commits; the deleted version stays in the table file (with both
transaction ids) until VACUUM, as every deleted row does (docs/privacy.md, "Order and timing").

Replay writes what was recorded: inserted rows with the ids they were given, changed columns
with the values they were set to, bulk statements as they ran. A row another turn changed in
between (a card's counts) gets the recorded value: a crash-only corner, stated in
docs/privacy.md.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, delete, event, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql import ClauseElement
from sqlmodel import SQLModel, col

from bot.store.sealing import Sealer, SealError
from bot.store.tables import SideWork

log = logging.getLogger(__name__)

PURPOSE = "side_work.sealed"
# A `side_work` row seen this long ago and still there belongs to a process that died between
# its commits (a live one deletes it milliseconds after writing it).
RECOVER_AFTER = 5.0
LOCK_TIMEOUT_MS = 2000

Op = list[Any]


def _encode(value: Any) -> Any:
    """A column value as JSON, tagged where JSON has no type of its own."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Enum):
        return _encode(value.value)
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == "$dt":
                return datetime.fromisoformat(inner)
            if tag == "$d":
                return date.fromisoformat(inner)
            if tag == "$b":
                return base64.b64decode(inner)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _table_order() -> dict[str, int]:
    return {table.name: n for n, table in enumerate(SQLModel.metadata.sorted_tables)}


def _tables() -> dict[str, Table]:
    return {table.name: table for table in SQLModel.metadata.sorted_tables}


class SideJournal:
    """Records what one side session writes, in the order it reaches the database."""

    def __init__(self, session: OrmSession) -> None:
        self.ops: list[Op] = []
        self._session = session
        event.listen(session, "after_flush", self._after_flush)
        event.listen(session, "do_orm_execute", self._before_bulk)

    def _after_flush(self, session: OrmSession, _context: Any) -> None:
        order = _table_order()

        def table_of(obj: Any) -> Table:
            table = inspect(obj).mapper.local_table
            assert isinstance(table, Table)
            return table

        def rank(obj: Any) -> tuple[int, int]:
            """Parents before children; one table's rows in the order of their ids."""
            first = inspect(obj).mapper.primary_key_from_instance(obj)[0]
            return order.get(table_of(obj).name, 0), first if isinstance(first, int) else 0

        def key_of(obj: Any) -> dict[str, Any]:
            state = inspect(obj)
            return {
                column.name: _encode(value)
                for column, value in zip(
                    state.mapper.primary_key,
                    state.mapper.primary_key_from_instance(obj),
                    strict=True,
                )
            }

        for obj in sorted([*session.new, *session.dirty], key=rank):
            state = inspect(obj)
            columns = {prop.key: prop.columns[0].name for prop in state.mapper.column_attrs}
            if obj in session.new:
                values = {
                    name: _encode(state.dict[key])
                    for key, name in columns.items()
                    if key in state.dict
                }
                self.ops.append(["insert", table_of(obj).name, values])
                continue
            changed = {
                name: _encode(state.attrs[key].history.added[0])
                for key, name in columns.items()
                if state.attrs[key].history.added
            }
            if changed:
                self.ops.append(["update", table_of(obj).name, key_of(obj), changed])
        for obj in sorted(session.deleted, key=rank, reverse=True):
            self.ops.append(["delete", table_of(obj).name, key_of(obj)])

    def _before_bulk(self, state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete):
            return
        # What the statement's autoflush would write goes first, in the order it runs.
        state.session.flush()
        bind = state.session.get_bind()
        statement = state.statement
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(
            dialect=bind.dialect, compile_kwargs={"render_postcompile": True}
        )
        extra = state.parameters if isinstance(state.parameters, Mapping) else {}
        params = {**compiled.params, **extra}
        self.ops.append(["sql", str(compiled), _encode(params)])


def seal_ops(sealer: Sealer, ops: list[Op]) -> str:
    return sealer.seal(json.dumps(ops, separators=(",", ":")), purpose=PURPOSE)


def replay(connection: Connection, ops: list[Op]) -> None:
    """Write recorded side work again, as it was recorded."""
    tables = _tables()
    for op in ops:
        kind = op[0]
        if kind == "sql":
            connection.exec_driver_sql(op[1], _decode(op[2]))
            continue
        table = tables[op[1]]
        if kind == "insert":
            connection.execute(table.insert().values(**_decode(op[2])))
            continue
        where = [table.c[name] == value for name, value in _decode(op[2]).items()]
        if kind == "update":
            connection.execute(table.update().where(*where).values(**_decode(op[3])))
        elif kind == "delete":
            connection.execute(table.delete().where(*where))


def claim(session: OrmSession, row_id: int) -> bool:
    """In the side transaction, just before it commits: delete its `side_work` row. False when
    it is gone (recovery wrote the side work already): then this transaction must roll back."""
    result = session.execute(delete(SideWork).where(col(SideWork.id) == row_id))
    return bool(getattr(result, "rowcount", 0) == 1)


class SideWorkRecovery:
    """Writes side work whose process died between the commits (run now and then)."""

    def __init__(self, engine: Engine, sealer: Sealer, *, after: float = RECOVER_AFTER) -> None:
        self._engine = engine
        self._sealer = sealer
        self._after = after
        self._first_seen: dict[int, float] = {}

    def run_once(self) -> int:
        """Replay every row seen at least `after` seconds ago; returns how many were written."""
        if self._engine.dialect.name != "postgresql":
            return 0  # one transaction per turn there: nothing is ever left half-done
        now = time.monotonic()
        with self._engine.connect() as connection:
            ids = [int(i or 0) for i in connection.execute(select(col(SideWork.id))).scalars()]
        self._first_seen = {i: self._first_seen.get(i, now) for i in ids}
        done = 0
        for row_id, seen in sorted(self._first_seen.items()):
            if now - seen < self._after:
                continue
            try:
                if self._recover(row_id):
                    done += 1
                self._first_seen.pop(row_id, None)
            except DBAPIError as exc:  # its process is alive after all (a lock): next time
                log.warning("side work %d not written now (%s)", row_id, type(exc).__name__)
        return done

    def _recover(self, row_id: int) -> bool:
        with self._engine.connect() as connection, connection.begin():
            # A stalled, not dead, process still holds the rows it is writing: give up soon
            # rather than wait on it (it commits them itself, or this runs again).
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
            sealed = connection.execute(
                select(col(SideWork.sealed))
                .where(col(SideWork.id) == row_id)
                .with_for_update(skip_locked=True)
            ).scalar()
            if sealed is None:
                return False  # committed meanwhile, or another worker is on it
            try:
                ops = json.loads(self._sealer.unseal(sealed, purpose=PURPOSE))
            except (SealError, ValueError):
                log.error("side work %d does not open here (another secret?); left", row_id)
                return False
            replay(connection, ops)
            connection.execute(delete(SideWork).where(col(SideWork.id) == row_id))
        log.warning("side work %d written after its process died between commits", row_id)
        return True
