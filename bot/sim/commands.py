"""`needtotalk experiment knapsack`: seed 2's population, pipeline and 16 knapsack settings."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.matching.knapsack import METHODS


def command_group(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> Any:
    """The `name` group's own subparsers, created once even if several modules add to it."""
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        parser.set_defaults(handler=lambda args, settings: (parser.print_help(), 2)[1])
        return parser.add_subparsers(dest=f"{name}_command", metavar="NAME")
    for action in parser._actions:  # argparse keeps a group's subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=f"{name}_command", metavar="NAME")


def register(subparsers: argparse._SubParsersAction) -> None:
    register_simulate(subparsers)
    group = command_group(subparsers, "experiment", "reproduce the seed papers' experiments")
    parser = group.add_parser(
        "knapsack",
        help="seed 2: who connects with a level-3 reader, 16 knapsack settings",
        description=(
            "Build seed 2's population from synthetic Japanese posts (2,000 people, 500 per "
            "mood level), run its pipeline on the text (fugashi + unidic-lite, Tohoku polarity "
            "dictionary, the level rules of §V-B1), solve all 16 settings with the exact model "
            "and the fast, surrogate and greedy methods, and print the per-level counts beside "
            "Tables I-IV. Parameters default to policies/knapsack.yaml (experiment:)."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--chart",
        type=Path,
        default=Path("var/knapsack-seed2.png"),
        help="where to write the PNG chart (default: %(default)s)",
    )
    parser.add_argument("--no-chart", action="store_true", help="do not write the chart")
    parser.add_argument("--policy", type=Path, help="another knapsack policy YAML")
    parser.add_argument("--seed", type=int, help="generator seed")
    parser.add_argument("--people-per-level", type=int, help="people kept per level (500)")
    parser.add_argument("--posts-per-person", type=int, help="posts written per person")
    parser.add_argument("--b1", type=int, nargs="+", help="limits on how many (20 40 60 80)")
    parser.add_argument("--alpha", type=float, nargs="+", help="Pos() alphas (0.25 0.1667)")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(METHODS),
        help="methods to run (default: all); counts are reported for exact if it runs",
    )
    parser.set_defaults(handler=run_knapsack_experiment)


def run_knapsack_experiment(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    from bot.matching.knapsack_policy import load_knapsack_policy
    from bot.sim.seed2 import run_experiment, stderr_progress
    from bot.sim.seed2_report import experiment_json, render_tables, write_chart

    try:
        policy = load_knapsack_policy(args.policy).experiment
        overrides = {
            "seed": args.seed,
            "people_per_level": args.people_per_level,
            "posts_per_person": args.posts_per_person,
            "b1": tuple(args.b1) if args.b1 else None,
            "alphas": tuple(args.alpha) if args.alpha else None,
        }
        data = policy.model_dump()
        data.update({k: v for k, v in overrides.items() if v is not None})
        policy = type(policy).model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        print(f"needtotalk experiment knapsack: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = run_experiment(policy, tuple(args.methods), stderr_progress)
    chart = None
    if not args.no_chart:
        chart = write_chart(result, args.chart)
        print(f"chart written to {chart}", file=sys.stderr)
    print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.json:
        payload = experiment_json(result)
        payload["chart"] = None if chart is None else str(chart)
        print(json.dumps(payload))
    else:
        print(render_tables(result))
    return 0


def register_simulate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="synthetic people through the learners, the feed and the store: learning curves",
        description=(
            "Run synthetic people whose hidden response to each card type differs by class and "
            "emotion (and drifts), and whose days bring setbacks, through the real learners, "
            "LearningService and feed knapsack (policies/learning.yaml, simulation:). Four arms "
            "on identical people and days: the Thompson "
            "learner, seed 1's Q-table, a random policy and an oracle. Prints mean reward per "
            "check-in (seed 1's rise in satisfaction) and writes the learning curves as a PNG."
        ),
    )
    parser.add_argument("--people", type=int, default=1000, help="people (default: %(default)s)")
    parser.add_argument("--days", type=int, default=30, help="days (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default: %(default)s)")
    parser.add_argument(
        "--store",
        choices=("memory", "sqlite"),
        default="memory",
        help="where the learners' cells and events live: memory (default) or one SQLite "
        "database per arm; the figures are identical, SQLite is several times slower",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--chart",
        type=Path,
        default=Path("var/learning-curves.png"),
        help="where to write the PNG (default: %(default)s)",
    )
    parser.add_argument("--no-chart", action="store_true", help="do not write the chart")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.learning.policy import load_learning_policy
    from bot.matching.knapsack_policy import load_knapsack_policy
    from bot.sim.learning_report import render_summary, simulation_json, write_curves
    from bot.sim.learning_sim import ARMS, run_simulation

    if args.people < 1 or args.days < 1:
        print("needtotalk simulate: --people and --days must be at least 1", file=sys.stderr)
        return 2
    policy = load_learning_policy(settings.policies_dir / "learning.yaml")
    knapsack = load_knapsack_policy(settings.policies_dir / "knapsack.yaml")
    total = args.people * args.days * len(ARMS)
    with tqdm(total=total, unit="person-day", disable=args.no_progress, file=sys.stderr) as bar:
        result = run_simulation(
            args.people,
            args.days,
            args.seed,
            policy,
            knapsack,
            workers=args.workers,
            tick=lambda: bar.update(1),
            store=args.store,
        )
    chart = None if args.no_chart else write_curves(result, args.chart)
    if chart is not None:
        print(f"learning curves written to {chart}", file=sys.stderr)
    if args.json:
        payload = simulation_json(result, policy.default_learner)
        payload["chart"] = None if chart is None else str(chart)
        print(json.dumps(payload))
    else:
        print(render_summary(result, policy.default_learner))
    return 0
