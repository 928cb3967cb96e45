"""Lagrangian bound, incumbent and reduced-cost fixing for the multiple-choice knapsack.

Seed 2 §VI-A reduces its two constraints to one (the surrogate-constraint method) to get a quick
approximate answer. We use the Lagrangian cousin of that idea because it also *proves* things:

- A row whose weights are all the same (seed 2's g1, "how many") stays in the subproblem as "at
  most k groups"; every other row j (g2, "days per post") moves into the objective with a
  multiplier λ_j ≥ 0. For any λ, L(λ) = λ·b + Σ_top-k max(0, max_i∈g (v_i − λ·w_i)) bounds the
  optimum from above, and one multiplier is found exactly by a search on a convex piecewise-linear
  function of one variable. The subproblem's constraint matrix is totally unimodular, so the best
  L(λ) equals the LP relaxation bound, which on seed 2's data is within ~0.02 % of the optimum
  (docs/knapsack.md, "Baselines").
- The subproblem's answer, repaired (exclusive sets, capacities) and filled greedily, is a good
  incumbent.
- Reduced-cost fixing: forcing item i in (or out) changes the bound in closed form. Any item whose
  forced bound is below the incumbent cannot be in a better answer and is dropped; any item whose
  exclusion bound is below the incumbent must be in every better answer. What is left is small.

Exclusive sets (one card per author) are ignored by the relaxation, which keeps every bound valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.matching.incumbent import repair
from bot.matching.problem import Arrays, FloatArray, IntArray

_MAX_SEARCH_STEPS = 60


@dataclass(frozen=True)
class Layout:
    """Usable items packed as a dense (groups × slots) table, padded with −inf values."""

    index: IntArray  # (G, K) item index into Arrays, −1 for padding
    values: FloatArray  # (G, K)
    weights: FloatArray  # (r, G, K), 0 for padding
    k: int  # at most k groups may be used (from count rows); G if there is none
    relaxed: tuple[int, ...]  # rows moved into the objective

    @classmethod
    def build(cls, arrays: Arrays, usable: IntArray) -> Layout:
        group = arrays.group[usable]
        groups, local = np.unique(group, return_inverse=True)
        order = np.argsort(local, kind="stable")
        counts = np.bincount(local, minlength=len(groups))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        slot = np.arange(len(usable)) - np.repeat(starts, counts)
        g_count, k_max = len(groups), int(counts.max())
        index = np.full((g_count, k_max), -1, dtype=np.int64)
        index[local[order], slot] = usable[order]
        values = np.full((g_count, k_max), -np.inf)
        values[local[order], slot] = arrays.values[usable[order]]
        r = arrays.weights.shape[1]
        weights = np.zeros((r, g_count, k_max))
        weights[:, local[order], slot] = arrays.weights[usable[order]].T
        k, relaxed = g_count, []
        for j in range(r):
            w = arrays.weights[usable, j]
            if w.max() <= 0.0:
                continue  # nothing usable consumes this capacity
            if np.ptp(w) == 0.0:  # a count row: at most floor(b / w) groups
                k = min(k, int(np.floor(arrays.capacities[j] / w[0] + 1e-9)))
            else:
                relaxed.append(j)
        return cls(index, values, weights, k, tuple(relaxed))


@dataclass(frozen=True)
class Evaluation:
    lam: FloatArray
    bound: float
    subgradient: FloatArray  # b − load of the subproblem's answer, per row
    chosen: IntArray  # item indices (into Arrays) of the subproblem's answer
    reduced: FloatArray  # (G, K) reduced values v − λ·w
    best: FloatArray  # (G,) max(0, best reduced value)
    arg: IntArray  # (G,) slot of the best reduced value
    top: IntArray  # groups in the subproblem's answer


def evaluate(layout: Layout, arrays: Arrays, lam: FloatArray) -> Evaluation:
    """L(λ) and the subproblem's answer: best item per group, then the k best groups."""
    reduced = layout.values.copy()
    for j in layout.relaxed:
        if lam[j]:
            reduced -= lam[j] * layout.weights[j]
    arg = reduced.argmax(axis=1)
    rows = np.arange(len(arg))
    best = np.maximum(reduced[rows, arg], 0.0)
    positive = np.flatnonzero(best > 0.0)
    if len(positive) > layout.k:
        top = positive[np.argpartition(-best[positive], layout.k - 1)[: layout.k]]
    else:
        top = positive
    chosen = layout.index[top, arg[top]]
    bound = float(lam @ arrays.capacities + best[top].sum())
    subgradient = arrays.capacities - arrays.weights[chosen].sum(axis=0)
    return Evaluation(lam, bound, subgradient, chosen, reduced, best, arg, top)


