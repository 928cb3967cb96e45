"""The multiple-choice knapsack of seed 2 §VI: one `solve()` and its method registry.

`solve(problem, method=...)` is the one entry point. Methods:
- "exact": the Pyomo model solved by HiGHS (bot.matching.exact_model). The model of record.
- "fast": Lagrangian bound and incumbent, reduced-cost fixing, HiGHS on what is left
  (bot.matching.fast_path); same answer within the proved gap, much quicker.
- "surrogate": seed 2 §VI-A's surrogate-constraint heuristic (bot.matching.heuristics).
- "greedy": a greedy baseline (bot.matching.heuristics).

The problem and answer types live in bot.matching.problem and are re-exported here, so callers
import what they need from this one module.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.matching.exact_model import build_pyomo_model, solve_exact
from bot.matching.fast_path import solve_fast
from bot.matching.heuristics import solve_greedy, solve_surrogate
from bot.matching.problem import (
    DEFAULT_GAP,
    EXACT_GAP,
    Arrays,
    Item,
    Problem,
    Solution,
    Status,
)

__all__ = [
    "METHODS",
    "Arrays",
    "Item",
    "Problem",
    "Solution",
    "Status",
    "build_pyomo_model",
    "solve",
    "solve_exact",
]

Method = Callable[..., Solution]

_METHODS: dict[str, Method] = {
    "exact": solve_exact,
    "fast": solve_fast,
    "surrogate": solve_surrogate,
    "greedy": solve_greedy,
}
_GAPPED = frozenset({"exact", "fast"})  # the methods that take a gap and a time limit

METHODS: tuple[str, ...] = tuple(_METHODS)


def solve(
    problem: Problem,
    method: str = "fast",
    *,
    gap: float | None = None,
    time_limit: float | None = None,
) -> Solution:
    """Solve `problem` with the named method; `gap` and `time_limit` apply to exact and fast."""
    chosen = _METHODS.get(method)
    if chosen is None:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method in _GAPPED:
        chosen_gap = gap if gap is not None else (EXACT_GAP if method == "exact" else DEFAULT_GAP)
        return chosen(problem, gap=chosen_gap, time_limit=time_limit)
    return chosen(problem)
