"""Bad input that used to fail a turn gets the ordinary kind answer, through the real
python-telegram-bot Application and the local Bot API server, on SQLite and PostgreSQL (the
inbox issue's item 6): button data with an id past a database integer (a DataError on
PostgreSQL), digits `str.isdigit` accepts but `int` refuses ("²"), and a lone surrogate in a
message (which no UTF-8 encoder, tokenizer or database driver accepts)."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services
from bot.store.tables import Card
from tests.integration.test_cards_e2e import UNAVAILABLE, set_class
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

EVE = SimulatedPerson(id=8890001, first_name="Eve", username="eve_q", language_code="en")
FAILED = ("went wrong",)  # the core's "error" text and the channel's apology both say it


async def answer_to(server: FakeBotApi, who: SimulatedPerson, data: str) -> str:
    server.user_presses_button(who, data, server.sent_messages(who.id)[-1])
    return " ".join(m.text for m in await server.wait_for_reply(who.id))


async def test_forged_numbers_in_buttons_get_the_kind_answer(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        await start_and_consent(server, EVE)
        set_class(services, EVE, "normal", 1)
        for data in ("c:helped:2147483648", "c:report:99999999999999999999", "c:helped:²"):
            said = await answer_to(server, EVE, data)
            assert UNAVAILABLE in said, data
        for data in ("cr:2147483648", "cr:²", "cr:١٢", "cr:-1", "cr:0"):
            said = await answer_to(server, EVE, data)
            assert "conversation with a counsellor has ended" in said, data
        for data in ("ck:f:²", "ck:f:99999999999", "ck:f:٣"):
            said = await answer_to(server, EVE, data)
            assert "expired" in said, data
        # The bot is still there for her afterwards.
        server.user_sends_command(EVE, "/help")
        assert "/share" in " ".join(m.text for m in await server.wait_for_reply(EVE.id))
    for message in server.sent_messages(EVE.id):
        assert not any(word in message.text for word in FAILED)


async def test_a_lone_surrogate_gets_the_ordinary_answer(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with bot_running(settings, services, drain_interval=0.1):
        await start_and_consent(server, EVE)
        set_class(services, EVE, "normal", 1)
        server.user_sends_text(EVE, "I had a long day \ud800 but I'm okay")
        assert await server.wait_for_reply(EVE.id)

        server.user_sends_command(EVE, "/share")
        await server.wait_for_text(EVE.id, "Write your card")
        server.user_sends_text(
            EVE, "Walking every morning \udc00 slowly helped me feel like myself again."
        )
        confirm = await server.wait_for_button(EVE.id, "c:publish")
        server.user_presses_button(EVE, "c:publish", confirm)
        await server.wait_for_text(EVE.id, "out there now")
    for message in server.sent_messages(EVE.id):
        assert not any(word in message.text for word in FAILED)
    with Session(services.engine) as session:
        (card,) = session.exec(select(Card)).all()
    assert "\ufffd" in card.text and "slowly helped" in card.text
