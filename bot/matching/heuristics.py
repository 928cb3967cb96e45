"""The comparison methods: seed 2's surrogate-constraint heuristic and a greedy baseline.

Neither proves optimality; both return status "feasible" with a cheap valid upper bound, so their
answers can be judged against the exact optimum (`needtotalk experiment knapsack`).

Surrogate constraints (seed 2 §VI-A, after its refs. [16]-[18]): the capacity rows are combined
with weights u ≥ 0 into one row Σ_j u_j w_ij / b_j ≤ Σ_j u_j, the one-constraint multiple-choice
knapsack is solved by dynamic programming on a grid of the combined capacity, and u is searched
over a grid. Rounding the combined weights up keeps the DP's answer inside the surrogate row;
rounding them down makes the DP a relaxation, whose value bounds the optimum. A DP answer can
still break an original row, so it is repaired (keep what fits, fill greedily).
"""

from __future__ import annotations

import time

import numpy as np

from bot.matching.problem import (
    Arrays,
    FloatArray,
    IntArray,
    Problem,
    Solution,
    Status,
    infeasible,
    solution_from_indices,
)

SURROGATE_RESOLUTION = 400  # grid steps of the combined capacity
SURROGATE_MULTIPLIERS = 9  # points searched for u


class Packer:
    """Adds items one at a time while the answer stays feasible."""

    def __init__(self, arrays: Arrays) -> None:
        self.arrays = arrays
        self.owner: dict[int, list[int]] = {}
        for s, members in enumerate(arrays.exclusive):
            for i in members.tolist():
                self.owner.setdefault(i, []).append(s)
        self.groups: set[int] = set()
        self.sets: set[int] = set()
        self.load = [0.0] * arrays.weights.shape[1]
        limit = arrays.capacities + 1e-9 * np.maximum(1.0, np.abs(arrays.capacities))
        self.limit: list[float] = limit.tolist()
        self.chosen: list[int] = []

    def add(self, i: int) -> bool:
        g = int(self.arrays.group[i])
        sets = self.owner.get(i, ())
        if g in self.groups or (sets and any(s in self.sets for s in sets)):
            return False
        load = [a + b for a, b in zip(self.load, self.arrays.weights[i].tolist(), strict=True)]
        if any(a > b for a, b in zip(load, self.limit, strict=True)):
            return False
        self.load = load
        self.groups.add(g)
        self.sets.update(sets)
        self.chosen.append(i)
        return True

    def result(self) -> IntArray:
        return np.array(sorted(self.chosen), dtype=np.int64)


def usable_items(arrays: Arrays) -> IntArray:
    """Items that can appear in an optimal answer at all: positive value, fit on their own."""
    fits = np.all(
        arrays.weights <= arrays.capacities + 1e-9 * np.maximum(1.0, np.abs(arrays.capacities)),
        axis=1,
    )
    return np.flatnonzero((arrays.values > 0) & fits)


def count_limit(arrays: Arrays, usable: IntArray) -> int:
    """The most items any answer can hold: groups, and rows where every item weighs the same."""
    k = arrays.n_groups
    for j in range(arrays.weights.shape[1]):
        w = arrays.weights[usable, j]
        if len(w) and w.max() > 0 and np.ptp(w) == 0:
            k = min(k, int(np.floor(arrays.capacities[j] / w[0] + 1e-9)))
    return max(k, 0)


def simple_bound(arrays: Arrays, usable: IntArray) -> float:
    """Σ of the best value of each group, over the most groups a count row allows."""
    best = np.zeros(arrays.n_groups)
    np.maximum.at(best, arrays.group[usable], arrays.values[usable])
    return float(np.sort(best)[::-1][: count_limit(arrays, usable)].sum())


def fill(packer: Packer, order: IntArray, limit: int) -> None:
    """Add items in `order` while they fit, stopping once `limit` items are in."""
    for i in order.tolist():
        if len(packer.chosen) >= limit:
            return
        packer.add(i)


def efficiency(arrays: Arrays, items: IntArray) -> FloatArray:
    """Value per unit of capacity used, each row measured as a share of its capacity."""
    share = arrays.weights[items] / np.maximum(arrays.capacities, 1e-12)
    return arrays.values[items] / np.maximum(share.sum(axis=1), 1e-12)


