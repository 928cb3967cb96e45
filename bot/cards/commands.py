"""`needtotalk scrub`: run the card scrubber on text from standard input.

For developers checking what a card would look like after scrubbing, and for shell pipelines.
The text is read from stdin (never from an argument, so it stays out of shell history).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cards.scrub import scrub
from bot.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scrub",
        help="mask emails, phone numbers, links, @handles, ids and names in text from stdin",
        description=(
            "Read text on standard input and print it as a card would carry it: emails, phone "
            "numbers, links, @handles, long id-like numbers and introduced names are masked. "
            "Example: echo 'mail me: a@b.com' | needtotalk scrub"
        ),
    )
    parser.add_argument(
        "--lang",
        choices=("en", "ja"),
        default=None,
        help="language of the masks (default: guessed from the text)",
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
    result = scrub(text, args.lang)
    if args.json:
        lang = args.lang or settings.default_language
        payload = {
            "text": result.text,
            "removed": [r.kind.value for r in result.removed],
            "counts": {k.value: n for k, n in result.counts().items()},
            "summary": result.summary(lang),
        }
        print(json.dumps(payload, ensure_ascii=False))
    else:
        sys.stdout.write(result.text)
    return 0
