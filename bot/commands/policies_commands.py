"""`needtotalk policies check`: validate policies/, prompts/ and kb/ against their schemas."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.config import Settings


def register(subparsers: Any) -> None:
    policies = subparsers.add_parser(
        "policies",
        help="check the YAML rules, card types, prompts and kb/ cards",
        description="Developer tools for the data in policies/, prompts/ and kb/.",
    )
    sub = policies.add_subparsers(
        dest="policies_command", metavar="POLICIES_COMMAND", required=True
    )
    check = sub.add_parser(
        "check",
        help="validate every file that has a registered schema; exit 1 on any problem",
        description=(
            "Validate each YAML file in policies/ and prompts/ with the pydantic schema its "
            "module registered (the parts bot/features.py lists), plus cross-file checks such "
            "as kb/ front matter against the card types. Prints one line per problem."
        ),
    )
    check.add_argument("-v", "--verbose", action="store_true", help="list every file checked")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.policies import check_all, checked_files

    if args.verbose:
        for relative, schemas in checked_files(settings):
            print(f"{relative}: {', '.join(schemas) or '(no schema registered)'}", file=sys.stderr)
    problems = check_all(settings)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("policies ok", file=sys.stderr)
    return 0
