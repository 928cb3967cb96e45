"""Migration 0009 on a database written before it: every Fernet value re-sealed with AES-GCM,
each person given a key and an index of their cards, deliveries re-tagged, delivered outbox
rows gone; and the bot reads all of it back (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.learning.store import events
from bot.store.addresses import delivery_ref
from bot.store.authorship import author_id
from bot.store.cards import DeliveryKind, delivery_for, own_cards, withdraw_copies
from bot.store.cases import open_case_text, open_flag_text
from bot.store.engine import upgrade
from bot.store.outbox import OutboxStore
from bot.store.sealing import PREFIX, Sealer
from bot.store.tables import Card, Case, CaseEvent, Flag, Person

# Migrations from an older revision or from no tables: the database starts empty.
pytestmark = pytest.mark.empty_database

SECRET = "migration-secret-0123456789abcdef"


def fernet_seal(value: str) -> str:
    """Exactly how values were sealed before 0009."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"needtotalk/encryption/v1"
    ).derive(SECRET.encode())
    return Fernet(base64.urlsafe_b64encode(raw)).encrypt(value.encode()).decode()


def write_old_world(engine: Engine, sealer: Sealer) -> dict[str, int]:
    now = datetime.now(UTC)
    ana_key = sealer.person_key("telegram", "900001")
    ben_key = sealer.person_key("telegram", "900002")
    with engine.begin() as db:

        def insert(table: str, **values: object) -> int:
            names = ", ".join(values)
            marks = ", ".join(f":{n}" for n in values)
            row = db.execute(
                sql(f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING id'), values
            ).one()
            return int(row[0])

        person = dict(language="en", created_at=now, state="idle", state_data="{}")
        ana = insert("person", key=ana_key, **person)
        ben = insert("person", key=ben_key, **person)
        for pid, ref in ((ana, "900001"), (ben, "900002")):
            insert(
                "delivery_address", person_id=pid, channel="telegram", sealed_ref=fernet_seal(ref)
            )
        card = dict(
            language="en", content_class="inspirational", card_type="peer_story",
            author_mood_level=1, polarity_pos=0.7, polarity_neg=0.1, status="published",
            created_day=date.today(), restricted=False, approved_for_vulnerable=False,
            helped_count=0, report_count=0,
        )  # fmt: skip
        card_ids = [
            insert(
                "card",
                text=text,
                author_seal=sealer.keyed_hash("author", ana_key),
                author_link=fernet_seal(str(ana)),
                **card,
            )
            for text in ("first old card", "second old card")
        ]
        delivery = dict(
            kind="card", shown_day=date.today(), helped=True, reported=False, replied=False
        )
        copy = json.dumps({"channel": "telegram", "chat": "900002", "messages": [77]})
        insert(
            "card_delivery", token="t" * 22, card_id=card_ids[0],
            reader_seal=sealer.keyed_hash("reader", ben_key), sealed_copy=fernet_seal(copy),
            copy_sent_at=now - timedelta(hours=1), **delivery,
        )  # fmt: skip
        insert(
            "card_delivery", token="o" * 22, card_id=card_ids[0],
            reader_seal=sealer.keyed_hash("reader", ana_key), **{**delivery, "kind": "own"},
        )  # fmt: skip
        case = insert(
            "counsellor_case", pseudonym="case-0badcafe", person_id=ben, source="crisis",
            severity="high", status="new", created_at=now, updated_at=now,
        )  # fmt: skip
        flag = insert(
            "flag", person_id=ben, case_ref="case-" + sealer.keyed_hash("case", ben_key)[:8],
            kind="crisis", severity="high", categories="[]", language="en",
            sealed_text=fernet_seal("i can't go on"), status="open", created_at=now,
            case_id=case,
        )  # fmt: skip
        insert(
            "case_event",
            case_id=case,
            kind="message_in",
            sealed_text=fernet_seal("thank you"),
            created_at=now,
        )
        insert(
            "checkin",
            person_id=ben,
            kind="answered",
            created_at=now,
            sealed=fernet_seal('{"feeling": 4}'),
        )
        outbox = dict(channel="telegram", attempts=0, next_attempt_at=now, created_at=now)
        insert(
            "outbox",
            person_id=ana,
            payload=json.dumps({"text": "someone said it helped"}),
            status="pending",
            card_id=card_ids[1],
            **outbox,
        )
        insert("outbox", person_id=ben, payload="{}", status="delivered", **outbox)
        insert(
            "outbox",
            sealed_address=fernet_seal("-100777"),
            payload=json.dumps({"text": "alert"}),
            status="pending",
            **outbox,
        )
    return {"ana": ana, "ben": ben, "flag": flag, "case": case, "card": card_ids[0]}


def test_0009_reseals_old_data_and_the_bot_reads_it(engine: Engine) -> None:
    sealer = Sealer(SECRET)
    upgrade(engine, "0007")
    ids = write_old_world(engine, sealer)
    upgrade(engine, secret=SECRET)

    with engine.connect() as db:  # no Fernet token (readable time) is left anywhere
        for table in SQLModel.metadata.sorted_tables:
            for row in db.execute(sql(f'SELECT * FROM "{table.name}"')):
                assert not any(str(v).startswith("gAAAAA") for v in row), table.name
        statuses = [r[0] for r in db.execute(sql("SELECT status FROM outbox"))]
        assert statuses == ["pending", "pending"]  # the delivered row is gone

    with Session(engine) as session:
        ana, ben = session.get(Person, ids["ana"]), session.get(Person, ids["ben"])
        assert ana is not None and ben is not None
        assert (
            delivery_ref(session=session, sealer=sealer, person_id=ids["ana"], channel="telegram")
            == "900001"
        )
        mine = own_cards(session=session, sealer=sealer, person=ana)
        assert sorted(c.text for c in mine) == ["first old card", "second old card"]
        assert len({c.author_ref for c in mine}) == 2
        assert all(author_id(sealer=sealer, card=c) == ids["ana"] for c in mine)
        assert all(c.author_link.startswith(PREFIX) for c in mine)
        assert own_cards(session=session, sealer=sealer, person=ben) == []
        # ben's old delivery still answers his button, and nobody else's
        found = delivery_for(session=session, sealer=sealer, token="t" * 22, person=ben)
        assert found is not None and found[0].helped and found[0].kind == DeliveryKind.CARD
        assert delivery_for(session=session, sealer=sealer, token="t" * 22, person=ana) is None
        assert delivery_for(session=session, sealer=sealer, token="o" * 22, person=ana) is None
        flag = session.get(Flag, ids["flag"])
        assert flag is not None and flag.case_ref == "case-0badcafe"
        assert open_flag_text(session=session, sealer=sealer, flag=flag) == "i can't go on"
        case = session.get(Case, ids["case"])
        event = session.exec(select(CaseEvent)).one()
        assert case is not None and event.sealed_text is not None
        assert (
            open_case_text(session=session, sealer=sealer, case=case, sealed=event.sealed_text)
            == "thank you"
        )
        assert [e.data for e in events(session, sealer, ids["ben"])] == [{"feeling": 4}]
        # the copy in ben's chat can still be deleted (its time moved inside the seal)
        card = session.get(Card, ids["card"])
        assert card is not None
        done = withdraw_copies(
            session=session, sealer=sealer, card=card, delete_window=timedelta(hours=47)
        )
        assert (done.removed, done.kept) == (1, 0)
        session.commit()

    due = OutboxStore(engine, sealer).due("telegram")
    assert {(i.recipient_ref, i.message.text) for i in due if not i.delete_message_ids} == {
        ("900001", "someone said it helped"),
        ("-100777", "alert"),
    }
    assert [(i.recipient_ref, i.delete_message_ids) for i in due if i.delete_message_ids] == [
        ("900002", (77,))
    ]


def test_the_tables_and_the_migrations_agree(engine: Engine) -> None:
    upgrade(engine, secret=SECRET)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    touched = {"card", "card_delivery", "outbox", "person_secret", "flag", "action_log"}
    mine = [d for d in diff if any(t in repr(d) for t in touched)]
    assert mine == []
