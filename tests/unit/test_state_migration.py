"""Migration 0012 on a database written before it: every stored state, and the states kept
inside state data (the crisis pause's, /forget's question's, nested), takes its flow's name, and
back again on downgrade; a person caught mid-flow carries on where they were (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.config import Settings
from bot.services import build_services
from bot.store.engine import alembic_config, make_engine, upgrade
from bot.store.sealing import Sealer
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import stored_person

# Migrations from an older revision or from no tables: the database starts empty.
pytestmark = pytest.mark.empty_database

# A crisis paused /forget's question, which had interrupted a card being written.
PAUSED_FORGET = {
    "paused": "confirming_forget",
    "paused_data": {"previous": "composing", "previous_data": {}},
    "heard": 1,
}
OLD = {
    "7001": ("new", {"paused": True}),  # the frame's "not now": a flag, not a state
    "7002": ("idle", {"kb_seen": ["kb-1"]}),
    "7003": ("awaiting_consent", {}),
    "7004": ("assessing", {"assessment": {"language": "en"}}),
    "7005": ("composing", {}),
    "7006": ("confirming_card", {"draft": "reply", "delivery": "sealed", "text": "hi"}),
    "7007": ("replying", {"delivery": "sealed"}),
    "7008": ("answering_counsellor", {"case_id": 3}),
    "7009": ("after_crisis", PAUSED_FORGET),
    "7010": ("confirming_forget", {"previous": "after_crisis", "previous_data": {}}),
}
NEW = {
    "7001": ("new", {"paused": True}),
    "7002": ("idle", {"kb_seen": ["kb-1"]}),
    "7003": ("frame.awaiting_consent", {}),
    "7004": ("assessment.asking", {"assessment": {"language": "en"}}),
    "7005": ("cards.composing", {}),
    "7006": ("cards.confirming", {"draft": "reply", "delivery": "sealed", "text": "hi"}),
    "7007": ("cards.replying", {"delivery": "sealed"}),
    "7008": ("counsellor.answering", {"case_id": 3}),
    "7009": (
        "after_crisis",
        {
            "paused": "frame.confirming_forget",
            "paused_data": {"previous": "cards.composing", "previous_data": {}},
            "heard": 1,
        },
    ),
    "7010": ("frame.confirming_forget", {"previous": "after_crisis", "previous_data": {}}),
}


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = make_engine(settings.database_url)
    yield built
    built.dispose()


def _sealer(settings: Settings) -> Sealer:
    return Sealer(settings.secret_key.get_secret_value())


def _write_old_people(engine: Engine, sealer: Sealer) -> None:
    now = datetime.now(UTC)
    with engine.begin() as db:
        for ref, (state, data) in OLD.items():
            db.execute(
                sql(
                    "INSERT INTO person (key, language, created_at, consented_at, state,"
                    " state_data, polarity_pos, polarity_neg)"
                    " VALUES (:key, 'en', :now, :now, :state, :data, 0.5, 0.5)"
                ),
                dict(
                    key=sealer.person_key("telegram", ref), now=now, state=state,
                    data=json.dumps(data),
                ),
            )  # fmt: skip
        # A row that references a person: dropping columns must not cascade to it (SQLite's
        # batch mode would rebuild the person table, and the DROP would delete it).
        db.execute(
            sql(
                "INSERT INTO flag (person_id, case_ref, kind, severity, categories, language,"
                " status, created_at) SELECT id, 'case-1', 'crisis', 'high', '[]', 'en', 'open',"
                " :now FROM person WHERE state = 'after_crisis'"
            ),
            dict(now=now),
        )


def _stored(engine: Engine, sealer: Sealer) -> dict[str, tuple[str, object]]:
    keys = {sealer.person_key("telegram", ref): ref for ref in OLD}
    with engine.connect() as db:
        rows = db.execute(sql("SELECT key, state, state_data FROM person")).all()
    return {
        keys[key]: (state, json.loads(data) if isinstance(data, str) else data)
        for key, state, data in rows
    }


def test_0012_renames_stored_states_both_ways(settings: Settings, engine: Engine) -> None:
    sealer = _sealer(settings)
    upgrade(engine, "0011")
    _write_old_people(engine, sealer)
    upgrade(engine)
    assert _stored(engine, sealer) == NEW
    with engine.connect() as db:
        assert db.execute(sql("SELECT count(*) FROM flag")).scalar_one() == 1
    person_columns = {c["name"] for c in inspect(engine).get_columns("person")}
    assert not {"polarity_pos", "polarity_neg"} & person_columns
    with engine.connect() as connection:  # the person table is what the model says
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diff if "'person'" in repr(d)] == []

    with engine.begin() as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    assert _stored(engine, sealer) == OLD
    person_columns = {c["name"] for c in inspect(engine).get_columns("person")}
    assert {"polarity_pos", "polarity_neg"} <= person_columns


def test_a_person_caught_mid_flow_carries_on_after_0012(settings: Settings, engine: Engine) -> None:
    upgrade(engine, "0011")
    _write_old_people(engine, _sealer(settings))
    services = build_services(settings, channel="telegram")  # migrates to the head
    try:
        # Paused by a crisis while asked "delete everything?", itself asked while writing a
        # card: "no" resumes the question, then puts the card back in front of them.
        Someone(services, "7009").presses("forget:no")
        assert stored_person(services, "7009").state == "cards.composing"
        # Writing a card when the version changed: the next text is the card.
        Someone(services, "7005").says("A walk by the river helped me today, slowly.")
        assert stored_person(services, "7005").state == "cards.confirming"
    finally:
        services.close()
