"""A good feasible answer from the Lagrangian subproblem: repair, fill, then improving swaps.

The better the incumbent, the more items reduced-cost fixing removes and the smaller the exact
search that follows (bot.matching.branch_bound), so a few vectorised local-search rounds pay for
themselves many times over.
"""

from __future__ import annotations

import numpy as np

from bot.matching.heuristics import Packer
from bot.matching.problem import Arrays, FloatArray, IntArray

_FILL_CANDIDATES = 4096
_SWAP_CANDIDATES = 160
_SWAP_ROUNDS = 60
_MOVES_TRIED = 32


def repair(
    arrays: Arrays,
    reduced: FloatArray,
    k: int,
    start: IntArray | None,
    good_enough: float = np.inf,
) -> IntArray:
    """Keep what fits of `start` (best reduced value first), fill, then improve by swaps.

    `reduced` holds each item's reduced value at the Lagrangian multipliers, −inf for items that
    cannot be used at all. Local search is skipped once the answer is worth `good_enough`.
    """
    packer = Packer(arrays)
    if start is not None:
        for i in start[np.argsort(-reduced[start], kind="stable")].tolist():
            packer.add(i)
    candidates = np.flatnonzero(reduced > -np.inf)
    if len(candidates) > _FILL_CANDIDATES:
        part = np.argpartition(-reduced[candidates], _FILL_CANDIDATES - 1)[:_FILL_CANDIDATES]
        candidates = candidates[part]
    for i in candidates[np.argsort(-reduced[candidates], kind="stable")].tolist():
        if len(packer.chosen) >= k:
            break
        packer.add(i)
    result = packer.result()
    if len(result) and arrays.values[result].sum() >= good_enough:
        return result
    return improve_by_swaps(arrays, result, reduced, k, packer.owner)


def _best_of_chosen_groups(arrays: Arrays, chosen: IntArray, usable: IntArray) -> IntArray:
    if len(chosen) > _SWAP_CANDIDATES:
        return np.empty(0, np.int64)
    mates = usable[np.isin(arrays.group[usable], arrays.group[chosen])]
    if len(mates) > _SWAP_CANDIDATES:
        mates = mates[np.argpartition(-arrays.values[mates], _SWAP_CANDIDATES - 1)]
        mates = mates[:_SWAP_CANDIDATES]
    return mates


def improve_by_swaps(
    arrays: Arrays,
    chosen: IntArray,
    reduced: FloatArray,
    k: int,
    owner: dict[int, list[int]],
) -> IntArray:
    """Best-improvement local search: add one item, or swap one chosen item for another."""
    usable = np.flatnonzero(reduced > -np.inf)
    limit = arrays.capacities + 1e-9 * np.maximum(1.0, np.abs(arrays.capacities))
    if len(usable) > _SWAP_CANDIDATES:
        # The items most worth adding by reduced value, and the best few of the chosen groups.
        top = usable[np.argpartition(-reduced[usable], _SWAP_CANDIDATES - 1)[:_SWAP_CANDIDATES]]
        usable = np.union1d(top, _best_of_chosen_groups(arrays, chosen, usable))
    current = chosen.copy()
    for _ in range(_SWAP_ROUNDS):
        others = usable[~np.isin(usable, current)]
        if len(others) == 0:
            break
        load = arrays.weights[current].sum(axis=0)
        free_group = ~np.isin(arrays.group[others], arrays.group[current])
        w_others = arrays.weights[others]
        v_others = arrays.values[others]
        # Row 0: add an item (if the count allows); row 1 + a: swap current[a] for it.
        add_ok = free_group & np.all(load + w_others <= limit, axis=1)
        gain_add = np.where(add_ok, v_others, -np.inf) if len(current) < k else None
        if len(current):
            swap_load = load - arrays.weights[current]  # (c, r)
            fits = np.ones((len(current), len(others)), dtype=bool)
            for j in range(len(limit)):
                fits &= swap_load[:, j, None] + w_others[None, :, j] <= limit[j]
            same_group = arrays.group[current][:, None] == arrays.group[others][None, :]
            ok = fits & (same_group | free_group[None, :])
            gain_swap = np.where(ok, v_others[None, :] - arrays.values[current][:, None], -np.inf)
        else:
            gain_swap = np.empty((0, len(others)))
        gains = gain_swap if gain_add is None else np.vstack([gain_swap, gain_add[None, :]])
        flat = gains.ravel()
        count = min(_MOVES_TRIED, len(flat))
        top = np.argpartition(-flat, count - 1)[:count]
        top = top[np.argsort(-flat[top])]
        applied = False
        for cell in top.tolist():
            if not flat[cell] > 1e-12:
                break
            position, column = divmod(cell, len(others))
            trial = current.tolist()
            if position < len(current):
                trial.pop(position)
            item = int(others[column])
            taken = {s for i in trial for s in owner.get(i, ())}
            if any(s in taken for s in owner.get(item, ())):
                continue
            trial.append(item)
            current = np.array(sorted(trial), dtype=np.int64)
            applied = True
            break
        if not applied:
            break
    return current
