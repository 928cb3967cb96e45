"""Database engine and migrations: SQLite (WAL) by default, PostgreSQL when DATABASE_URL says so.

Migrations run through Alembic's API on start, so a deployment never runs on a schema older
than its code; `needtotalk db upgrade` does the same by hand.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import create_engine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL's dialect prefix says."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


BUSY_TIMEOUT_SECONDS = 5.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_WRITERS_GUARD = threading.Lock()
_FIRST = threading.local()


class WriterTurns:
    """One writer at a time, in this process; a thread inside `writes_first()` goes ahead of
    every other waiting writer (it still waits for the one writing now).

    A release wakes one waiter, not all of them: with a worker's lane threads all waiting to
    write, waking every one of them at each commit (to find the lock taken again and sleep)
    cost more of the interpreter's time than the writes themselves. So a waiter that gives up
    (its timeout) while the lock is free passes the wake on."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._first_turn = threading.Condition(self._guard)
        self._turn = threading.Condition(self._guard)
        self._held = False
        self._first_waiting = 0

    def acquire(self, timeout: float) -> bool:
        first = getattr(_FIRST, "on", False)
        deadline = time.monotonic() + timeout
        with self._guard:
            if first:
                self._first_waiting += 1
            try:
                while self._held or (not first and self._first_waiting):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    (self._first_turn if first else self._turn).wait(remaining)
                self._held = True
                return True
            finally:
                if first:
                    self._first_waiting -= 1
                self._wake_next()  # nothing while this thread holds it; else the next waiter

    def release(self) -> None:
        with self._guard:
            self._held = False
            self._wake_next()

    def _wake_next(self) -> None:
        """Wake one waiter who may take the lock now (the guard is held)."""
        if self._held:
            return
        if self._first_waiting:
            self._first_turn.notify()
        else:
            self._turn.notify()


_WRITERS: dict[str, WriterTurns] = {}
# In a PostgreSQL connection's info: its commits are not synced unless asked (`sync_at_commit`).
_UNSYNCED = "needtotalk_unsynced_commits"


def _writer_turns(path: str) -> WriterTurns:
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(str(Path(path).resolve()), WriterTurns())


@contextmanager
def writes_first() -> Iterator[None]:
    """This thread's SQLite writes go ahead of other waiting writers in this process: the
    record that a message was delivered (until it is written, a process killed now would send
    the message again after a restart), not queued behind turns."""
    before = getattr(_FIRST, "on", False)
    _FIRST.on = True
    try:
        yield
    finally:
        _FIRST.on = before


class _TakingTurnsCursor(sqlite3.Cursor):
    """A cursor whose first write in a transaction waits for the process's writer lock."""

    def execute(self, sql: str, parameters: Any = (), /) -> _TakingTurnsCursor:
        connection = self.connection
        assert isinstance(connection, TakingTurnsConnection)
        connection.before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            connection.after()

    def executemany(self, sql: str, parameters: Any, /) -> _TakingTurnsCursor:
        connection = self.connection
        assert isinstance(connection, TakingTurnsConnection)
        connection.before(sql)
        try:
            return super().executemany(sql, parameters)
        finally:
            connection.after()