def solve_greedy(problem: Problem) -> Solution:
    """Take items by value per unit of (normalised) weight while they fit."""
    started = time.perf_counter()
    arrays = problem.arrays
    if np.any(arrays.capacities < 0):
        return infeasible("greedy", started)
    usable = usable_items(arrays)
    packer = Packer(arrays)
    fill(
        packer,
        usable[np.argsort(-efficiency(arrays, usable), kind="stable")],
        count_limit(arrays, usable),
    )
    bound = simple_bound(arrays, usable)
    return solution_from_indices(arrays, packer.result(), bound, Status.FEASIBLE, "greedy", started)


def _mckp_dp(
    arrays: Arrays, usable: IntArray, size: IntArray, resolution: int
) -> tuple[float, IntArray]:
    """One-row multiple-choice knapsack by DP: best value and items at capacity `resolution`."""
    groups, local = np.unique(arrays.group[usable], return_inverse=True)
    dp = np.zeros(resolution + 1)
    choice = np.full((len(groups), resolution + 1), -1, dtype=np.int32)
    order = np.argsort(local, kind="stable")
    bounds = np.searchsorted(local[order], np.arange(len(groups) + 1))
    capacity = np.arange(resolution + 1)
    for g in range(len(groups)):
        members = order[bounds[g] : bounds[g + 1]]
        offset = capacity[None, :] - size[members][:, None]  # (K, D+1): capacity left before
        values = np.where(
            offset >= 0,
            dp[np.clip(offset, 0, None)] + arrays.values[usable[members]][:, None],
            -np.inf,
        )
        pick = values.argmax(axis=0)
        best = values[pick, capacity]
        better = best > dp
        choice[g] = np.where(better, members[pick], -1)
        dp = np.where(better, best, dp)
    picked: list[int] = []
    c = resolution
    for g in range(len(groups) - 1, -1, -1):
        m = int(choice[g, c])
        if m >= 0:
            picked.append(int(usable[m]))
            c -= int(size[m])
    return float(dp[resolution]), np.array(sorted(picked), dtype=np.int64)


def _multipliers(r: int, count: int) -> list[FloatArray]:
    if r == 1:
        return [np.ones(1)]
    if r == 2:
        return [np.array([1.0 - t, t]) for t in np.linspace(0.0, 1.0, count)]
    rng = np.random.default_rng(0)
    return [np.full(r, 1.0 / r), *rng.dirichlet(np.ones(r), count - 1)]


def solve_surrogate(
    problem: Problem,
    resolution: int = SURROGATE_RESOLUTION,
    multipliers: int = SURROGATE_MULTIPLIERS,
) -> Solution:
    """Seed 2 §VI-A: search surrogate multipliers, DP each one-row problem, repair, keep best."""
    started = time.perf_counter()
    arrays = problem.arrays
    if np.any(arrays.capacities < 0):
        return infeasible("surrogate", started)
    usable = usable_items(arrays)
    r = arrays.weights.shape[1]
    if len(usable) == 0 or r == 0:
        packer = Packer(arrays)
        for i in usable[np.argsort(-arrays.values[usable])].tolist():
            packer.add(i)
        return solution_from_indices(
            arrays,
            packer.result(),
            simple_bound(arrays, usable),
            Status.FEASIBLE,
            "surrogate",
            started,
        )
    share = arrays.weights[usable] / np.maximum(arrays.capacities, 1e-12)
    best: IntArray = np.empty(0, np.int64)
    best_value = -np.inf
    bound = simple_bound(arrays, usable)
    limit = count_limit(arrays, usable)
    by_efficiency = usable[np.argsort(-efficiency(arrays, usable), kind="stable")]
    for u in _multipliers(r, multipliers):
        combined = share @ u / u.sum() * resolution
        relaxed_value, _ = _mckp_dp(
            arrays, usable, np.floor(combined + 1e-9).astype(np.int64), resolution
        )
        bound = min(bound, relaxed_value)
        _, picked = _mckp_dp(arrays, usable, np.ceil(combined - 1e-9).astype(np.int64), resolution)
        packer = Packer(arrays)
        fill(packer, picked[np.argsort(-arrays.values[picked])], limit)
        fill(packer, by_efficiency, limit)
        value = float(arrays.values[packer.chosen].sum()) if packer.chosen else 0.0
        if value > best_value:
            best, best_value = packer.result(), value
    return solution_from_indices(arrays, best, bound, Status.FEASIBLE, "surrogate", started)
