"""Running the real python-telegram-bot Application against the local Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.channels.telegram.application import TelegramApplication, build_application, polling
from bot.config import Settings
from bot.services import Services


@asynccontextmanager
async def bot_running(
    settings: Settings, services: Services, drain_interval: float = 0.2
) -> AsyncIterator[TelegramApplication]:
    app = build_application(settings, services, drain_interval=drain_interval)
    async with polling(app, poll_timeout=1) as running:
        yield running
