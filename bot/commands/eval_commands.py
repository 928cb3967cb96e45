"""`needtotalk eval <subject>`: measurements for developers (docs/architecture.md: "measure them").

One `eval` group; each subject lives in the package it measures and adds itself through
`register_eval(eval_subparsers)`. To add one, list its module in bot/features.py.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from bot.config import Settings
from bot.features import EVAL, modules_with


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure a part of the bot (e.g. `eval assessment`)",
        description="Measure a part of the bot against scripted data; see each subject's --help.",
    )
    eval_subparsers = parser.add_subparsers(dest="eval_subject", metavar="SUBJECT")
    for module_name in modules_with(EVAL):
        importlib.import_module(module_name).register_eval(eval_subparsers)

    def show_help(args: argparse.Namespace, settings: Settings) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=show_help)
