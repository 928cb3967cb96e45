"""Running the real python-telegram-bot Application against the local Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.channels.telegram.application import TelegramApplication, build_application, polling
from bot.config import Settings
from bot.services import Services
from tests.support.fake_bot_api import FakeBotApi, SentMessage, SimulatedPerson


@asynccontextmanager
async def bot_running(
    settings: Settings, services: Services, drain_interval: float = 0.2
) -> AsyncIterator[TelegramApplication]:
    app = build_application(settings, services, drain_interval=drain_interval)
    async with polling(app, poll_timeout=1) as running:
        yield running


async def start_and_consent(server: FakeBotApi, who: SimulatedPerson) -> SentMessage:
    """/start, press "yes", and return the pre-assessment's first question."""
    server.user_sends_command(who, "/start")
    welcome = await server.wait_for_button(who.id, "consent:yes")
    server.user_presses_button(who, "consent:yes", welcome)
    return await server.wait_for_button_prefix(who.id, "a:")
