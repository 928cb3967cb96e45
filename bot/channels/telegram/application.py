"""The one builder of the Telegram Application, used by `needtotalk run` and by the tests.

Everything about how the bot talks to Telegram is set here: the Bot API base URL (a self-hosted
Bot API server, or a local test server, through `TELEGRAM_API_BASE_URL`), the built-in rate
limiter, per-person ordering of updates, the handlers, the command menu and the outbox drain.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    ExtBot,
    Updater,
)

from bot.channels.telegram.command_menu import set_command_menu
from bot.channels.telegram.handlers import register_handlers
from bot.channels.telegram.housekeeping import housekeeping_forever
from bot.channels.telegram.ordering import PerChatUpdateProcessor
from bot.channels.telegram.outbox_drain import (
    DEFAULT_DRAIN_INTERVAL_SECONDS,
    drain_forever,
    stop_task,
)
from bot.channels.telegram.services import ChannelContext, ChannelData, ChannelServices
from bot.config import Settings

TelegramApplication = Application[
    ExtBot[None], ChannelContext, dict[Any, Any], dict[Any, Any], ChannelData, None
]

# The updates the bot acts on; asking for no others keeps group and channel traffic away.
ALLOWED_UPDATES: list[str] = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


class MissingTokenError(RuntimeError):
    """TELEGRAM_BOT_TOKEN is not set."""


def bot_token(settings: Settings) -> str:
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token.strip():
        raise MissingTokenError(
            "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather, put its token in the "
            "environment or .env (TELEGRAM_BOT_TOKEN=123456:ABC...), or talk to the bot offline "
            "with `needtotalk chat`."
        )
    return token.strip()


def file_base_url(api_base_url: str) -> str:
    """'https://api.telegram.org/bot' -> 'https://api.telegram.org/file/bot' (same for local)."""
    head, _, last = api_base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{last}"


def webhook_secret_token(settings: Settings) -> str:
    """The webhook's secret token, derived from the server secret so no new secret is needed.

    Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; only [A-Za-z0-9_-], <= 256 chars.
    """
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"needtotalk telegram webhook", hashlib.sha256).hexdigest()


def build_application(
    settings: Settings,
    services: ChannelServices,
    *,
    drain_interval: float = DEFAULT_DRAIN_INTERVAL_SECONDS,
) -> TelegramApplication:
    """The bot's Application: handlers registered, services in `bot_data`, not yet started."""
    token = bot_token(settings)

    async def post_init(app: TelegramApplication) -> None:
        await set_command_menu(app.bot)
        data = app.bot_data
        data.drain_task = asyncio.create_task(
            drain_forever(app.bot, data.services.outbox, drain_interval, data.services.copies),
            name="outbox-drain",
        )
        data.housekeeping_task = asyncio.create_task(
            housekeeping_forever(data.services.housekeeping), name="housekeeping"
        )

    async def post_stop(app: TelegramApplication) -> None:
        await stop_task(app.bot_data.drain_task)
        await stop_task(app.bot_data.housekeeping_task)

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        .context_types(ContextTypes(bot_data=ChannelData))
        .rate_limiter(AIORateLimiter())
        .concurrent_updates(PerChatUpdateProcessor())
        .job_queue(None)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_stop)
    )
    app = cast(TelegramApplication, builder.build())
    app.bot_data.services = services
    register_handlers(app)
    return app


@asynccontextmanager
async def polling(
    app: TelegramApplication, *, poll_timeout: int = 10, drop_pending_updates: bool = False
) -> AsyncIterator[TelegramApplication]:
    """Run `app` with long polling inside a running event loop, as `run_polling` does.

    For callers that own the loop: tests, or a process that serves more than the bot. Updates
    fetched but not yet handled are handled before it returns.
    """
    async with _running(app) as updater:
        await updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending_updates,
        )
        await app.start()
        yield app


@asynccontextmanager
async def serving_webhook(
    app: TelegramApplication,
    *,
    webhook_url: str,
    secret_token: str,
    listen: str = "127.0.0.1",
    port: int = 8443,
    url_path: str = "",
) -> AsyncIterator[TelegramApplication]:
    """Run `app` behind a webhook inside a running event loop, as `run_webhook` does.

    Telegram must send `secret_token` in X-Telegram-Bot-Api-Secret-Token; other requests get 403.
    """
    async with _running(app) as updater:
        await updater.start_webhook(
            listen=listen,
            port=port,
            url_path=url_path,
            webhook_url=webhook_url,
            secret_token=secret_token,
            allowed_updates=ALLOWED_UPDATES,
        )
        await app.start()
        yield app


@asynccontextmanager
async def _running(app: TelegramApplication) -> AsyncIterator[Updater]:
    """python-telegram-bot's own start and stop order (Application.__run), minus the signals.

    initialize, post_init, (the caller starts the updater and the app), then updater.stop,
    stop, post_stop, shutdown, post_shutdown.
    """
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        updater = app.updater
        assert updater is not None
        try:
            yield updater
        finally:
            if updater.running:
                await updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
