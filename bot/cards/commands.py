"""`needtotalk scrub`: run the card scrubber on text from standard input.

For developers checking what a card would look like after scrubbing, and for shell pipelines.
The text is read from stdin (never from an argument, so it stays out of shell history).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cards.identifying import identifying_names
from bot.cards.scrub import scrub
from bot.config import Settings
from bot.domain import AuthorNames
from bot.languages import languages


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scrub",
        help="mask emails, phones, links, handles, ids, addresses and names in text from stdin",
        description=(
            "Read text on standard input and print it as a card would carry it: emails, phone "
            "numbers, links, handles, long id-like numbers, street addresses and postcodes, "
            "introduced and signed names (and the --first-name/--last-name/--username given) "
            "are masked. "
            "Example: echo 'mail me: a@b.com' | needtotalk scrub"
        ),
    )
    parser.add_argument(
        "--lang",
        choices=languages(),
        default=None,
        help="language of the masks (default: guessed from the text)",
    )
    # The author's names, as Telegram would pass them, to try the own-name masking. They are
    # arguments for convenience in testing only; real names should not go into shell history.
    parser.add_argument("--first-name", default=None, help="the author's first name, to mask")
    parser.add_argument("--last-name", default=None, help="the author's last name, to mask")
    parser.add_argument("--username", default=None, help="the author's username, to mask")
    parser.add_argument(
        "--identifying",
        action="store_true",
        help="with --json, also list organisation and place names that may identify the author",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON object with the scrubbed text, removed kinds and a summary",
    )
    parser.set_defaults(handler=run_scrub)


def run_scrub(args: argparse.Namespace, settings: Settings) -> int:
    """Scrub stdin to stdout; exit 0 whether or not anything was removed."""
    text = sys.stdin.read()
    names = AuthorNames(args.first_name, args.last_name, args.username)
    result = scrub(text, args.lang, author_names=names)
    if args.json:
        lang = args.lang or settings.default_language
        payload: dict[str, object] = {
            "text": result.text,
            "removed": [r.kind.value for r in result.removed],
            "counts": {k.value: n for k, n in result.counts().items()},
            "summary": result.summary(lang),
        }
        if args.identifying:
            payload["identifying"] = list(identifying_names(result.text, args.lang))
        print(json.dumps(payload, ensure_ascii=False))
    else:
        sys.stdout.write(result.text)
    return 0
