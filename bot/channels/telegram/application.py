"""The one builder of the Telegram Application, used by `needtotalk run` and by the tests.

Everything about how the bot talks to Telegram is set here: the Bot API base URL (a self-hosted
Bot API server, or a local test server, through `TELEGRAM_API_BASE_URL`), the built-in rate
limiter (and on PostgreSQL a send budget shared by every worker), the command menu, the outbox
drain, and how updates come in.

Updates take one path, the durable inbox: fetched raw by long polling or received by a webhook,
stored sealed before they are acknowledged (the offset moves, or the webhook answers 200, only
after the commit), handled once (bot/channels/telegram/inbox.py), answered through the outbox.
python-telegram-bot's own updater and handlers are not used: they acknowledge an update before
it is handled, so a process that dies loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from aiohttp import web
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    ContextTypes,
    ExtBot,
)

from bot.channels.telegram.aiohttp_request import AiohttpRequest
from bot.channels.telegram.budget import SharedSendBudget
from bot.channels.telegram.command_menu import set_command_menu
from bot.channels.telegram.delivery import FLOOD_RETRIES
from bot.channels.telegram.housekeeping import housekeeping_forever
from bot.channels.telegram.inbox import TelegramInbox
from bot.channels.telegram.logfilter import install_log_filter
from bot.channels.telegram.outbox_drain import (
    DEFAULT_DRAIN_INTERVAL_SECONDS,
    drain_forever,
    stop_task,
)
from bot.channels.telegram.services import ChannelContext, ChannelData, ChannelServices
from bot.config import Settings
from bot.texts import Texts

log = logging.getLogger(__name__)
# How often a worker looks for waiting updates it was not told about (stored by a worker that
# died, or whose lane was busy elsewhere).
SWEEP_INTERVAL_SECONDS = 1.0

TelegramApplication = Application[
    ExtBot[None], ChannelContext, dict[Any, Any], dict[Any, Any], ChannelData, None
]

# Connections to the Bot API per client (bot/channels/telegram/aiohttp_request.py: aiohttp, not
# python-telegram-bot's httpx, whose pool cost most of a worker's CPU under load). 16
# connections carry far more than Telegram's 30 messages/s; a send waits up to
# POOL_TIMEOUT_SECONDS for one.
CONNECTION_POOL_SIZE = 16
QUICK_POOL_SIZE = 8  # answerCallbackQuery only
POOL_TIMEOUT_SECONDS = 10.0

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
    """The bot's Application: services in `bot_data`, not yet started."""
    token = bot_token(settings)
    install_log_filter()

    async def post_init(app: TelegramApplication) -> None:
        await set_command_menu(app.bot, app.bot_data.services.conversation.command_menu())
        data = app.bot_data
        data.wake = asyncio.Event()
        data.drain_task = asyncio.create_task(
            drain_forever(
                app.bot, data.services.outbox, drain_interval, data.services.copies, data.wake
            ),
            name="outbox-drain",
        )
        data.housekeeping_task = asyncio.create_task(
            housekeeping_forever(data.services.housekeeping), name="housekeeping"
        )
        quick = Bot(
            token,
            base_url=settings.telegram_api_base_url,
            base_file_url=file_base_url(settings.telegram_api_base_url),
            request=AiohttpRequest(QUICK_POOL_SIZE, pool_timeout=POOL_TIMEOUT_SECONDS),
            get_updates_request=AiohttpRequest(1),  # never polls; not opened until used
        )
        await quick.initialize()
        data.quick_bot = quick
        data.inbox = TelegramInbox(
            app.bot,
            services.inbox,
            services.conversation,
            texts=data.texts,
            wake_outbox=data.wake.set,
            quick_bot=quick,
        )
        data.sweep_task = asyncio.create_task(
            data.inbox.sweep_forever(SWEEP_INTERVAL_SECONDS), name="inbox-sweep"
        )

    async def post_stop(app: TelegramApplication) -> None:
        data = app.bot_data
        if data.inbox is not None:
            await data.inbox.wait_idle(10.0)
        await stop_task(data.sweep_task)
        await stop_task(data.drain_task)
        await stop_task(data.housekeeping_task)
        if data.inbox is not None:
            await asyncio.to_thread(data.inbox.close)
            data.inbox = None
        if data.quick_bot is not None:
            with contextlib.suppress(Exception):
                await data.quick_bot.shutdown()
            data.quick_bot = None

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        .request(AiohttpRequest(CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT_SECONDS))
        .get_updates_request(AiohttpRequest(1))
        .context_types(ContextTypes(bot_data=ChannelData))
        .updater(None)
        .job_queue(None)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_stop)
    )
    limiter = rate_limiter(settings, services)
    if limiter is not None:
        builder = builder.rate_limiter(limiter)
    app = cast(TelegramApplication, builder.build())
    app.bot_data.services = services
    app.bot_data.texts = Texts(settings.prompts_dir)  # a broken catalog fails here, not later
    return app


