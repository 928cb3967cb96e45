"""The whole pre-assessment on Telegram: quick replies and free text until the reflection."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services
from bot.store.tables import Person
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

EMI = SimulatedPerson(id=9990001, first_name="Emi", username="emi_t", language_code="ja")
FINN = SimulatedPerson(id=9990002, first_name="Finn", username="finn_o", language_code="en-GB")

# Quick replies that lean to self-doubt, when a question offers one; otherwise the first.
SELF_DOUBT_WORDS = ("useless", "mess", "not good enough", "doubt", "ダメ", "自信", "失敗")


async def test_a_person_answers_until_a_kind_reflection_and_the_result_is_stored(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        question = await start_and_consent(server, FINN)
        server.user_sends_text(FINN, "Honestly I keep thinking I'm not good enough at anything")
        for _ in range(12):
            question = await server.wait_for_message_with_any(FINN.id, ("a:", "menu:read"))
            options = [(label, data) for label, data in question.buttons if data.startswith("a:")]
            options = [o for o in options if o[1] != "a:revisit"]
            if not options:
                break
            pick = next(
                (o for o in options if any(w in o[0].lower() for w in SELF_DOUBT_WORDS)),
                options[0],
            )
            server.user_presses_button(FINN, pick[1], question)
        reflection = question
        assert "menu:read" in [d for _, d in reflection.buttons]
        assert "a:revisit" in [d for _, d in reflection.buttons]
        assert "You told me you've been doubting yourself" in reflection.text  # what they said
        assert "diagnos" not in reflection.text.lower()

    key = services.sealer.person_key("telegram", str(FINN.id))
    with Session(services.engine) as session:
        person = session.exec(select(Person).where(Person.key == key)).one()
    assert person.user_class == "vulnerable"
    assert person.mood_level is not None
    assert person.state_embedding is not None  # the free text moved the reader's state
    assert "good enough" not in str(person.state_data)  # and was not kept


async def test_japanese_assessment_speaks_japanese(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services):
        question = await start_and_consent(server, EMI)
    assert any("\u3040" <= ch <= "\u30ff" for ch in question.text)  # kana
    assert all(any("\u3040" <= ch <= "\u9fff" for ch in label) for label, _ in question.buttons)
