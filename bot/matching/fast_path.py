"""The feed's fast path: Lagrangian incumbent and bound, reduced-cost fixing, exact completion.

A per-request rebuild of the Pyomo model costs ~30 ms and HiGHS with defaults ~300 ms at seed 2's
scale (200 groups × 10). Persistence barely helps (HiGHS re-solves the MIP from scratch), so the
speed comes from the method (bot.matching.lagrangian): the Lagrangian bound is the LP bound, the
repaired subproblem answer is usually within a few tenths of a percent of it, a short search of
the "core" (items that could come close to the bound) improves it, and reduced-cost fixing then
removes nearly every item. What is left is searched exactly: by dynamic programming
(bot.matching.pareto_dp) when there are no author sets and one load row, else depth first
(bot.matching.branch_bound); HiGHS only if their budgets run out. When incumbent and bound are
already within `gap`, nothing is searched.

The guarantee is kept: "optimal" means proved within `gap`, by the bound, the search or HiGHS.
At the deadline the best known feasible answer is returned with status "feasible".
"""

from __future__ import annotations

import time

import numpy as np

from bot.matching.branch_bound import SearchResult, complete
from bot.matching.highs_direct import build_highs, run_highs
from bot.matching.lagrangian import Relaxation, relax
from bot.matching.pareto_dp import complete_by_dp, load_row
from bot.matching.problem import (
    DEFAULT_GAP,
    Arrays,
    IntArray,
    Problem,
    Solution,
    Status,
    infeasible,
    solution_from_indices,
)

CORE_SHARE = 4.0  # the core pass aims at a quarter of the bound-incumbent gap
CORE_NODE_BUDGET = 3_000


def within_gap(lower: float, upper: float, gap: float) -> bool:
    return upper - lower <= gap * max(abs(upper), 1e-12) + 1e-9


def solve_fast(
    problem: Problem, *, gap: float = DEFAULT_GAP, time_limit: float | None = None
) -> Solution:
    started = time.perf_counter()
    arrays = problem.arrays
    if np.any(arrays.capacities < 0):
        return infeasible("fast", started)
    fits = np.all(
        arrays.weights <= arrays.capacities + 1e-9 * np.maximum(1.0, np.abs(arrays.capacities)),
        axis=1,
    )
    usable = np.flatnonzero((arrays.values > 0) & fits)
    if len(usable) == 0:
        return solution_from_indices(
            arrays, np.empty(0, np.int64), 0.0, Status.OPTIMAL, "fast", started
        )
    relaxation = relax(arrays, usable, gap)
    details: dict[str, float] = {
        "lagrangian_bound": relaxation.upper,
        "incumbent": relaxation.lower,
        "evaluations": relaxation.evaluations,
        "kept_items": len(relaxation.keep),
        "fixed_in": len(relaxation.fixed_in),
        "relax_seconds": time.perf_counter() - started,
    }
    if within_gap(relaxation.lower, relaxation.upper, gap):
        return solution_from_indices(
            arrays, relaxation.incumbent, relaxation.upper, Status.OPTIMAL, "fast", started, details
        )
    deadline = None if time_limit is None else started + time_limit
    incumbent, lower, upper = relaxation.incumbent, relaxation.lower, relaxation.upper
    row = load_row(arrays, usable)
    details["search_kind"] = 0.0 if row is None else 1.0  # 0 depth-first, 1 dynamic programming

    def search(
        keep: IntArray, fixed_in: IntArray, start: IntArray, node_budget: int | None
    ) -> SearchResult:
        """Exact search over `keep` with `fixed_in` taken: DP where it applies, else DFS."""
        free = np.setdiff1d(keep, fixed_in)
        if row is not None:
            return complete_by_dp(
                arrays, relaxation.lam, relaxation.k, free, fixed_in, start, gap, row, deadline
            )
        return complete(
            arrays,
            relaxation.lam,
            relaxation.k,
            free,
            fixed_in,
            start,
            gap,
            deadline,
            node_budget=node_budget,
        )

    # Core pass: search only the items that could reach a value close to the bound. Finding a
    # better incumbent there first makes the exact fixing below far tighter.
    target = upper - max(gap, (upper - lower) / max(abs(upper), 1e-12) / CORE_SHARE) * abs(upper)
    if target > lower:
        core_keep, core_in = relaxation.fix(target, incumbent)
        core = search(core_keep, core_in, incumbent, CORE_NODE_BUDGET)
        details["core_nodes"] = core.nodes
        if core.value > lower:
            incumbent, lower = core.chosen, core.value
        if core.complete and lower >= target:
            # Every answer worth more than `target` was in the core, and it was searched.
            bound = min(upper, max(core.bound, lower))
            if within_gap(lower, bound, gap):
                return solution_from_indices(
                    arrays, incumbent, bound, Status.OPTIMAL, "fast", started, details
                )
    keep, fixed_in = relaxation.fix(lower, incumbent)
    details["kept_items"], details["fixed_in"] = len(keep), len(fixed_in)
    found = search(keep, fixed_in, incumbent, None)
    details["search_nodes"] = found.nodes
    details["search_seconds"] = time.perf_counter() - started - details["relax_seconds"]
    if found.complete:
        bound = min(relaxation.upper, max(found.bound, found.value))
        status = Status.OPTIMAL if within_gap(found.value, bound, gap) else Status.FEASIBLE
        return solution_from_indices(arrays, found.chosen, bound, status, "fast", started, details)
    return _finish_with_highs(
        arrays, relaxation, keep, fixed_in, found.chosen, gap, deadline, started, details
    )


def _finish_with_highs(
    arrays: Arrays,
    relaxation: Relaxation,
    keep: IntArray,
    fixed_in: IntArray,
    incumbent: IntArray,
    gap: float,
    deadline: float | None,
    started: float,
    details: dict[str, float],
) -> Solution:
    """The search ran out of nodes: HiGHS on the fixed model, started from the incumbent."""
    lower = float(arrays.values[incumbent].sum()) if len(incumbent) else 0.0
    remaining = None if deadline is None else deadline - time.perf_counter()
    if remaining is not None and remaining <= 0:
        return solution_from_indices(
            arrays, incumbent, relaxation.upper, Status.FEASIBLE, "fast", started, details
        )
    highs = build_highs(arrays, keep, fixed_in)
    outcome = run_highs(highs, keep, gap=gap, deadline_seconds=remaining, incumbent=incumbent)
    details["highs_seconds"] = time.perf_counter() - started
    if outcome.infeasible:
        # Fixing left no answer better than the incumbent: the incumbent is optimal.
        return solution_from_indices(
            arrays, incumbent, lower, Status.OPTIMAL, "fast", started, details
        )
    chosen = incumbent
    if outcome.chosen is not None and arrays.values[outcome.chosen].sum() > lower:
        chosen = outcome.chosen
    objective = float(arrays.values[chosen].sum()) if len(chosen) else 0.0
    # Every answer better than the incumbent is in the restricted model, so its bound (or the
    # incumbent, if that is higher) bounds the whole problem; the Lagrangian bound always does.
    bound = relaxation.upper
    if outcome.bound is not None:
        bound = min(bound, max(outcome.bound, lower))
    proved = outcome.optimal or within_gap(objective, bound, gap)
    status = Status.OPTIMAL if proved else Status.FEASIBLE
    return solution_from_indices(arrays, chosen, bound, status, "fast", started, details)