def _search_row(layout: Layout, arrays: Arrays, lam: FloatArray, j: int) -> list[Evaluation]:
    """Minimise L along λ_j (others fixed) by intersecting supporting lines; exact, finite."""
    seen: list[Evaluation] = []

    def at(t: float) -> Evaluation:
        point = lam.copy()
        point[j] = t
        result = evaluate(layout, arrays, point)
        seen.append(result)
        return result

    low = at(0.0)
    if low.subgradient[j] >= 0:
        return seen
    w = layout.weights[j]
    others = layout.values - np.tensordot(np.delete(lam, j), np.delete(layout.weights, j, 0), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(w > 0, others / np.where(w > 0, w, 1.0), 0.0)
    high = at(max(float(ratio.max()), 0.0) * (1 + 1e-12) + 1e-12)
    a, c = low, high
    for _ in range(_MAX_SEARCH_STEPS):
        ta, tc = a.lam[j], c.lam[j]
        ga, gc = a.subgradient[j], c.subgradient[j]
        if tc - ta <= 1e-13 * (1.0 + tc):
            break
        t = (c.bound - a.bound + ga * ta - gc * tc) / (ga - gc)
        floor = a.bound + ga * (t - ta)  # both lines support L: min L >= this
        if not ta < t < tc:
            t = 0.5 * (ta + tc)
            floor = -np.inf
        mid = at(float(t))
        if mid.bound <= floor + 1e-12 * max(1.0, abs(mid.bound)):
            break
        if mid.subgradient[j] < 0:
            a = mid
        else:
            c = mid
    return seen


@dataclass(frozen=True)
class Relaxation:
    upper: float  # proved bound on the optimum
    incumbent: IntArray  # a feasible answer (item indices)
    lower: float  # its value
    keep: IntArray  # items that may still be in a better answer
    fixed_in: IntArray  # items that must be in any better answer
    evaluations: int
    lam: FloatArray  # the multipliers of the bound (0 for rows kept in the subproblem)
    k: int  # at most this many groups (count rows)
    layout: Layout
    at: Evaluation  # the subproblem at the best multipliers

    def fix(self, lower: float, incumbent: IntArray) -> tuple[IntArray, IntArray]:
        """Reduced-cost fixing against another incumbent value (see `fix`)."""
        return fix(self.layout, self.at, lower, incumbent)


def relax(arrays: Arrays, usable: IntArray, gap: float = 0.0) -> Relaxation:
    """Best Lagrangian bound, a repaired incumbent, and what reduced-cost fixing leaves."""
    layout = Layout.build(arrays, usable)
    lam = np.zeros(arrays.weights.shape[1])
    history = [evaluate(layout, arrays, lam)]
    if layout.k <= 0:
        empty = np.empty(0, np.int64)
        return Relaxation(0.0, empty, 0.0, empty, empty, 1, lam, 0, layout, history[0])
    rounds = 1 if len(layout.relaxed) <= 1 else 4
    for _ in range(rounds):
        for j in layout.relaxed:
            found = _search_row(layout, arrays, lam, j)
            history.extend(found)
            lam = min(found, key=lambda e: e.bound).lam
    best = min(history, key=lambda e: e.bound)
    # Just above the best multipliers the subproblem's answer is feasible and nearly optimal.
    above = best.lam.copy()
    rows = list(layout.relaxed)
    above[rows] = above[rows] * (1 + 1e-9) + 1e-12
    history.append(evaluate(layout, arrays, above))
    feasible = [e for e in history if np.all(e.subgradient >= -1e-9)]
    start = max(feasible, key=lambda e: arrays.values[e.chosen].sum()).chosen if feasible else None
    rc = np.full(arrays.n, -np.inf)
    live = layout.index >= 0
    rc[layout.index[live]] = best.reduced[live]
    good_enough = best.bound - gap * abs(best.bound)  # no need to search further
    incumbent = repair(arrays, rc, layout.k, start, good_enough)
    lower = float(arrays.values[incumbent].sum())
    keep, fixed_in = fix(layout, best, lower, incumbent)
    return Relaxation(
        best.bound, incumbent, lower, keep, fixed_in, len(history), best.lam, layout.k, layout, best
    )


def fix(
    layout: Layout, at: Evaluation, lower: float, incumbent: IntArray
) -> tuple[IntArray, IntArray]:
    """Reduced-cost fixing at λ: items kept (may beat `lower`) and items that must be in."""
    g_count = len(at.best)
    in_top = np.zeros(g_count, dtype=bool)
    in_top[at.top] = True
    full = len(at.top) >= layout.k
    kth = float(at.best[at.top].min()) if full and len(at.top) else 0.0
    outside = at.best[~in_top]
    next_best = float(outside.max()) if full and len(outside) else 0.0
    threshold = np.where(in_top, at.best, kth)  # what forcing an item of group g displaces
    forced_in = at.bound - threshold[:, None] + at.reduced  # bound with item forced in
    tol = 1e-9 * max(1.0, abs(lower))
    live = layout.index >= 0
    keep_mask = live & (forced_in >= lower - tol)
    keep_mask[np.isin(layout.index, incumbent)] = True
    keep = np.sort(layout.index[keep_mask])
    # Forcing the subproblem's item of a top group out: that group falls back to its second
    # best, or the best group outside the top takes its place.
    rows = np.flatnonzero(in_top)
    second = at.reduced[rows].copy()
    second[np.arange(len(rows)), at.arg[rows]] = -np.inf
    fallback = np.maximum(np.maximum(second.max(axis=1), 0.0), next_best)
    forced_out = at.bound - at.best[rows] + fallback
    must = rows[forced_out < lower - tol]
    fixed_in = layout.index[must, at.arg[must]]
    return keep, np.sort(fixed_in)
