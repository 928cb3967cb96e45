"""The one entry point: `needtotalk <command>`.

Each command group lives in the module that owns its subject and exposes
`register(subparsers) -> None`; bot/features.py lists them. Modules are imported lazily, when
argparse is built, so `needtotalk --help` stays quick and a broken optional part cannot stop
`needtotalk chat` from starting. Every handler receives the parsed arguments and the Settings
built here, once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from bot.config import Settings
from bot.features import COMMANDS, modules_with
from bot.languages import LanguagePackError, activate

Handler = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="needtotalk",
        description=(
            "NeedToTalk: an anonymous peer-support bot. Start with `needtotalk chat` to talk to "
            "it in this terminal (offline, no token needed)."
        ),
    )
    parser.add_argument("--log-level", help="override LOG_LEVEL for this run (DEBUG, INFO, ...)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in modules_with(COMMANDS):
        importlib.import_module(module_name).register(subparsers)
    return parser


def configure_logging(level: str) -> None:
    """Logs carry event names and pseudonymous ids only; message text never goes above DEBUG."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL at INFO, and a Bot API URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per plugin and revision


def main(argv: Sequence[str] | None = None) -> int:
    # Settings first, so the language packs of its prompts directory are the languages the
    # commands' --language choices offer (bot/languages.py); a bad configuration is reported
    # once a command is chosen, so --help still works.
    settings: Settings | None = None
    error: ValueError | None = None
    try:
        settings = Settings()
    except ValueError as exc:
        error = exc
    if settings is not None:
        try:
            activate(settings.prompts_dir)
        except LanguagePackError as exc:  # `policies check` reports it in full; others warn
            print(f"needtotalk: language packs: {exc}", file=sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if args.command is None else 2
    if settings is None:
        print(f"needtotalk: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(args.log_level or settings.log_level)
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