def rate_limiter(settings: Settings, services: ChannelServices) -> BaseRateLimiter[Any] | None:
    """python-telegram-bot's AIORateLimiter (30 calls/s, Telegram's 429 waited out
    FLOOD_RETRIES times); on PostgreSQL also a budget in the database that every worker of the
    token shares. None with TELEGRAM_RATE_LIMIT=false (measurements only)."""
    if not settings.telegram_rate_limit:
        return None
    limiter = AIORateLimiter(max_retries=FLOOD_RETRIES)
    engine = getattr(services, "engine", None)
    if engine is not None and engine.dialect.name == "postgresql":
        return SharedSendBudget(engine, limiter)
    return limiter


@asynccontextmanager
async def polling(
    app: TelegramApplication, *, poll_timeout: int = 10, drop_pending_updates: bool = False
) -> AsyncIterator[TelegramApplication]:
    """Run `app` with long polling inside a running event loop, as `run_polling` does.

    For callers that own the loop: tests, or a process that serves more than the bot. Updates
    fetched but not yet handled are handled before it returns, or at the latest by the next
    start, since they are stored.
    """
    async with _running_durable(app) as inbox:
        await app.bot.delete_webhook(drop_pending_updates=drop_pending_updates)
        task = asyncio.create_task(poll_forever(app.bot, inbox, poll_timeout), name="poll")
        try:
            yield app
        finally:
            await stop_task(task)


async def poll_forever(bot: Bot, inbox: TelegramInbox, poll_timeout: int) -> None:
    """getUpdates raw, store the batch, and only then move the offset past it.

    The raw JSON is stored as it came, so an update python-telegram-bot cannot parse is set
    aside by itself later instead of failing the batch. If storing fails, the offset stays and
    the same batch is fetched again. It starts after the newest update already stored, so
    one handled before a restart is not fetched again.
    """
    offset = await inbox.first_offset()
    while True:
        try:
            # Bot._post: getUpdates without parsing (Bot.get_updates parses the whole batch, and
            # one update it cannot parse fails them all); do_api_request refuses getUpdates.
            raw = await bot._post(
                "getUpdates",
                {"offset": offset, "timeout": poll_timeout, "allowed_updates": ALLOWED_UPDATES},
                read_timeout=poll_timeout + 10,
            )
        except asyncio.CancelledError:
            raise
        except InvalidToken:
            raise
        except (NetworkError, TimedOut) as exc:
            log.warning("getUpdates failed (%s); trying again", type(exc).__name__)
            await asyncio.sleep(1.0)
            continue
        except Exception as exc:  # anything else: keep polling, never spin
            log.error("getUpdates failed (%s); trying again", type(exc).__name__)
            await asyncio.sleep(1.0)
            continue
        updates = [u for u in raw if isinstance(u, dict)] if isinstance(raw, list) else []
        if not updates:
            continue
        try:
            await inbox.receive(updates)
        except Exception as exc:  # not stored: not confirmed either; fetched again
            log.error(
                "storing updates failed (%s); the batch will be fetched again", type(exc).__name__
            )
            await asyncio.sleep(1.0)
            continue
        ids = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
        if ids:
            offset = max(ids) + 1


@asynccontextmanager
async def serving_webhook(
    app: TelegramApplication,
    *,
    webhook_url: str,
    secret_token: str,
    listen: str = "127.0.0.1",
    port: int = 8443,
    url_path: str = "",
    drop_pending_updates: bool = False,
    register: bool = True,
) -> AsyncIterator[TelegramApplication]:
    """Run `app` behind a webhook inside a running event loop, as `run_webhook` does.

    Telegram must send `secret_token` in X-Telegram-Bot-Api-Secret-Token; other requests get 403.
    The answer is 200 only once the update is committed to the inbox (a 500 makes Telegram
    send it again), so several workers can sit behind one load balancer: `register=False` for
    all but one of them (setWebhook names one URL).
    """
    async with _running_durable(app) as inbox:
        server = await webhook_server(inbox, secret_token, listen, port, url_path)
        try:
            if register:
                await app.bot.set_webhook(
                    url=webhook_url,
                    secret_token=secret_token,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=drop_pending_updates,
                )
            yield app
        finally:
            await server.cleanup()


async def webhook_server(
    inbox: TelegramInbox, secret_token: str, listen: str, port: int, url_path: str
) -> web.AppRunner:
    """An aiohttp server that stores each posted update before it answers 200."""

    async def receive(request: web.Request) -> web.Response:
        if not hmac.compare_digest(
            request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), secret_token
        ):
            return web.Response(status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
            return web.Response(status=400)
        try:
            await inbox.receive([body])
        except Exception as exc:  # not stored: Telegram sends it again
            log.error("storing a webhook update failed (%s)", type(exc).__name__)
            return web.Response(status=500)
        return web.Response(status=200)

    server = web.Application(client_max_size=4 * 1024 * 1024)
    server.router.add_post("/" + url_path.strip("/"), receive)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    return runner


@asynccontextmanager
async def _running_durable(app: TelegramApplication) -> AsyncIterator[TelegramInbox]:
    """initialize (getMe: a wrong token fails here), post_init (command menu, outbox drain,
    inbox and its sweeper), then on leaving: post_stop (lanes finish, tasks stop), shutdown."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        inbox = app.bot_data.inbox
        assert inbox is not None
        try:
            yield inbox
        finally:
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