class TakingTurnsConnection(sqlite3.Connection):
    """SQLite allows one writer at a time; a thread that finds the database locked is put to
    sleep by SQLite's busy handler in growing steps (up to 100 ms), however soon the lock is
    free. With a turn's worker threads and the outbox all writing, those sleeps were most of
    an update's time. So writers in this process queue on a lock of their own, taken at a
    transaction's first write and given back at its commit or rollback: the next one starts at
    once. Readers never wait (WAL). Another process still meets SQLite's own lock, and a
    writer that waits longer than the busy timeout goes on to it (it never waits forever)."""

    writer: WriterTurns | None = None
    holding = False
    # Whether this connection's commits are synced by default (see `sync_at_commit`), and
    # whether the transaction now open was asked to be.
    synced_by_default = True
    synced_now = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _TakingTurnsCursor)

    def before(self, sql: str) -> None:
        if self.holding or self.writer is None:
            return
        if sql.lstrip()[:7].upper().startswith(_WRITES):
            self.holding = self.writer.acquire(BUSY_TIMEOUT_SECONDS)

    def after(self) -> None:
        """Give the lock back once no transaction is open (a failed or autocommit write)."""
        if self.holding and not self.in_transaction:
            self._release()

    def _release(self) -> None:
        if self.holding and self.writer is not None:
            self.holding = False
            self.writer.release()

    def sync_next_commit(self) -> None:
        """Sync this transaction's commit to disk (and with it every commit before it: the WAL
        is one sequential log). SQLite takes the level only outside a transaction, so this must
        come before the transaction's first write; later is a bug, refused."""
        if self.synced_by_default or self.synced_now:
            return
        if self.in_transaction:
            raise RuntimeError("sync_at_commit must come before the transaction's first write")
        sqlite3.Connection.execute(self, "PRAGMA synchronous=FULL")
        self.synced_now = True

    def _unsync(self) -> None:
        if self.synced_now and not self.in_transaction:
            self.synced_now = False
            sqlite3.Connection.execute(self, "PRAGMA synchronous=NORMAL")

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()
            self._unsync()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()
            self._unsync()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


SqliteSynchronous = Literal["FULL", "NORMAL"]


