"""After a crisis answer: the pause, what is offered, and what the answers promise (real core,
real database on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services, build_services
from bot.store.tables import Flag
from tests.conftest import make_settings
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person

TOLD = "let our team of trained volunteers know"
NOT_TOLD = "nobody else has been told"
JUST_SAY_IT = "I don't really want to call anyone. I just wanted to say it somewhere."


@pytest.fixture
def with_counsellors(database_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = make_settings(database_url, tmp_path, COUNSELLOR_CHAT_ID=-1001234)
    built = build_services(settings, channel="telegram")
    yield built
    built.close()


def first_question(replies: list) -> list[str]:  # type: ignore[type-arg]
    return [d for d in button_data(replies) if d.startswith("a:")]


def test_the_message_after_a_crisis_is_heard_and_the_question_waits(services: Services) -> None:
    person = Someone(services, "5001")
    options = first_question(person.consents())
    before = stored_person(services, "5001").state_data
    person.says("I want to die")
    replies = person.says(JUST_SAY_IT)
    text = joined(replies)
    assert "Thank you for telling me" in text
    assert not first_question(replies)  # no next question
    assert button_data(replies) == ["care:coping", "care:resume"]  # no counsellor here
    row = stored_person(services, "5001")
    assert row.state == "after_crisis"
    assert row.state_data["paused_data"] == before  # the assessment, untouched
    # Carry on: the same question again, nothing answered meanwhile.
    replies = person.presses("care:resume")
    assert first_question(replies) == options
    assert stored_person(services, "5001").state_data == before


def test_a_crisis_during_the_pause_is_a_crisis_again(services: Services) -> None:
    person = Someone(services, "5002")
    options = first_question(person.consents())
    person.says("I want to die")
    person.says(JUST_SAY_IT)
    replies = person.says("I'm going to kill myself tonight")
    assert "findahelpline.com" in joined(replies)
    with Session(services.engine) as session:
        assert [f.kind for f in session.exec(select(Flag)).all()] == ["crisis", "crisis"]
    assert first_question(person.presses("care:resume")) == options  # still kept


def test_an_option_of_the_paused_question_resumes_and_answers_it(services: Services) -> None:
    person = Someone(services, "5003")
    options = first_question(person.consents())
    person.says("I want to die")
    replies = person.presses(options[0])
    assert "expired" not in joined(replies)
    assert first_question(replies) and first_question(replies) != options
    state = stored_person(services, "5003").state_data["assessment"]
    assert [a["question_id"] for a in state["answers"]] == [options[0][2:].split(".")[0]]


def test_coping_ideas_come_from_the_knowledge_base_in_the_persons_language(
    services: Services,
) -> None:
    person = Someone(services, "5004", language="ja")
    person.consents()
    person.says("死にたい")
    first = person.presses("care:coping")
    second = person.presses("care:coping")
    assert len(first) == 4 and len(second) == 4  # an intro and three tips each time
    assert {m.text for m in first[1:]}.isdisjoint({m.text for m in second[1:]})
    assert any("\u3040" <= ch <= "\u30ff" for ch in first[1].text)
    assert button_data(second) == ["care:coping", "care:resume"]
    assert stored_person(services, "5004").state == "after_crisis"


def test_without_counsellors_the_crisis_answer_promises_nobody(services: Services) -> None:
    text = joined(Someone(services, "5005").says("I want to die"))
    assert NOT_TOLD in text and TOLD not in text
    assert services.outbox.due("telegram") == []


def test_with_a_counsellor_chat_the_answer_says_so_and_the_alert_is_queued(
    with_counsellors: Services,
) -> None:
    person = Someone(with_counsellors, "5006")
    person.consents()
    text = joined(person.says("I want to die"))
    assert TOLD in text and NOT_TOLD not in text
    alerts = [i for i in with_counsellors.outbox.due("telegram") if i.recipient_ref == "-1001234"]
    assert len(alerts) == 1 and "high" in alerts[0].message.text  # severity, never the words


def test_with_a_console_the_answer_says_so(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, tmp_path, COUNSELLOR_CONSOLE_URL="https://console.example"
    )
    built = build_services(settings, channel="telegram")
    try:
        replies = Someone(built, "5007").says("I want to die")
        assert TOLD in joined(replies)
        after = Someone(built, "5007").says(JUST_SAY_IT)
        assert "care:counsellor" in button_data(after)
    finally:
        built.close()


@pytest.mark.empty_database  # no tables at all
def test_when_the_database_is_down_nothing_is_promised(tmp_path: Path, database_url: str) -> None:
    settings: Settings = make_settings(database_url, tmp_path, COUNSELLOR_CHAT_ID=-1001234)
    broken = build_services(settings, channel="telegram", migrate=False)  # no tables at all
    try:
        text = joined(Someone(broken, "5008").says("I want to kill myself"))
        assert "findahelpline" in text
        assert NOT_TOLD in text and TOLD not in text
    finally:
        broken.close()


def test_asking_for_a_counsellor_raises_one_request_and_says_what_happens(
    with_counsellors: Services,
) -> None:
    person = Someone(with_counsellors, "5009")
    person.consents()
    person.says("I want to die")
    replies = person.says(JUST_SAY_IT)
    assert button_data(replies)[0] == "care:counsellor"
    first = joined(person.presses("care:counsellor"))
    assert "queue" in first and "can't promise how soon" in first
    assert "write to you" not in first  # no console to reply from: nothing promised about it
    person.presses("care:counsellor")  # asked twice: refreshed, not duplicated
    with Session(with_counsellors.engine) as session:
        kinds = sorted(f.kind for f in session.exec(select(Flag)).all())
    assert kinds == ["contact_request", "crisis"]
    alerts = [
        i.message.text
        for i in with_counsellors.outbox.due("telegram")
        if i.recipient_ref == "-1001234"
    ]
    assert len(alerts) == 2 and "contact_request" in alerts[1]


def test_not_now_for_a_known_person_is_a_pause_and_says_what_is_kept(services: Services) -> None:
    person = Someone(services, "5010")
    person.consents()
    person.command("/start")
    replies = person.presses("consent:no")
    text = joined(replies)
    assert "Nothing about you is kept" not in text
    assert "still kept" in text and "/forget" in text and "/start" in text
    later = person.says("hello?")
    assert "paused" in joined(later) and not button_data(later)  # nothing is asked
    assert button_data(person.command("/start")) == ["consent:yes", "consent:no"]


def test_not_now_for_someone_new_is_still_a_plain_no(services: Services) -> None:
    person = Someone(services, "5011")
    person.command("/start")
    assert "Nothing about you is kept" in joined(person.presses("consent:no"))
