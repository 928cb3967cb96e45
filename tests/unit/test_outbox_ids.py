"""Outbox ids are never given twice (migration 0014), on SQLite and PostgreSQL alike.

A delivered row is deleted at once; a worker that records a delivery late, by id, must not
reach a newer message. Without AUTOINCREMENT SQLite gave the next message the id of the row
just deleted when the outbox ran empty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.config import Settings
from bot.store.engine import alembic_config, make_engine, upgrade


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = make_engine(settings.database_url)
    yield built
    built.dispose()


def _add(engine: Engine, channel: str) -> int:
    now = datetime.now(UTC)
    with engine.begin() as db:
        db.execute(
            sql(
                "INSERT INTO outbox (channel, payload, status, attempts, next_attempt_at,"
                " created_at) VALUES (:channel, '{}', 'pending', 0, :now, :now)"
            ),
            dict(channel=channel, now=now),
        )
        return int(db.execute(sql("SELECT max(id) FROM outbox")).scalar_one())


def _delete(engine: Engine, item_id: int) -> None:
    with engine.begin() as db:
        db.execute(sql("DELETE FROM outbox WHERE id = :id"), dict(id=item_id))


@pytest.mark.empty_database
def test_a_deleted_rows_id_is_not_given_again_after_0014(engine: Engine) -> None:
    upgrade(engine, "0013")
    waiting = _add(engine, "kept")  # pending across the migration: keeps its id
    upgrade(engine)
    with engine.connect() as db:
        assert db.execute(sql("SELECT channel FROM outbox WHERE id = :id"), dict(id=waiting)).one()
    delivered = _add(engine, "telegram")
    _delete(engine, delivered)
    _delete(engine, waiting)  # the outbox runs empty
    assert _add(engine, "telegram") > delivered
    with engine.connect() as connection:  # the outbox table is what the model says
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diff if "'outbox'" in repr(d)] == []

    with engine.begin() as connection:  # and back: the table without the counter
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
    with engine.connect() as db:
        assert db.execute(sql("SELECT count(*) FROM outbox")).scalar_one() == 1
