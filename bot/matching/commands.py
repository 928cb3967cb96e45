"""`needtotalk knapsack solve FILE`: one knapsack instance from JSON, answered in JSON.

Input: {"groups": [[{"id": "a", "value": 1.5, "weights": [1, 0.4]}, ...], ...],
        "capacities": [20, 4.0], "method": "exact", "exclusive": [["a", "b"], ...]}
("method" and "exclusive" are optional). Output: {"selected": [...], "objective": x,
"bound": y, "status": "optimal" | "feasible" | "infeasible", "seconds": s, "method": m}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.matching.knapsack import METHODS, Item, Problem, solve


class InputError(ValueError):
    """The instance file is not what `knapsack solve` reads; the message says where."""


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "knapsack",
        help="solve knapsack instances (seed 2's model)",
        description="Seed 2's multiple-choice knapsack: at most one item per group, capacities.",
    )
    group.set_defaults(handler=lambda args, settings: (group.print_help(), 2)[1])
    commands = group.add_subparsers(dest="knapsack_command", metavar="NAME")
    parser = commands.add_parser(
        "solve",
        help="solve one instance given as JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="instance JSON file, or - for standard input")
    parser.add_argument("--method", choices=METHODS, help="overrides the file's method")
    parser.add_argument("--gap", type=float, help="relative gap for exact/fast")
    parser.add_argument("--time-limit", type=float, help="seconds for exact/fast")
    parser.set_defaults(handler=run_solve)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: expected a number, got {json.dumps(value)}")
    return float(value)


def parse_instance(data: Any) -> tuple[Problem, str | None]:
    """Validate the JSON structure and build the Problem; errors name the bad field."""
    if not isinstance(data, dict):
        raise InputError("top level: expected an object with 'groups' and 'capacities'")
    for key in ("groups", "capacities"):
        if key not in data:
            raise InputError(f"missing '{key}'")
    if not isinstance(data["capacities"], list):
        raise InputError("capacities: expected a list of numbers")
    capacities = [_number(c, f"capacities[{i}]") for i, c in enumerate(data["capacities"])]
    if not isinstance(data["groups"], list):
        raise InputError("groups: expected a list of groups (lists of items)")
    groups: list[list[Item]] = []
    for g, group in enumerate(data["groups"]):
        if not isinstance(group, list):
            raise InputError(f"groups[{g}]: expected a list of items")
        items = []
        for i, raw in enumerate(group):
            where = f"groups[{g}][{i}]"
            if not isinstance(raw, dict) or not {"id", "value", "weights"} <= raw.keys():
                raise InputError(f"{where}: expected an object with id, value and weights")
            if not isinstance(raw["weights"], list):
                raise InputError(f"{where}.weights: expected a list of numbers")
            items.append(
                Item(
                    str(raw["id"]),
                    _number(raw["value"], f"{where}.value"),
                    tuple(
                        _number(w, f"{where}.weights[{j}]") for j, w in enumerate(raw["weights"])
                    ),
                )
            )
        groups.append(items)
    exclusive = data.get("exclusive", [])
    if not isinstance(exclusive, list) or not all(isinstance(s, list) for s in exclusive):
        raise InputError("exclusive: expected a list of lists of item ids")
    method = data.get("method")
    if method is not None and method not in METHODS:
        raise InputError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    try:
        problem = Problem.build(groups, capacities, [[str(i) for i in s] for s in exclusive])
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    return problem, method


def run_solve(args: argparse.Namespace, settings: Settings) -> int:
    name = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except OSError as exc:
        print(f"needtotalk knapsack solve: cannot read {name}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        print(
            f"needtotalk knapsack solve: {name} is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})",
            file=sys.stderr,
        )
        return 2
    try:
        problem, method = parse_instance(data)
    except InputError as exc:
        print(f"needtotalk knapsack solve: {name}: {exc}", file=sys.stderr)
        return 2
    solution = solve(
        problem, args.method or method or "exact", gap=args.gap, time_limit=args.time_limit
    )
    print(json.dumps(solution.as_json()))
    return 0
