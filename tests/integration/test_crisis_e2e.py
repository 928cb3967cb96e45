"""A crisis in a language the bot does not speak, through the real Telegram Application: the
international helplines at once, and a flag stored for counsellors (issue 10)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.config import Settings
from bot.services import build_services
from bot.store.tables import Flag
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running

KLARA = SimulatedPerson(id=7770101, first_name="Klara", username="klara_m", language_code="de")
NIAMH = SimulatedPerson(id=7770102, first_name="Niamh", username="niamh_o", language_code="en-gb")


async def test_a_german_crisis_gets_international_helplines_and_a_flag(
    server: FakeBotApi, settings: Settings
) -> None:
    services = build_services(settings, channel="telegram")
    try:
        async with bot_running(settings, services):
            server.user_sends_text(KLARA, "Ich will mich umbringen.")
            answer = (await server.wait_for_text(KLARA.id, "findahelpline.com"))[-1]
            assert "local emergency number" in answer.text
            # Written from an en-GB account: still the international lines, not the UK's.
            server.user_sends_text(NIAMH, "Ich will mich umbringen.")
            answer = (await server.wait_for_text(NIAMH.id, "findahelpline.com"))[-1]
            assert "116 123" not in answer.text
        with Session(services.engine) as session:
            flags = session.exec(select(Flag)).all()
        assert [f.kind for f in flags] == ["crisis", "crisis"]
        assert all(str(KLARA.id) not in f.case_ref for f in flags)
    finally:
        services.close()
