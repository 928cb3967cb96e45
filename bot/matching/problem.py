"""The knapsack's problem and answer types, shared by every method (seed 2 §VI).

Seed 2 picks connections with a nonlinear knapsack: candidates in groups (Fig. 4), at most one
per group, maximise Σ Pos() subject to g1 (how many, ≤ b1) and g2 (days per post, ≤ b2). Stated
generally here: items in groups, each with a value and a weight vector, one capacity per weight,
at most one item per group, and optional extra "at most one of these" sets (one card per author in
the feed). Weights must be non-negative, so taking nothing is feasible whenever every capacity is
≥ 0.

A Solution is "optimal" only when a solver proved its objective within the requested relative gap
of the best bound (HiGHS's own meaning of optimal with `mip_rel_gap`); otherwise "feasible".

The import chain is one-way: problem ← exact_model, fast_path, heuristics ← knapsack (the
dispatcher), so no module needs an import inside a function to break a cycle.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_GAP = 1e-4  # HiGHS's default mip_rel_gap: 0.01 %
EXACT_GAP = 1e-9  # the model of record closes the gap completely


class Status(StrEnum):
    OPTIMAL = "optimal"  # proved within the requested gap
    FEASIBLE = "feasible"  # a valid selection, optimality not proved (heuristic, deadline)
    INFEASIBLE = "infeasible"  # no selection satisfies the capacities


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    value: float
    weights: tuple[float, ...]


@dataclass(frozen=True)
class Problem:
    """Groups of items, capacities, and extra at-most-one sets of item ids."""

    groups: tuple[tuple[Item, ...], ...]
    capacities: tuple[float, ...]
    exclusive: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        r = len(self.capacities)
        seen: set[str] = set()
        for c in self.capacities:
            if not math.isfinite(c):
                raise ValueError(f"capacity {c!r} is not a finite number")
        for group in self.groups:
            for item in group:
                if item.id in seen:
                    raise ValueError(f"item id {item.id!r} appears more than once")
                seen.add(item.id)
                if not math.isfinite(item.value):
                    raise ValueError(f"item {item.id!r}: value {item.value!r} is not finite")
                if len(item.weights) != r:
                    raise ValueError(
                        f"item {item.id!r} has {len(item.weights)} weights but there are "
                        f"{r} capacities"
                    )
                if any(not math.isfinite(w) or w < 0 for w in item.weights):
                    raise ValueError(f"item {item.id!r}: weights must be finite and >= 0")
        for members in self.exclusive:
            unknown = members - seen
            if unknown:
                raise ValueError(f"exclusive set names unknown item ids {sorted(unknown)[:3]}")

    @classmethod
    def build(
        cls,
        groups: Iterable[Iterable[Item]],
        capacities: Sequence[float],
        exclusive: Iterable[Iterable[str]] = (),
    ) -> Problem:
        return cls(
            groups=tuple(tuple(g) for g in groups),
            capacities=tuple(float(c) for c in capacities),
            exclusive=tuple(frozenset(s) for s in exclusive),
        )

    @cached_property
    def arrays(self) -> Arrays:
        return Arrays.from_problem(self)


@dataclass(frozen=True)
class Arrays:
    """The problem as flat numpy arrays, built once and shared by every method."""

    ids: tuple[str, ...]
    values: FloatArray  # (n,)
    weights: FloatArray  # (n, r)
    group: IntArray  # (n,) group index of each item
    n_groups: int
    capacities: FloatArray  # (r,)
    exclusive: tuple[IntArray, ...]  # item indices of each at-most-one set (size ≥ 2 only)

    @classmethod
    def from_problem(cls, problem: Problem) -> Arrays:
        ids = tuple(item.id for g in problem.groups for item in g)
        r = len(problem.capacities)
        values = np.fromiter((it.value for g in problem.groups for it in g), float, len(ids))
        weights = np.array([it.weights for g in problem.groups for it in g], dtype=float).reshape(
            len(ids), r
        )
        group = np.repeat(np.arange(len(problem.groups)), [len(g) for g in problem.groups])
        index = {item_id: i for i, item_id in enumerate(ids)}
        exclusive = tuple(
            np.array(sorted(index[i] for i in s), dtype=np.int64)
            for s in problem.exclusive
            if len(s) >= 2
        )
        return cls(
            ids=ids,
            values=values,
            weights=weights,
            group=group.astype(np.int64),
            n_groups=len(problem.groups),
            capacities=np.array(problem.capacities, dtype=float),
            exclusive=exclusive,
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def is_feasible(self, chosen: IntArray, tol: float = 1e-9) -> bool:
        if len(np.unique(self.group[chosen])) != len(chosen):
            return False
        load = self.weights[chosen].sum(axis=0)
        if np.any(load > self.capacities + tol * np.maximum(1.0, np.abs(self.capacities))):
            return False
        members = set(chosen.tolist())
        return all(len(members.intersection(s.tolist())) <= 1 for s in self.exclusive)


@dataclass(frozen=True)
class Solution:
    selected: tuple[str, ...]
    objective: float
    bound: float | None  # best proved upper bound on the objective; None if the method has none
    status: Status
    method: str
    seconds: float
    details: Mapping[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap (bound − objective) / |bound|, as HiGHS measures it."""
        if self.bound is None or self.status is Status.INFEASIBLE:
            return None
        if self.bound == self.objective:
            return 0.0
        return (self.bound - self.objective) / max(abs(self.bound), 1e-12)

    def as_json(self) -> dict[str, object]:
        return {
            "selected": list(self.selected),
            "objective": self.objective,
            "bound": self.bound,
            "status": self.status.value,
            "method": self.method,
            "seconds": self.seconds,
        }


def infeasible(method: str, started: float) -> Solution:
    return Solution((), 0.0, None, Status.INFEASIBLE, method, time.perf_counter() - started)


def solution_from_indices(
    arrays: Arrays,
    chosen: IntArray,
    bound: float | None,
    status: Status,
    method: str,
    started: float,
    details: Mapping[str, float] | None = None,
) -> Solution:
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    objective = float(arrays.values[chosen].sum()) if len(chosen) else 0.0
    if bound is not None:
        bound = max(bound, objective)  # rounding must never report a bound below the answer
    return Solution(
        selected=tuple(arrays.ids[i] for i in chosen),
        objective=objective,
        bound=bound,
        status=status,
        method=method,
        seconds=time.perf_counter() - started,
        details=dict(details or {}),
    )
