"""Exact completion by dynamic programming over (count, load) states, pruned by bounds.

The depth-first search (bot.matching.branch_bound) visits one node at a time in Python; on
instances whose LP bound sits far above the optimum it needs 10^4-10^5 nodes. When there are no
"one per author" sets and at most one relaxed row, the same search can run breadth-first on
numpy arrays instead: after each group the states are (items taken, load, value) triples; a
state is dropped when another with the same count has no more load and at least its value
(dominance), or when its Lagrangian bound (the branch and bound's) cannot beat the best state by
more than the gap. Every state is a feasible answer (the open groups may pick nobody), so the
best one is the incumbent. Exact, with no rounding of loads.
"""

from __future__ import annotations

import time

import numpy as np

from bot.matching.branch_bound import LAMBDA_SCALES, SearchResult
from bot.matching.problem import Arrays, FloatArray, IntArray

STATE_BUDGET = 400_000


def load_row(arrays: Arrays, usable: IntArray) -> int | None:
    """The one row the DP tracks as a load, -1 if none; None if the DP does not apply.

    It applies without exclusive sets and with at most one row whose weights differ between
    usable items (the others are count rows, enforced through k, or unused).
    """
    if arrays.exclusive:
        return None
    rows = [j for j in range(arrays.weights.shape[1]) if np.ptp(arrays.weights[usable, j]) > 0]
    if len(rows) > 1:
        return None
    return rows[0] if rows else -1


def complete_by_dp(
    arrays: Arrays,
    lam: FloatArray,
    k: int,
    free: IntArray,
    fixed_in: IntArray,
    incumbent: IntArray,
    gap: float,
    row: int,
    deadline: float | None = None,
) -> SearchResult:
    """Best answer containing `fixed_in` and any of `free`, within `gap` of the bound.

    `row` comes from `load_row`; -1 means every row is a count row.
    """
    start_value = float(arrays.values[incumbent].sum()) if len(incumbent) else 0.0
    residual_all = arrays.capacities - arrays.weights[fixed_in].sum(axis=0)
    fixed_value = float(arrays.values[fixed_in].sum()) if len(fixed_in) else 0.0
    used_groups = set(arrays.group[fixed_in].tolist())
    k_left = k - len(fixed_in)
    tol_cap = 1e-9 * np.maximum(1.0, np.abs(arrays.capacities))
    if len(used_groups) < len(fixed_in) or k_left < 0 or np.any(residual_all < -tol_cap):
        return SearchResult(incumbent, start_value, start_value, True, 0)
    # Rows other than `row` are count rows (equal weights, enforced through k) or unused.
    residual = float(residual_all[row]) + float(tol_cap[row]) if row >= 0 else np.inf

    candidates = [i for i in free.tolist() if int(arrays.group[i]) not in used_groups]
    multiplier = float(lam[row]) if row >= 0 else 0.0
    scales = np.array(LAMBDA_SCALES) if multiplier > 0 else np.ones(1)
    lam_row = scales * multiplier  # (T,)
    weights = arrays.weights[:, row] if row >= 0 else np.zeros(arrays.n)
    by_group: dict[int, list[int]] = {}
    for i in candidates:
        by_group.setdefault(int(arrays.group[i]), []).append(i)
    reduced0 = arrays.values - lam_row[0] * weights
    groups = sorted(by_group.values(), key=lambda items: -max(reduced0[i] for i in items))
    m = len(groups)
    cap_k = max(min(k_left, m), 0)
    # tops[t, p, c]: the c best reduced values (at multiplier t) among groups p..m-1.
    best_reduced = np.zeros((len(scales), m))
    for g, items in enumerate(groups):
        idx = np.array(items)
        red = arrays.values[idx][None, :] - lam_row[:, None] * weights[idx][None, :]
        best_reduced[:, g] = np.maximum(red.max(axis=1), 0.0)
    tops = np.zeros((len(scales), m + 1, cap_k + 1))
    for p in range(m):
        tail = -np.sort(-best_reduced[:, p:], axis=1)[:, :cap_k]
        tops[:, p, 1 : tail.shape[1] + 1] = np.cumsum(tail, axis=1)
        tops[:, p, tail.shape[1] + 1 :] = tops[:, p, tail.shape[1] : tail.shape[1] + 1]

    value = np.zeros(1)
    load = np.zeros(1)
    count = np.zeros(1, dtype=np.int64)
    parents: list[IntArray] = []
    picks: list[IntArray] = []
    best_total, best_at = start_value, None  # (step, state index)
    pruned_max = -np.inf
    offset = 2.0 * (float(np.abs(arrays.values).sum()) + 1.0)
    for p, items in enumerate(groups):
        if deadline is not None and time.perf_counter() > deadline:
            return SearchResult(incumbent, start_value, np.inf, False, p)
        idx = np.array(items, dtype=np.int64)
        s = len(value)
        o_value = arrays.values[idx]
        o_load = weights[idx]
        take_value = (value[:, None] + o_value[None, :]).ravel()
        take_load = (load[:, None] + o_load[None, :]).ravel()
        take_count = np.repeat(count + 1, len(idx))
        ok = (take_load <= residual) & (take_count <= k_left)
        value = np.concatenate([value, take_value[ok]])
        load = np.concatenate([load, take_load[ok]])
        parent = np.concatenate([np.arange(s), np.repeat(np.arange(s), len(idx))[ok]])
        pick = np.concatenate([np.full(s, -1), np.tile(idx, s)[ok]])
        count = np.concatenate([count, take_count[ok]])
        # Dominance within equal counts: sort by (count, load, −value), keep running records.
        order = np.lexsort((-value, load, count))
        keyed = value[order] + count[order] * offset
        record = np.concatenate([[-np.inf], np.maximum.accumulate(keyed)[:-1]])
        order = order[keyed > record]
        value, load, count = value[order], load[order], count[order]
        parent, pick = parent[order], pick[order]
        # Best state so far, then bounds.
        top = int(np.argmax(value))
        if fixed_value + value[top] > best_total + 1e-12:
            best_total, best_at = fixed_value + float(value[top]), (p, top)
        left = np.minimum(k_left - count, cap_k)
        bound = (
            fixed_value
            + value
            + np.min(
                lam_row[:, None] * (residual - load)[None, :] + tops[:, p + 1, :][:, left], axis=0
            )
        )
        keep = bound > best_total + gap * np.abs(bound)
        cut_by_gap = ~keep & (bound > best_total + 1e-9 * max(1.0, abs(best_total)))
        if np.any(cut_by_gap):
            pruned_max = max(pruned_max, float(bound[cut_by_gap].max()))
        if best_at is not None and best_at[0] == p:
            keep[top] = True  # keep the incumbent's chain reconstructible
            best_at = (p, int(np.count_nonzero(keep[:top])))
        value, load, count = value[keep], load[keep], count[keep]
        parents.append(parent[keep])
        picks.append(pick[keep])
        if len(value) > STATE_BUDGET:
            return SearchResult(incumbent, start_value, np.inf, False, p)
        if len(value) == 0:
            break
    if best_at is None:
        return SearchResult(incumbent, start_value, max(start_value, pruned_max), True, m)
    chosen: list[int] = []
    step, state = best_at
    while step >= 0:
        item = int(picks[step][state])
        if item >= 0:
            chosen.append(item)
        state = int(parents[step][state])
        step -= 1
    result = np.sort(np.concatenate([fixed_in, np.array(chosen, dtype=np.int64)]))
    return SearchResult(result, best_total, max(best_total, pruned_max), True, m)
