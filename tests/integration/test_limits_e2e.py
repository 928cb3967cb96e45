"""Per-person limits through the real bot (policies/limits.yaml): the card over the hourly limit
stays a draft with its "Share it" button and a kind word on when it can go, and the limit still
holds after the bot restarts on the same database (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services, build_services
from bot.store.tables import Card
from tests.integration.test_cards_e2e import set_class, share
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

GIL = SimulatedPerson(id=8890201, first_name="Gil", username="gil_o", language_code="en")
CARDS = [
    f"Day {n}: walking every morning slowly helped me feel like myself again." for n in range(5)
]


async def test_a_card_over_the_limit_waits_as_a_draft_across_a_restart(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        await start_and_consent(server, GIL)
        set_class(services, GIL, "normal", 1)
        for text in CARDS[:3]:
            said = " ".join(m.text for m in await share(server, GIL, text))
            assert "out there now" in said
        over = await share(server, GIL, CARDS[3])
        said = " ".join(m.text for m in over)
        assert "isn't lost" in said and "minute" in said
        assert "c:publish" in [d for m in over for _, d in m.buttons]

    restarted = build_services(settings, channel="telegram")
    try:
        async with bot_running(settings, restarted, drain_interval=0.1):
            last = server.sent_messages(GIL.id)[-1]
            server.user_presses_button(GIL, "c:publish", last)
            again = " ".join(m.text for m in await server.wait_for_reply(GIL.id))
            assert "isn't lost" in again
    finally:
        restarted.close()
    with Session(services.engine) as session:
        assert len(session.exec(select(Card)).all()) == 3
