"""Exact completion of the fast path: depth-first branch and bound on what fixing left free.

Used when the dynamic programme (bot.matching.pareto_dp) does not apply: with "one per author"
sets (the feed) or several load rows. After reduced-cost fixing (bot.matching.lagrangian) only
a few groups still have a choice. HiGHS's MIP machinery spends 70-300 ms even on such a tiny
model (root cuts and heuristics), more than the whole feed budget, so we finish the search
ourselves: groups in order of their best reduced value, each branch tries its items then
"nobody", and a node is cut when its Lagrangian bound (value so far + λ·residual + the best
reduced values of the k' groups still open, least over several multiples of λ) cannot beat the
incumbent by more than the allowed gap. Every node is itself a feasible answer (the open groups
may pick nobody), so the incumbent only improves. If the node budget runs out the caller falls
back to HiGHS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bot.matching.problem import Arrays, FloatArray, IntArray

NODE_BUDGET = 40_000  # ~0.1-0.2 s of search; past it HiGHS (with cuts) does better
MAX_GROUPS = 600  # recursion depth is one frame per open group
# Multipliers tried at each node, as multiples of the root's best: a node's bound is the least.
LAMBDA_SCALES = (
    1.0, 0.0, 0.35, 0.5, 0.65, 0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.35, 1.6, 2.0, 3.0, 5.0
)  # fmt: skip


@dataclass(frozen=True)
class SearchResult:
    chosen: IntArray  # best answer found (item indices into Arrays), fixed-in items included
    value: float
    bound: float  # proved bound for the restricted problem (answers better than the start)
    complete: bool  # False if the node budget or the deadline stopped the search
    nodes: int


@dataclass
class _Option:
    index: int
    value: float
    reduced: list[float]  # reduced value at each multiplier tried
    weights: list[float]
    sets: tuple[int, ...]


def complete(
    arrays: Arrays,
    lam: FloatArray,
    k: int,
    free: IntArray,
    fixed_in: IntArray,
    incumbent: IntArray,
    gap: float,
    deadline: float | None = None,
    node_budget: int | None = None,
) -> SearchResult:
    """Best answer containing `fixed_in` and any of `free`, within `gap` of the bound."""
    owner: dict[int, list[int]] = {}
    for s, members in enumerate(arrays.exclusive):
        for i in members.tolist():
            owner.setdefault(i, []).append(s)
    start_value = float(arrays.values[incumbent].sum()) if len(incumbent) else 0.0
    residual0 = arrays.capacities - arrays.weights[fixed_in].sum(axis=0)
    fixed_value = float(arrays.values[fixed_in].sum()) if len(fixed_in) else 0.0
    used_groups = set(arrays.group[fixed_in].tolist())
    fixed_sets = [s for i in fixed_in.tolist() for s in owner.get(i, ())]
    used_sets = set(fixed_sets)
    k_left = k - len(fixed_in)
    clash = len(used_sets) < len(fixed_sets) or len(used_groups) < len(fixed_in)
    if (
        clash
        or k_left < 0
        or np.any(residual0 < -1e-9 * np.maximum(1.0, np.abs(arrays.capacities)))
    ):
        # The fixed-in items do not fit together: no answer beats the incumbent.
        return SearchResult(incumbent, start_value, start_value, True, 0)

    budget = NODE_BUDGET if node_budget is None else node_budget
    relaxed = np.flatnonzero(lam > 0)
    scales = np.array(LAMBDA_SCALES) if len(relaxed) else np.ones(1)
    lams = scales[:, None] * lam[None, :]  # (T, r): several valid multipliers, one bound each
    reduced_t = arrays.values[None, :] - lams @ arrays.weights.T if arrays.n else lams[:, :0]
    by_group: dict[int, list[int]] = {}
    for i in free.tolist():
        g = int(arrays.group[i])
        if g in used_groups or any(s in used_sets for s in owner.get(i, ())):
            continue
        by_group.setdefault(g, []).append(i)
    reduced0 = reduced_t[0] if len(relaxed) else arrays.values
    groups = sorted(by_group.values(), key=lambda items: -max(reduced0[i] for i in items))
    options: list[list[_Option]] = []
    for items in groups:
        items.sort(key=lambda i: -reduced0[i])
        options.append(
            [
                _Option(
                    i,
                    float(arrays.values[i]),
                    reduced_t[:, i].tolist(),
                    arrays.weights[i].tolist(),
                    tuple(owner.get(i, ())),
                )
                for i in items
            ]
        )
    m = len(options)
    if m > MAX_GROUPS:  # too deep for a recursive search; the caller hands it to HiGHS
        return SearchResult(incumbent, start_value, np.inf, False, 0)
    t_count = len(scales)
    cap_k = max(min(k_left, m), 0)
    # suffix_top[t][p][c]: the sum of the c largest best reduced values (at multiplier t) among
    # groups p..m-1, c <= k'.
    suffix_top: list[list[list[float]]] = []
    for t in range(t_count):
        best = np.array([max(0.0, max(o.reduced[t] for o in opts)) for opts in options])
        per_p: list[list[float]] = []
        for p in range(m + 1):
            tail = np.sort(best[p:])[::-1][:cap_k]
            sums = [0.0, *np.cumsum(tail).tolist()]
            per_p.append(sums + [sums[-1]] * (cap_k + 1 - len(sums)))
        suffix_top.append(per_p)
    relaxed_rows = relaxed.tolist()
    lam_rows = [lams[t][relaxed].tolist() for t in range(t_count)]
    pairs = list(zip(lam_rows, suffix_top, strict=True))
    tol = 1e-9 * max(1.0, abs(start_value))

    best_value = start_value
    best_set: list[int] | None = None
    pruned_max = -np.inf  # highest bound among nodes cut only thanks to the gap
    nodes = 0
    stopped = False
    chosen: list[int] = []

    def node_bound(p: int, value: float, residual: list[float], k_open: int) -> float:
        """min over t of: value so far + λ_t·residual + the k' best reduced values left."""
        res = [residual[j] for j in relaxed_rows]
        c = min(k_open, cap_k)
        if len(res) == 1:
            r0 = res[0]
            best = min([lt[0] * r0 + tops[p][c] for lt, tops in pairs])
        else:
            best = min(
                [
                    sum(a * b for a, b in zip(lt, res, strict=True)) + tops[p][c]
                    for lt, tops in pairs
                ]
            )
        return fixed_value + value + best

    def dfs(p: int, value: float, residual: list[float], k_open: int, sets: set[int]) -> None:
        nonlocal best_value, best_set, pruned_max, nodes, stopped
        nodes += 1
        if nodes > budget or (
            deadline is not None and nodes & 255 == 1 and time.perf_counter() > deadline
        ):
            stopped = True
            return
        total = fixed_value + value
        if total > best_value + tol:
            best_value, best_set = total, list(chosen)
        bound = node_bound(p, value, residual, k_open)
        if bound <= best_value + tol:
            return
        if bound <= best_value + gap * abs(bound):
            pruned_max = max(pruned_max, bound)
            return
        if p == m:
            return
        if k_open > 0:
            for o in options[p]:
                if any(s in sets for s in o.sets):
                    continue
                left = [r - w for r, w in zip(residual, o.weights, strict=True)]
                if min(left) < -1e-9:
                    continue
                chosen.append(o.index)
                dfs(
                    p + 1, value + o.value, left, k_open - 1, sets.union(o.sets) if o.sets else sets
                )
                chosen.pop()
                if stopped:
                    return
        dfs(p + 1, value, residual, k_open, sets)

    root_bound = node_bound(0, 0.0, residual0.tolist(), k_left)
    dfs(0, 0.0, residual0.tolist(), k_left, used_sets)
    if best_set is None:
        result, value = incumbent, start_value
    else:
        result = np.sort(np.concatenate([fixed_in, np.array(best_set, dtype=np.int64)]))
        value = best_value
    bound = root_bound if stopped else max(value, pruned_max)
    return SearchResult(result, value, float(bound), not stopped, nodes)
