"""The conversation core against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from bot.config import Settings
from bot.domain import InboundKind
from bot.services import Services, build_services
from bot.store.cases import open_flag_text
from bot.store.tables import DeliveryAddress, Flag, Person
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person


def state_of(services: Services, ref: str) -> str:
    return stored_person(services, ref).state


def test_start_welcomes_with_promise_helplines_and_consent(services: Services) -> None:
    replies = Someone(services, "1001").command("/start")
    text = joined(replies)
    assert "not a therapist" in text
    assert "Nobody can see who you are" in text
    assert "findahelpline.com" in text
    assert button_data(replies) == ["consent:yes", "consent:no"]


def test_japanese_locale_gets_japanese_text_and_helplines(services: Services) -> None:
    replies = Someone(services, "1002", language="ja").command("/start")
    text = joined(replies)
    assert "ようこそ" in text
    assert "0120-279-338" in text


def test_consent_starts_the_pre_assessment(services: Services) -> None:
    person = Someone(services, "1003")
    replies = person.consents()
    assert any(data.startswith("a:") for data in button_data(replies))
    assert state_of(services, "1003") == "assessment.asking"


def test_the_assessment_ends_in_a_reflection_and_a_stored_result(services: Services) -> None:
    person = Someone(services, "1014")
    replies = person.consents()
    for _ in range(20):
        options = [d for d in button_data(replies) if d.startswith("a:") and d != "a:revisit"]
        if not options:
            break
        replies = person.presses(options[0])
    assert "menu:read" in button_data(replies)
    assert "a:revisit" in button_data(replies)
    assert "diagnos" not in joined(replies).lower()
    key = services.sealer.person_key("telegram", "1014")
    with Session(services.engine) as session:
        row = session.exec(select(Person).where(Person.key == key)).one()
    assert row.state == "idle"
    assert row.user_class in {"potential_healing", "normal", "vulnerable", "harmful"}
    assert row.mood_level in {0, 1, 2, 3}
    assert row.dominant_emotion is not None


def test_commands_wait_for_consent(services: Services) -> None:
    person = Someone(services, "1004")
    person.command("/start")
    replies = person.command("/share")
    assert button_data(replies) == ["consent:yes", "consent:no"]
    assert state_of(services, "1004") == "frame.awaiting_consent"


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (InboundKind.UNSUPPORTED, "", "only read text"),
        (InboundKind.EDITED, "changed my mind", "edited"),
        (InboundKind.TEXT, "   ", "empty"),
        (InboundKind.TEXT, "\x00\x01\x02", "empty"),
        (InboundKind.TEXT, "a" * 20_000, "smaller parts"),
        (InboundKind.COMMAND, "/frobnicate", "/help"),
        (InboundKind.CHOICE, "zz:unknown", "expired"),
    ],
)
def test_unexpected_input_gets_a_kind_answer_and_keeps_state(
    services: Services, kind: InboundKind, text: str, expected: str
) -> None:
    person = Someone(services, "1005")
    person.consents()
    before = state_of(services, "1005")
    replies = person.send(kind, text)
    assert expected in joined(replies)
    assert state_of(services, "1005") == before


def test_unicode_oddities_do_not_break_anything(services: Services) -> None:
    person = Someone(services, "1006")
    person.consents()
    for odd in [
        "🙂🙃" * 50,
        "\u202eevil rtl",
        "ｆｕｌｌ　ｗｉｄｔｈ",
        "e\u0301\u0301\u0301",
        "\ud7ff",
    ]:
        assert person.says(odd), odd


@pytest.mark.parametrize("state_setup", ["nothing", "start", "consent", "forget_pending"], ids=str)
def test_crisis_is_answered_in_every_state(services: Services, state_setup: str) -> None:
    person = Someone(services, "1007")
    if state_setup in ("start", "consent", "forget_pending"):
        person.command("/start")
    if state_setup in ("consent", "forget_pending"):
        person.presses("consent:yes")
    if state_setup == "forget_pending":
        person.command("/forget")
    replies = person.says("honestly I don't want to be alive anymore")
    assert "findahelpline.com" in joined(replies)
    with Session(services.engine) as session:
        flags = session.exec(select(Flag)).all()
    assert [f.kind for f in flags] == ["crisis"]
    assert flags[0].categories == ["suicide_indirect"]
    assert flags[0].sealed_text and "alive" not in flags[0].sealed_text
    with Session(services.engine) as session:
        text = open_flag_text(session=session, sealer=services.sealer, flag=flags[0])
    assert text.startswith("honestly")
    assert flags[0].case_ref.startswith("case-") and "1007" not in flags[0].case_ref


def test_crisis_in_a_command_argument_and_an_edit(services: Services) -> None:
    person = Someone(services, "1008")
    assert "findahelpline" in joined(person.command("/start i want to kill myself"))
    assert "findahelpline" in joined(person.send(InboundKind.EDITED, "I want to die"))


def test_a_photo_caption_with_crisis_language_is_answered(services: Services) -> None:
    person = Someone(services, "1015")
    person.consents()
    replies = person.send(InboundKind.UNSUPPORTED, "I want to kill myself tonight")
    assert "findahelpline" in joined(replies)
    assert "only read text" not in joined(replies)


def test_an_odd_language_code_still_gets_helplines(services: Services) -> None:
    replies = Someone(services, "1016", language="en-GB-oxendict-" + "x" * 40).says(
        "I want to kill myself"
    )
    assert "116 123" in joined(replies)  # en-gb helplines: the code was cut, not refused


@pytest.mark.empty_database  # no tables at all
def test_helplines_are_sent_even_when_the_database_fails(settings: Settings) -> None:
    broken = build_services(settings, channel="telegram", migrate=False)  # no tables at all
    try:
        replies = Someone(broken, "1017").says("I want to kill myself")
        assert "findahelpline" in joined(replies)
        assert "went wrong" not in joined(replies)
        assert "went wrong" in joined(Someone(broken, "1018").says("hello"))
    finally:
        broken.close()


def test_idioms_do_not_trigger_the_crisis_answer(services: Services) -> None:
    person = Someone(services, "1009")
    person.consents()
    for idiom in ["this homework is killing me", "I'm dead tired", "死ぬほど疲れた"]:
        assert "findahelpline" not in joined(person.says(idiom))
    with Session(services.engine) as session:
        assert session.exec(select(Flag)).all() == []


def test_state_survives_a_restart(settings: Settings) -> None:
    first = build_services(settings, channel="telegram")
    Someone(first, "1010").command("/start")
    first.close()
    second = build_services(settings, channel="telegram")
    try:
        replies = Someone(second, "1010").presses("consent:yes")
        assert any(data.startswith("a:") for data in button_data(replies))
    finally:
        second.close()


def test_forget_asks_then_deletes_every_row(services: Services) -> None:
    person = Someone(services, "1011")
    person.consents()
    person.says("I want to die")  # leaves a flag
    other = Someone(services, "1012")
    other.consents()
    replies = person.command("/forget")
    assert button_data(replies) == ["forget:yes", "forget:no"]
    assert "Done" in joined(person.presses("forget:yes"))
    key = services.sealer.person_key("telegram", "1011")
    with Session(services.engine) as session:
        assert session.exec(select(Person).where(Person.key == key)).first() is None
        assert len(session.exec(select(DeliveryAddress)).all()) == 1  # only the other person
        assert session.exec(select(Flag)).all() == []


def test_forget_no_keeps_everything(services: Services) -> None:
    person = Someone(services, "1013")
    person.consents()
    person.command("/forget")
    assert "nothing was deleted" in joined(person.presses("forget:no"))
    assert state_of(services, "1013") == "assessment.asking"  # back where they were


def test_no_table_holds_a_channel_id_in_clear(services: Services) -> None:
    ref = "987654321"
    Someone(services, ref).consents()
    Someone(services, ref).says("I want to die")
    with services.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                assert ref not in " ".join(str(v) for v in row), table


def test_outbox_delivers_retries_and_forgets(services: Services, tmp_path: Path) -> None:
    from bot.domain import Outbound
    from bot.store.outbox import enqueue

    Someone(services, "2001").consents()
    with Session(services.engine) as session:
        person = session.exec(select(Person)).one()
        assert person.id is not None
        row = enqueue(
            session=session,
            sealer=services.sealer,
            person_id=person.id,
            channel="telegram",
            message=Outbound(text="a card helped someone", protect_content=True),
        )
        session.commit()
        assert row.id is not None
        item_id = row.id
    due = services.outbox.due("telegram")
    assert [(i.recipient_ref, i.message.text, i.message.protect_content) for i in due] == [
        ("2001", "a card helped someone", True)
    ]
    services.outbox.failed(item_id, retry_after_seconds=60)
    assert services.outbox.due("telegram") == []
    assert services.outbox.due("console") == []


def test_counsellors_get_an_alert_without_text_or_ids(database_url: str, tmp_path: Path) -> None:
    from tests.conftest import make_settings

    settings = make_settings(database_url, tmp_path, COUNSELLOR_CHAT_ID=-1001234)
    built = build_services(settings, channel="telegram")
    try:
        person = Someone(built, "3001")
        person.consents()
        person.says("I have been cutting myself again")
        alerts = [i for i in built.outbox.due("telegram") if i.recipient_ref == "-1001234"]
        assert len(alerts) == 1
        text = alerts[0].message.text
        assert "high" in text and "case-" in text
        assert "cutting" not in text and "3001" not in text and "self_harm" not in text
    finally:
        built.close()


def test_no_alert_without_a_counsellor_chat(services: Services) -> None:
    Someone(services, "3002").says("I want to die")
    assert services.outbox.due("telegram") == []
