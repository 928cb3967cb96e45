"""What a copy of the database says, read as an attacker would (docs/privacy.md).

A realistic database is built through the conversation core (several people, cards, a reply,
reactions, a report, a crisis flag, a held card, an outbox with alerts, a copy delivered into a
reader's chat), then every table is dumped (with PostgreSQL's `xmin`), and the dump is searched
for anything that ties a card to a person, to a flag, or to another card by the same author,
or that dates a card finer than the day. Then one author uses /forget, and the dump is searched
again, with the server key this time, for anything of theirs.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql
from sqlmodel import Session, SQLModel, select

from bot.config import Settings
from bot.domain import Outbound
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.services import Services, build_services
from bot.store import keys as person_keys
from bot.store.addresses import address_purpose
from bot.store.sealing import PREFIX, SealError
from bot.store.tables import Card, CardDelivery, Person
from tests.conftest import make_settings
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, stored_person

REFS = {"ana": "7770001", "ben": "7770002", "cai": "7770003", "dee": "7770004", "eve": "7770005"}
ANA_1 = "Walking every morning slowly helped me feel like myself again after a hard winter."
ANA_2 = "Cooking one simple meal for myself each evening gave my days a shape I could hold."
BEN_1 = "Writing three small things I did well each night slowly quietened my inner critic."
EVE_1 = "You are all pathetic losers and I hate every single one of you idiots."
REPLY = "Thank you for writing this, I started walking too and it really helps me."
CRISIS = "honestly I don't want to be alive anymore"

# Columns every card (or delivery) may share with many others: categories, counts, the day.
SHARED_CARD_COLUMNS = {
    "language", "content_class", "card_type", "author_mood_level", "polarity_pos",
    "polarity_neg", "status", "reply_to_card_id", "created_day", "restricted",
    "approved_for_vulnerable", "reviewed_at", "helped_count", "report_count",
}  # fmt: skip
SEALED_COLUMNS = {
    ("card", "author_link"), ("delivery_address", "sealed_ref"), ("flag", "sealed_text"),
    ("case_event", "sealed_text"), ("checkin", "sealed"), ("card_delivery", "sealed_copy"),
    ("outbox", "sealed_address"), ("person_secret", "wrapped_key"),
    ("person_secret", "sealed_index"), ("action_log", "sealed"),
}  # fmt: skip


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, COUNSELLOR_CHAT_ID=-100555)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings, channel="telegram")
    yield built
    built.close()


def ready(services: Services, name: str) -> Someone:
    person = Someone(services, REFS[name])
    person.consents()
    row = stored_person(services, REFS[name])
    with Session(services.engine) as session:
        row.user_class, row.mood_level, row.state, row.state_data = "normal", 1, "idle", {}
        session.add(row)
        session.commit()
    return person


def share(person: Someone, text: str) -> None:
    person.command("/share")
    person.says(text)
    person.presses("c:publish")


def button_for(replies: list[Outbound], card_text: str, action: str) -> str:
    """The `action` button under the delivered card with this text."""
    for message in replies:
        if message.text == card_text:
            return next(b.data for row in message.buttons for b in row if f":{action}:" in b.data)
    raise AssertionError(f"{card_text[:20]}... was not delivered")


def build_world(services: Services) -> dict[str, Someone]:
    people = {name: ready(services, name) for name in REFS}
    share(people["ana"], ANA_1)
    share(people["ana"], ANA_2)
    share(people["ben"], BEN_1)
    share(people["eve"], EVE_1)  # held as toxic: a flag about the card
    read = people["cai"].command("/read")
    people["cai"].presses(button_for(read, ANA_1, "helped"))
    people["cai"].presses(button_for(read, ANA_1, "reply"))
    people["cai"].says(REPLY)
    people["cai"].presses("c:publish")
    token = button_for(read, ANA_1, "helped").rsplit(":", 1)[1]
    services.copies.copy_sent(token, "telegram", REFS["cai"], [4242])  # the channel's report
    read = people["dee"].command("/read")
    reports = [d for d in button_data(read) if d.startswith("c:report:")]
    assert reports, "dee was given a peer card"
    people["dee"].presses(reports[-1])
    people["ben"].command("/read")
    # eve starts a reply and leaves it: her row must not point at the card she is answering
    replies = [d for d in button_data(people["eve"].command("/read")) if d.startswith("c:reply:")]
    assert replies, "eve was given a peer card"
    people["eve"].presses(replies[0])
    people["dee"].says(CRISIS)  # a crisis flag on dee, an alert to the counsellors' chat
    people["ana"].says(CRISIS)  # and one on an author
    # one message delivered (its row must go), the rest waiting
    first = services.outbox.due("telegram")[0]
    services.outbox.delivered(first.id)
    return people


def dump(services: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as a pg_dump or a copied SQLite file would give it."""
    postgres = services.engine.dialect.name == "postgresql"
    out: dict[str, list[dict[str, Any]]] = {}
    with services.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            extra = "xmin::text AS xmin, " if postgres else ""
            rows = connection.execute(sql(f'SELECT {extra}* FROM "{table.name}"')).mappings()
            out[table.name] = [dict(row) for row in rows]
    return out


