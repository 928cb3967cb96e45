"""Numeric seed-2-like knapsack instances at any scale, for benchmarks and tests.

The text pipeline (bot.sim.seed2) is the faithful way to build seed 2's instance, but reading
200,000 people's posts would take minutes. These instances draw the pipeline's outputs directly:
per level, a log-normal pos/neg ratio (lower at higher levels) and a log-normal days per post
(smaller at higher levels); groups of ten sorted by ratio, as in seed 2 §VII-A2.
"""

from __future__ import annotations

import numpy as np

from bot.matching.knapsack import Item, Problem

_RATIO_MEDIAN = (1.3, 1.05, 0.9, 0.8)
_DAYS_MEDIAN = (1.0, 0.62, 0.38, 0.2)


def seed2_like_instance(
    groups: int,
    b1: int,
    days_share: float,
    *,
    alpha: float = 0.25,
    reader_level: int = 3,
    group_size: int = 10,
    seed: int = 0,
) -> Problem:
    """`groups` groups (a quarter per level) of `group_size`; capacities (b1, share · b1)."""
    rng = np.random.default_rng(seed)
    per_level = max(groups // 4, 1)
    built: list[list[Item]] = []
    for level in range(4):
        n = per_level * group_size
        ratio = _RATIO_MEDIAN[level] * np.exp(rng.normal(0.0, 0.45, n))
        days = _DAYS_MEDIAN[level] * np.exp(rng.normal(0.0, 0.5, n))
        order = np.argsort(-ratio)
        value = ratio * (1.0 + alpha * (level - reader_level))
        for g in range(per_level):
            members = order[g * group_size : (g + 1) * group_size]
            built.append(
                [
                    Item(f"{level}-{i}", float(value[i]), (1.0, float(days[i])))
                    for i in members.tolist()
                ]
            )
    return Problem.build(built, [float(b1), days_share * b1])
