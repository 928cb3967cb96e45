"""`needtotalk run`: the Telegram bot, by long polling or behind a webhook."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import urlsplit

from bot.config import Settings

# How long a thread may run Python before the interpreter makes it hand over to another thread
# that waits (the default is 5 ms). A worker's lane threads and its event loop take turns at
# the one interpreter lock, and each forced handover wakes one thread and puts another to
# sleep; under load a sampled worker spent a large share of its time in those handovers. At
# 20 ms a worker spent 7-8 ms of CPU per update instead of 9-12 and handled 103-114 updates/s
# instead of 86-91 (benchmarks/load.py, SQLite, 200 people, limiter off, runs alternated;
# docs/architecture.md). A thread that waits for the disk, the database or the network hands
# over at once, as before: only a pure-Python stretch may now keep the loop waiting up to 20 ms.
SWITCH_INTERVAL_SECONDS = 0.02


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)",
        description=(
            "Runs NeedToTalk on Telegram until Ctrl+C. By default it long-polls the Bot API "
            "(no public address needed). With --webhook URL, Telegram posts updates to URL "
            "instead; put an HTTPS reverse proxy in front that forwards to --listen:--port. "
            "The webhook's secret token is derived from NEEDTOTALK_SECRET_KEY, so requests "
            "without it are refused. TELEGRAM_API_BASE_URL points the bot at a self-hosted Bot "
            "API server. Messages waiting in the outbox are delivered every couple of seconds."
        ),
    )
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="public HTTPS URL Telegram should post updates to (default: long polling)",
    )
    run.add_argument(
        "--listen",
        default="127.0.0.1",
        help="address the webhook server binds (default: %(default)s)",
    )
    run.add_argument(
        "--port",
        type=int,
        default=8443,
        help="port the webhook server binds (default: %(default)s)",
    )
    run.add_argument(
        "--url-path",
        default=None,
        help="path the webhook server answers on (default: the path of --webhook URL)",
    )
    run.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="discard updates that arrived while the bot was down (default: handle them)",
    )
    run.set_defaults(handler=run_bot)


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.channels.telegram.application import (
        MissingTokenError,
        bot_token,
        build_application,
        polling,
        serving_webhook,
        webhook_secret_token,
    )

    try:
        bot_token(settings)
    except MissingTokenError as exc:
        print(f"needtotalk run: {exc}", file=sys.stderr)
        return 2

    from bot.services import build_services

    print("needtotalk run: preparing the database and models ...", file=sys.stderr)
    # Every acknowledgement and reply goes through the inbox and the outbox, which sync their
    # commits: the others need not wait for the disk (bot.store.engine.make_engine).
    services = build_services(settings, channel="telegram", warm_up=True, sync_every_commit=False)
    try:
        app = build_application(settings, services)
        if args.webhook:
            url_path = args.url_path if args.url_path is not None else urlsplit(args.webhook).path
            print(
                f"needtotalk run: serving the webhook on {args.listen}:{args.port} "
                f"(Ctrl+C to stop)",
                file=sys.stderr,
            )
            running = serving_webhook(
                app,
                webhook_url=args.webhook,
                secret_token=webhook_secret_token(settings),
                listen=args.listen,
                port=args.port,
                url_path=url_path.strip("/"),
                drop_pending_updates=args.drop_pending_updates,
            )
        else:
            print(
                f"needtotalk run: polling {settings.telegram_api_base_url} (Ctrl+C to stop)",
                file=sys.stderr,
            )
            running = polling(app, drop_pending_updates=args.drop_pending_updates)
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        # The models, policies and catalogs loaded above live as long as the process: kept out
        # of the cyclic garbage collector's full passes, which walked all of them (measured:
        # full passes of up to 0.76 s, every thread stopped, 4.4 s over a 30 s load run).
        gc.collect()
        gc.freeze()
        asyncio.run(_serve_until_signalled(running))
    except InvalidToken:
        print(
            "needtotalk run: Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather.",
            file=sys.stderr,
        )
        return 2
    except NetworkError as exc:
        print(
            f"needtotalk run: could not reach the Bot API at {settings.telegram_api_base_url} "
            f"({type(exc).__name__}).",
            file=sys.stderr,
        )
        return 1
    finally:
        services.close()
    return 0


async def _serve_until_signalled(running: AbstractAsyncContextManager[Any]) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly (lanes in progress finish)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running:
        await stop.wait()
