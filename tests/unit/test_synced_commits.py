"""Which commits wait for the disk, on an engine that does not sync every commit (the Telegram
worker's): the inbox's store (an update is acknowledged after it) and the outbox's claim (its
rows are sent after it) are synced; a turn's own commit is not. Read from the database itself,
in each transaction right before its commit, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.domain import Outbound
from bot.store.engine import make_engine, sync_at_commit, upgrade
from bot.store.inbox import InboxStore, NewUpdate
from bot.store.outbox import OutboxStore, enqueue
from bot.store.people import get_or_create_person
from bot.store.sealing import Sealer

SEALER = Sealer("synced-commits-test-secret-0123456789")


def _level(connection: Any) -> str:
    if connection.dialect.name == "postgresql":
        return str(connection.exec_driver_sql("SHOW synchronous_commit").scalar())
    # SQLite: 1 is NORMAL (the WAL is synced at checkpoints only), 2 is FULL (at every commit)
    return {1: "off", 2: "on"}[int(connection.exec_driver_sql("PRAGMA synchronous").scalar())]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(make_engine(database_url))
    engine = make_engine(database_url, sync_every_commit=False)
    yield engine
    engine.dispose()


@pytest.fixture
def levels(engine: Engine) -> list[str]:
    """The sync level of every commit on `engine`, in order."""
    seen: list[str] = []

    def before_commit(connection: Any) -> None:
        seen.append(_level(connection))

    event.listen(engine, "commit", before_commit)
    return seen


def test_an_acknowledged_update_and_a_claimed_reply_are_on_disk_a_turn_is_not(
    engine: Engine, levels: list[str]
) -> None:
    inbox = InboxStore(engine, SEALER)
    inbox.store("telegram", [NewUpdate(1, "lane-a", '{"update_id": 1}')])
    assert levels == ["on"]

    with Session(engine) as session:  # a turn: the person's row and their reply
        person, _ = get_or_create_person(
            session=session, sealer=SEALER, channel="telegram", user_ref="4242", language="en"
        )
        assert person.id is not None
        enqueue(
            session=session,
            sealer=SEALER,
            person_id=person.id,
            channel="telegram",
            message=Outbound(text="hello"),
        )
        session.commit()
    assert levels[-1] == "off"

    claimed = OutboxStore(engine, SEALER).due("telegram")
    assert [item.message.text for item in claimed] == ["hello"]
    assert levels[-1] == "on"

    with Session(engine) as session:  # the level goes back to unsynced after a synced commit
        get_or_create_person(
            session=session, sealer=SEALER, channel="telegram", user_ref="4343", language="en"
        )
        session.commit()
    assert levels[-1] == "off"


def _a_turn_then_a_stored_update(engine: Engine) -> list[str]:
    """The sync levels of two commits on `engine`: a turn's (a new person), then the inbox's."""
    seen: list[str] = []
    event.listen(engine, "commit", lambda connection: seen.append(_level(connection)))
    with Session(engine) as session:
        get_or_create_person(
            session=session, sealer=SEALER, channel="telegram", user_ref="4242", language="en"
        )
        session.commit()
    InboxStore(engine, SEALER).store("telegram", [NewUpdate(1, "lane-a", '{"update_id": 1}')])
    engine.dispose()
    return seen


def test_a_default_engine_syncs_every_commit(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert _a_turn_then_a_stored_update(engine) == ["on", "on"]


def test_asking_for_a_synced_commit_after_the_first_write_is_refused(
    engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL takes the level at any point of the transaction")
    with Session(engine) as session:
        get_or_create_person(
            session=session, sealer=SEALER, channel="telegram", user_ref="4242", language="en"
        )
        with pytest.raises(RuntimeError, match="before the transaction's first write"):
            sync_at_commit(session)


def test_sqlite_normal_still_syncs_what_is_promised(database_url: str) -> None:
    """SQLITE_SYNCHRONOUS=NORMAL, in any process: a turn's commit skips the fsync, an update
    stored before Telegram is told does not."""
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite setting")
    upgrade(make_engine(database_url))
    engine = make_engine(database_url, sqlite_synchronous="NORMAL")
    assert _a_turn_then_a_stored_update(engine) == ["off", "on"]