def strings(row: dict[str, Any]) -> Iterator[str]:
    for name, value in row.items():
        if name == "xmin" or value is None:
            continue
        if isinstance(value, (dict, list)):
            yield json.dumps(value)
        elif isinstance(value, bytes):
            yield value.hex()
        else:
            yield str(value)


def person_linked(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Every row that names a person: the person rows and any row with a person_id."""
    linked = [("person", row) for row in tables["person"]]
    for name, rows in tables.items():
        linked += [(name, row) for row in rows if row.get("person_id") is not None]
    return linked


def authors_of(services: Services) -> dict[int, str]:
    """Test-side truth (from the texts we wrote): card id -> author name."""
    truth = {ANA_1: "ana", ANA_2: "ana", BEN_1: "ben", EVE_1: "eve", REPLY: "cai"}
    with Session(services.engine) as session:
        cards = session.exec(select(Card)).all()
    found = {card.id or 0: truth[card.text] for card in cards if card.text in truth}
    assert len(found) == 5, "every card of the scenario was stored"
    return found


def test_a_dump_ties_no_card_to_a_person_a_flag_or_its_author_s_other_cards(
    services: Services,
) -> None:
    build_world(services)
    authors = authors_of(services)
    tables = dump(services)
    cards, deliveries = tables["card"], tables["card_delivery"]
    linked = person_linked(tables)

    # 1. nothing of a card (its text, references, seals) or of a delivery in a person's row
    card_values = {v for row in (*cards, *deliveries) for v in strings(row) if len(v) >= 16} | {
        row["text"] for row in cards
    }
    for name, row in linked:
        blob = " ".join(strings(row))
        assert not [v for v in card_values if v in blob], (name, row.get("id"))
        assert row.get("card_id") is None, (name, row.get("id"))  # flag, case: one or other

    # 2. a flag or case names a person or a card, never both
    for name in ("flag", "counsellor_case"):
        for row in tables[name]:
            assert row["person_id"] is None or row["card_id"] is None, name
    assert {f["kind"] for f in tables["flag"]} >= {"crisis", "report", "toxic_card"}

    # 3. two cards of one author share only what many cards share
    assert len(cards) == 5
    for one, two in itertools.combinations(cards, 2):
        same = {c for c in one if c not in ("xmin",) and one[c] == two[c]}
        assert same <= SHARED_CARD_COLUMNS, same
    ana = [row for row in cards if authors[row["id"]] == "ana"]
    assert len(ana) == 2 and ana[0]["author_ref"] != ana[1]["author_ref"]

    # 4. deliveries: nothing groups one reader's rows or says whose they are
    assert len({d["reader_tag"] for d in deliveries}) == len(deliveries) >= 5
    for one, two in itertools.combinations(deliveries, 2):
        same = {c for c in one if one[c] == two[c]}
        assert same <= {
            "kind",
            "shown_day",
            "helped",
            "reported",
            "replied",
            "card_id",
            "sealed_copy",
        }
        assert one["sealed_copy"] is None or one["sealed_copy"] != two["sealed_copy"]

    # 5. the outbox keeps only what waits, sealed, naming no card
    outbox = tables["outbox"]
    assert outbox and all(row["status"] == "pending" for row in outbox)
    assert any(row["case_id"] is not None for row in outbox)  # the counsellors' alert
    for row in outbox:
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
        assert set(payload) == {"sealed"} and payload["sealed"].startswith(PREFIX)
        assert row["card_tag"] is None or row["card_tag"] not in card_values

    # 6. no sealed value carries a time (Fernet's did), nothing about a card is dated finer
    #    than the day
    for table, column in SEALED_COLUMNS:
        for row in tables[table]:
            if row[column] is not None:
                assert row[column].startswith(PREFIX), (table, column)
    for name, rows in tables.items():
        for row in rows:
            assert not any(v.startswith("gAAAAA") for v in strings(row)), name
    for row in cards:
        assert isinstance(row["created_day"], (date, str)) and row["reviewed_at"] is None
    assert not [c for c in tables["card_delivery"][0] if "_at" in c]
    dated = [r for r in tables["flag"] if r["card_id"] is not None]
    dated += [r for r in tables["counsellor_case"] if r["card_id"] is not None]
    case_ids = {r["id"] for r in tables["counsellor_case"] if r["card_id"] is not None}
    dated += [r for r in tables["case_event"] if r["case_id"] in case_ids and r["kind"] == "flag"]
    assert dated
    for row in dated:
        at = row["created_at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        assert at.time() == time(0), row

    # 7. PostgreSQL: no card or delivery shares a transaction with a person's row, and no
    #    message for someone shares one with anyone's row
    if services.engine.dialect.name == "postgresql":
        person_xmins = {row["xmin"] for _name, row in linked}
        card_xmins = {row["xmin"] for row in cards}
        assert not card_xmins & person_xmins
        assert not {row["xmin"] for row in deliveries} & person_xmins
        assert len({row["xmin"] for row in ana}) == 2
        other = {row["xmin"] for name, row in linked if name != "outbox"}
        assert not {row["xmin"] for row in outbox if row["person_id"]} & other


def test_a_dump_neither_groups_nor_times_anyone_s_cards_replies_or_reports(
    services: Services,
) -> None:
    """The limits (policies/limits.yaml) keep no row per action and no time: one sealed log per
    person who sent something, all of one length, written in that person's own transaction."""
    build_world(services)
    tables = dump(services)
    logs = tables["action_log"]
    assert {r["person_id"] for r in logs} == {
        stored_person(services, REFS[name]).id for name in ("ana", "ben", "cai", "dee", "eve")
    }
    assert len(logs) == 5 and {tuple(sorted(r)) for r in logs} <= {
        ("id", "person_id", "sealed"),
        ("id", "person_id", "sealed", "xmin"),
    }
    assert len({len(r["sealed"]) for r in logs}) == 1
    assert "action_event" not in tables
    for name, rows in tables.items():
        for column in rows[0] if rows else ():
            assert "actor" not in column, (name, column)

    if services.engine.dialect.name == "postgresql":  # never beside a card or a reaction
        anonymous = {r["xmin"] for r in (*tables["card"], *tables["card_delivery"])}
        assert not {r["xmin"] for r in logs} & anonymous


def test_forget_leaves_nothing_readable_even_with_the_server_key(
    services: Services, settings: Settings
) -> None:
    people = build_world(services)
    ana = stored_person(services, REFS["ana"])
    assert ana.id is not None
    with Session(services.engine) as session:
        secret = person_keys._row(session, ana.id)
        assert secret is not None
        before = dump(services)
    sealed_before = [
        (name, row)
        for name, row in person_linked(before)
        if row.get("person_id") == ana.id and name != "person_secret"
    ]
    assert {name for name, _ in sealed_before} >= {"delivery_address", "flag", "counsellor_case"}

    people["ana"].command("/forget")
    people["ana"].presses("forget:yes")
    after = dump(services)

    # no row names her, her key is gone, none of her words or ids is anywhere
    for name, rows in after.items():
        for row in rows:
            assert row.get("person_id") != ana.id, name
            blob = " ".join(strings(row))
            for secret_text in (ANA_1, ANA_2, REPLY, CRISIS, REFS["ana"], ana.key):
                assert secret_text not in blob, (name, secret_text[:12])
    assert not [r for r in after["person_secret"] if r["person_id"] == ana.id]

    # what was sealed for her does not open any more, even with the server key
    for _name, row in sealed_before:
        for value in strings(row):
            if not value.startswith(PREFIX):
                continue
            with Session(services.engine) as session:
                assert (
                    person_keys.person_key(
                        session=session, sealer=services.sealer, person_id=ana.id
                    )
                    is None
                )
            for purpose in (address_purpose(ana.id), f"flag.sealed_text:{row['id']}", "x"):
                with pytest.raises(SealError):
                    services.sealer.unseal(value, purpose=purpose)
    with pytest.raises(SealError):
        services.sealer.unwrap_person_key(secret.wrapped_key, ana.id + 1)

    # her case stays for the counsellors' record, without her, without words; its alert went
    cases = [c for c in after["counsellor_case"] if c["source"] == "crisis"]
    assert all(c["person_id"] != ana.id for c in cases)
    alerts_before = {r["case_id"] for r in before["outbox"] if r["case_id"] is not None}
    alerts_after = {r["case_id"] for r in after["outbox"] if r["case_id"] is not None}
    assert len(alerts_after) == len(alerts_before) - 1
    assert all(e["sealed_text"] is None for e in after["case_event"])

    # the copy of her card in cai's chat is queued for deletion (sent within 47 hours)
    due = services.outbox.due("telegram")
    assert [(i.recipient_ref, i.delete_message_ids) for i in due if i.delete_message_ids] == [
        (REFS["cai"], (4242,))
    ]
    with Session(services.engine) as session:
        kept = {c.id for c in session.exec(select(Card))}
        assert {d.card_id for d in session.exec(select(CardDelivery))} <= kept
        texts = {c.text for c in session.exec(select(Card))}
        assert texts == {BEN_1, EVE_1}
        assert session.exec(select(Person).where(Person.key == ana.key)).first() is None

    # SQLite: the deleted words are not in the database file nor in its WAL (secure_delete,
    # and a checkpoint after /forget)
    if services.engine.dialect.name == "sqlite":
        path = Path(str(services.engine.url.database))
        files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
        for raw in (p.read_bytes() for p in files):
            for words in (ANA_1, ANA_2, REPLY):
                assert words.encode() not in raw

    # the kb store holds our own kb cards only, never a person's words
    documents = KnowledgeBase(settings).all_cards()
    assert not [c for c in documents if ANA_1[:30] in c.text or REPLY[:30] in c.text]

    # a returning person is a new person: a new row, a new key, nothing of before
    people["ana"].command("/start")
    back = stored_person(services, REFS["ana"])
    assert back.id != ana.id
    with Session(services.engine) as session:
        fresh = person_keys._row(session, back.id or 0)
        assert fresh is not None and fresh.wrapped_key != secret.wrapped_key
        assert (
            person_keys.own_refs(session=session, sealer=services.sealer, person_id=back.id or 0)
            == []
        )


def test_sealed_values_are_random_bytes_of_the_value_s_length() -> None:
    """A sealed value is the version, a random nonce, the ciphertext and a tag: nothing in it
    is a clock (Fernet's second byte onwards was the creation time)."""
    from bot.store.sealing import Sealer

    sealer = Sealer("test-secret-key-0123456789abcdef")
    raw = base64.urlsafe_b64decode(sealer.seal("12345", purpose="x")[len(PREFIX) :])
    assert len(raw) == 12 + 5 + 16
