"""`needtotalk chat`: talk to the bot in this terminal."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.config import Settings
from bot.languages import languages


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chat = subparsers.add_parser(
        "chat",
        help="talk to NeedToTalk in this terminal (offline: SQLite, no token, no key)",
        description=(
            "Runs the same conversation as the Telegram bot in this terminal. Numbered options "
            "stand for buttons: type the number to pick one. State is kept in DATABASE_URL "
            "(default: a SQLite file under ./var), so you can stop and come back."
        ),
    )
    chat.add_argument(
        "--user",
        default="local",
        help="who you are in this terminal (use two names in two terminals to play two people)",
    )
    chat.add_argument(
        "--language",
        default=None,
        choices=languages(),
        help="a language pack's code (default: NEEDTOTALK_DEFAULT_LANGUAGE)",
    )
    chat.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.console import CHANNEL, run_console
    from bot.services import build_services

    if args.log_level is None:  # the terminal is the conversation: keep log lines out of it
        logging.getLogger().setLevel(logging.ERROR)
    print("Starting NeedToTalk: loading the language models (a few seconds)…", file=sys.stderr)
    services = build_services(settings, channel=CHANNEL, warm_up=True)
    try:
        return run_console(
            services.conversation,
            services.outbox,
            user_ref=args.user,
            language=args.language or settings.default_language,
        )
    finally:
        services.close()
