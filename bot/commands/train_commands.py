"""`needtotalk train <model>`: one group; each model's trainer lives in the package it trains
and plugs in through `register_train(train_subparsers)` (listed in bot/features.py)."""

from __future__ import annotations

import argparse
import importlib

from bot.features import TRAIN, modules_with


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a model artefact",
        description="Train one of the bot's small learned artefacts.",
    )
    train_sub = train.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    for module_name in modules_with(TRAIN):
        importlib.import_module(module_name).register_train(train_sub)
