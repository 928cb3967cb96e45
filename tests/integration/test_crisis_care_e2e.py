"""Around a crisis answer on Telegram, end to end: the pause, honest promises, "Not now" for a
known person, and typed answers heard inside the assessment (the real Application, the real
core, a real database; tests/support/fake_bot_api.py stands in for Telegram's cloud)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.assessment.phrases import load_phrases
from bot.assessment.state import AssessmentState
from bot.config import Settings
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.services import Services, build_services
from bot.store.tables import Flag
from tests.conftest import make_settings
from tests.support.conversation_driver import stored_person
from tests.support.fake_bot_api import FakeBotApi, SentMessage, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

CARA = SimulatedPerson(id=8880001, first_name="Cara", username="cara_q", language_code="en")
DAN = SimulatedPerson(id=8880002, first_name="Dan", username="dan_r", language_code="en")
EMI = SimulatedPerson(id=8880003, first_name="Emi", username="emi_k", language_code="ja")
COUNSELLOR_CHAT = -1009876
TOLD = "let our team of trained volunteers know"
NOT_TOLD = "nobody else has been told"
PHRASES = load_phrases(Path(__file__).resolve().parents[2] / "prompts", "en")


def options(message: SentMessage) -> list[str]:
    return [data for _, data in message.buttons if data.startswith("a:")]


def assessment_of(services: Services, who: SimulatedPerson) -> AssessmentState:
    data = stored_person(services, str(who.id)).state_data
    if "paused_data" in data:
        data = data["paused_data"]
    return AssessmentState.model_validate(data["assessment"])


@pytest.fixture
async def with_counsellors(server: FakeBotApi, database_url: str, tmp_path: Path) -> AsyncIterator:
    settings = make_settings(
        database_url,
        tmp_path,
        TELEGRAM_BOT_TOKEN=server.token,
        TELEGRAM_API_BASE_URL=server.base_url,
        COUNSELLOR_CHAT_ID=COUNSELLOR_CHAT,
    )
    services = build_services(settings, channel="telegram")
    try:
        yield settings, services
    finally:
        services.close()


async def test_after_a_crisis_the_next_message_is_heard_not_taken_as_an_answer(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        question = await start_and_consent(server, CARA)
        before = assessment_of(services, CARA)
        server.user_sends_text(CARA, "I have the pills ready, I want to kill myself tonight")
        crisis = await server.wait_for_text(CARA.id, "findahelpline.com")
        assert NOT_TOLD in crisis[-1].text and TOLD not in crisis[-1].text  # nobody configured
        server.user_sends_text(
            CARA, "I don't really want to call anyone. I just wanted to say it somewhere."
        )
        heard = await server.wait_for_button(CARA.id, "care:resume")
        assert "Thank you for telling me" in heard.text
        assert not options(heard)  # not the next question
        assert "care:counsellor" not in [d for _, d in heard.buttons]  # no counsellors here
        assert assessment_of(services, CARA) == before  # the question was not consumed

        server.user_presses_button(CARA, "care:coping", heard)
        tips = await server.wait_for_button(CARA.id, "care:resume")
        coping = [
            c.text for c in KnowledgeBase(settings).all_cards("en") if c.card_type == "coping_tip"
        ]
        assert any(text in tips.text for text in coping)  # a tip from kb/coping/en

        server.user_presses_button(CARA, "care:resume", tips)
        again = await server.wait_for_button_prefix(CARA.id, "a:")
        assert options(again) == options(question)  # the same question, still unanswered
        assert assessment_of(services, CARA) == before


async def test_with_a_counsellor_chat_the_promise_is_made_and_the_alert_arrives(
    server: FakeBotApi, with_counsellors: tuple[Settings, Services]
) -> None:
    settings, services = with_counsellors
    async with bot_running(settings, services):
        await start_and_consent(server, DAN)
        server.user_sends_text(DAN, "honestly I don't want to be alive anymore")
        crisis = await server.wait_for_text(DAN.id, "findahelpline.com")
        assert TOLD in crisis[-1].text and NOT_TOLD not in crisis[-1].text
        alert = await server.wait_for_text(COUNSELLOR_CHAT, "NeedToTalk:")
        assert "crisis" in alert[-1].text
        assert str(DAN.id) not in alert[-1].text and "dan" not in alert[-1].text.lower()

        server.user_sends_text(DAN, "I just needed to say it")
        heard = await server.wait_for_button(DAN.id, "care:counsellor")
        server.user_presses_button(DAN, "care:counsellor", heard)
        await server.wait_for_text(DAN.id, "counsellors' queue")
        request = await server.wait_for_text(COUNSELLOR_CHAT, "contact_request")
        assert str(DAN.id) not in request[-1].text
    with Session(services.engine) as session:
        assert sorted(f.kind for f in session.exec(select(Flag)).all()) == [
            "contact_request",
            "crisis",
        ]


async def test_not_now_for_a_known_person_offers_a_pause_or_forget(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        await start_and_consent(server, CARA)
        server.user_sends_command(CARA, "/start")
        welcome = await server.wait_for_button(CARA.id, "consent:no")
        server.user_presses_button(CARA, "consent:no", welcome)
        answer = await server.wait_for_text(CARA.id, "/forget")
        assert "Nothing about you is kept" not in answer[-1].text
        assert "still kept" in answer[-1].text and "/start" in answer[-1].text
        server.user_sends_text(CARA, "hello?")
        paused = await server.wait_for_reply(CARA.id)
        assert "paused" in paused[-1].text and not paused[-1].buttons  # nothing is asked
    assert stored_person(services, str(CARA.id)).consented_at is not None  # kept, as said


async def test_typed_answers_are_acknowledged_and_questions_rephrased(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        question = await start_and_consent(server, CARA)
        server.user_sends_text(CARA, "what does that even mean?")
        plain = await server.wait_for_button_prefix(CARA.id, "a:")
        assert plain.text.startswith(PHRASES.clarify_intro)
        assert options(plain) == options(question)
        assert assessment_of(services, CARA).answers == []

        server.user_sends_text(CARA, "honestly I just feel really alone. nobody texts me back…")
        replies = await server.wait_for_message(CARA.id, lambda m: bool(options(m)))
        # The acknowledgement and the next question arrive as one message (a turn's plain
        # words before a question are joined: fewer calls against Telegram's rate limit).
        assert replies[-1].text.startswith(PHRASES.themes["loneliness"].ack + "\n\n")
        assert options(replies[-1]) != options(question)  # the next question
        assert len(assessment_of(services, CARA).answers) == 1


async def test_japanese_i_dont_know_counts_and_ends_the_assessment(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    ja = load_phrases(settings.prompts_dir, "ja")
    async with bot_running(settings, services):
        await start_and_consent(server, EMI)
        for _ in range(2):
            server.user_sends_text(EMI, "わからない")
            replies = await server.wait_for_message(EMI.id, lambda m: bool(options(m)))
            assert replies[-1].text.startswith(ja.ack_dont_know + "\n\n")  # with the question
        server.user_sends_text(EMI, "わからない")
        result = await server.wait_for_button(EMI.id, "menu:read")
        assert ja.unclear in result.text
    stored = stored_person(services, str(EMI.id))
    assert stored.state == "idle" and stored.user_class is None
