"""Pooled PostgreSQL connections are pinged only after sitting idle (bot.store.engine.
ping_when_idle): a busy worker sends no ping per checkout, an idle connection the server ended
is replaced before anyone uses it, and one ended within the idle window fails its one statement,
after which the pool starts afresh (as for a connection lost mid-transaction)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot.store import engine as engine_module
from bot.store.engine import make_engine
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite opens a file: there is no server to lose")
    built = make_engine(database_url)
    yield built
    built.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _end_server_side(pid: int) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def test_a_busy_worker_sends_no_ping(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or ping(c))
    first = _backend(engine)
    for _ in range(5):
        assert _backend(engine) == first  # the same connection, handed back a moment ago
    assert pings == []


def test_an_idle_connection_the_server_ended_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(engine)
    _end_server_side(first)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # it sat idle long
    assert _backend(engine) != first  # pinged, found dead, replaced: nothing failed


def test_one_ended_within_the_idle_window_fails_once_then_the_pool_starts_afresh(
    engine: Engine,
) -> None:
    with engine.connect() as one, engine.connect() as two:  # two pooled connections
        pids = [int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in (one, two)]
    for pid in pids:  # the server restarted, say
        _end_server_side(pid)
    with pytest.raises(OperationalError), engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    # The failure renewed the pool: the other dead connection is not handed out either.
    assert _backend(engine) not in pids
    assert _backend(engine) not in pids