def _sqlite_pragmas(dbapi_connection: Any, synchronous: SqliteSynchronous) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL (the default, Settings.sqlite_synchronous): every commit is fsynced to the WAL before
    # it returns, so what was acknowledged as stored (the inbox's promise) survives a power loss
    # or an OS crash. NORMAL skips that fsync (it syncs at checkpoints): still safe against a
    # crash of this process, but the last commits may be lost when the machine goes down.
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    # Deleted content is overwritten with zeros, not left in free pages (/forget, docs/privacy.md).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def sync_at_commit(session: Any) -> None:
    """Make the commit of `session`'s transaction durable on disk before it returns, on an
    engine whose commits are not all synced (`make_engine(..., sync_every_commit=False)`).

    Call it first thing in the transaction. Where it matters: a commit after which the process
    tells the outside world something it must not take back (an update acknowledged to
    Telegram; a reply about to be sent). A synced commit also makes every earlier commit
    durable (SQLite's WAL and PostgreSQL's WAL are each one sequential log), so the turns whose
    replies a claim takes are on disk before any of them is sent. On an engine that syncs
    every commit (the default) it does nothing."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        if not connection.info.get(_UNSYNCED, False):
            return
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO on")
        return
    raw = connection.connection.dbapi_connection
    if isinstance(raw, TakingTurnsConnection):
        raw.sync_next_commit()


def make_engine(
    database_url: str,
    *,
    sync_every_commit: bool = True,
    sqlite_synchronous: SqliteSynchronous = "FULL",
) -> Engine:
    """The engine for `database_url`.

    `sync_every_commit=False` (the Telegram worker, `needtotalk run`): a commit waits for the
    operating system, not for the disk (SQLite WAL `synchronous=NORMAL`, PostgreSQL
    `synchronous_commit=off`), except the commits made with `sync_at_commit`. On this machine
    a synced commit costs ~7 ms and a worker made five per update, one after another: that was
    its cap. A killed process loses nothing either way (the data is in the operating system's
    hands); a power cut or kernel crash can take back the commits since the last synced one,
    which are never ones the outside world was told of: the worker syncs before it
    acknowledges an update and before it sends a reply (README, "What waits for the disk").

    `sqlite_synchronous` (Settings.sqlite_synchronous, FULL by default): NORMAL does on SQLite
    for every process what `sync_every_commit=False` does for the worker, so the commits made
    with `sync_at_commit` are still synced (docs/learning.md gives what NORMAL saves)."""
    if sqlite_synchronous not in ("FULL", "NORMAL"):
        raise ValueError("sqlite_synchronous must be FULL or NORMAL")
    url = normalise_url(database_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        connect_args: dict[str, Any] = {"check_same_thread": False}
        on_disk = bool(path) and path != ":memory:" and not url.startswith("sqlite:///file:")
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            connect_args["factory"] = TakingTurnsConnection
        engine = create_engine(url, connect_args=connect_args, hide_parameters=True)
        # One level for the commits nobody asked to sync: NORMAL when this process syncs only
        # what it promises (`sync_at_commit` raises it to FULL for those), else the setting's.
        synchronous: SqliteSynchronous = sqlite_synchronous if sync_every_commit else "NORMAL"
        event.listen(
            engine, "connect", lambda connection, _: _sqlite_pragmas(connection, synchronous)
        )
        if on_disk:
            writer = _writer_turns(path)

            def share_writer(dbapi_connection: Any, _record: Any) -> None:
                if isinstance(dbapi_connection, TakingTurnsConnection):
                    dbapi_connection.writer = writer
                    dbapi_connection.synced_by_default = synchronous == "FULL"

            event.listen(engine, "connect", share_writer)
        return engine
    # hide_parameters: error messages must never carry card text or sealed values
    # A worker holds a connection per lane it handles (the lane's advisory lock) beside the
    # turn's own, so the pool is larger than SQLAlchemy's default of 5 + 10; and it keeps as
    # many as a busy worker uses at once (8 lanes with their turns, the stores and claims):
    # with 10 kept, each burst opened and closed connections, about one per eight updates,
    # each a server process started and logged in.
    engine = create_engine(url, hide_parameters=True, pool_size=POOL_SIZE, max_overflow=20)
    ping_when_idle(engine)
    if not sync_every_commit:

        def unsynced(dbapi_connection: Any, record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            dbapi_connection.commit()
            record.info[_UNSYNCED] = True

        event.listen(engine, "connect", unsynced)
    return engine


# PostgreSQL connections a process keeps open (two workers keep up to 40 of the server's
# default 100).
POOL_SIZE = 20
# A pooled connection unused this long is pinged before it is handed out (`ping_when_idle`).
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "needtotalk_idle_since"


def ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before it is handed out only when it sat unused for
    PING_AFTER_IDLE_SECONDS, and start afresh (SQLAlchemy's DisconnectionError: the pool tries
    another) when the ping fails.

    Why not `pool_pre_ping`: it pings at every checkout, and a worker checks out several
    connections per update (the inbox store, the lane, the turn, the outbox claim and its
    records): a round trip each, under load ~4 of an update's ~20. A connection handed back a
    moment ago was alive then; one that breaks within those seconds (the server restarted)
    fails the statement that uses it, and SQLAlchemy then renews the whole pool, as it does
    for a connection lost mid-transaction, which every caller already survives (a turn is
    tried again, an unstored update is not acknowledged, a claim or sweep runs again)."""

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer") from exc

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def erase_deleted(bind: Any) -> None:
    """After /forget: on SQLite, checkpoint the WAL so the pages that held deleted rows (zeroed
    by secure_delete) replace the old ones and the log is truncated. Best effort: a reader
    holding an old snapshot can keep part of the log until it finishes. PostgreSQL keeps dead
    rows until VACUUM reuses their space (docs/privacy.md)."""
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception as exc:  # never fail a /forget that has committed
        log.warning("WAL checkpoint after /forget failed: %s", type(exc).__name__)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head", *, secret: str | None = None) -> None:
    """Migrate under a lock: workers starting at once on PostgreSQL take turns (an advisory
    transaction lock keyed by the schema), so only the first one migrates and the others find
    the schema current. `secret`: the sealing secret, for data migrations that re-seal values
    (0009); without it such a migration reads the environment's Settings."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(
                    "SELECT pg_advisory_xact_lock("
                    "hashtextextended(current_schema() || :purpose, 0))"
                ),
                {"purpose": "/migrate"},
            )
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        if secret:
            config.attributes["secret"] = secret
        command.upgrade(config, revision)
    log.info("database schema at %s", revision)
