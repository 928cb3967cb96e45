"""The multiple-choice knapsack of seed 2 §VI, and its model of record: Pyomo solved by HiGHS.

Seed 2 (knapsack-connections-mood-disorders.txt) picks connections with a nonlinear knapsack:
candidates in groups (Fig. 4), at most one per group, maximise Σ Pos() subject to g1 (how many,
≤ b1) and g2 (days per post, ≤ b2). We state it generally: items in groups, each with a value
and a weight vector, one capacity per weight, at most one item per group, and optional extra
"at most one of these" sets (one card per author in the feed). Weights must be non-negative, so
taking nothing is feasible whenever every capacity is ≥ 0.

`solve(problem, method=...)` is the one entry point. Methods:
- "exact": the Pyomo model below, solved by HiGHS. This is the model of record.
- "fast": Lagrangian bound and incumbent, reduced-cost fixing, HiGHS on what is left
  (bot.matching.fast_path); same answer within the proved gap, much quicker.
- "surrogate": seed 2 §VI-A's surrogate-constraint heuristic (bot.matching.heuristics).
- "greedy": a greedy baseline (bot.matching.heuristics).

A Solution is "optimal" only when a solver proved its objective within the requested relative gap
of the best bound (HiGHS's own meaning of optimal with `mip_rel_gap`); otherwise "feasible".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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


# --- the model of record -------------------------------------------------------------------


def build_pyomo_model(arrays: Arrays) -> object:
    """Seed 2 §VI-C as a Pyomo ConcreteModel: binary x_i, Σ v_i x_i → max, capacities, groups."""
    import pyomo.environ as pe

    model = pe.ConcreteModel(name="needtotalk_knapsack")
    model.I = pe.RangeSet(0, arrays.n - 1) if arrays.n else pe.Set(initialize=[])
    model.x = pe.Var(model.I, domain=pe.Binary)
    values = arrays.values.tolist()
    model.value = pe.Objective(expr=sum(values[i] * model.x[i] for i in model.I), sense=pe.maximize)
    members: list[list[int]] = [[] for _ in range(arrays.n_groups)]
    for i, g in enumerate(arrays.group.tolist()):
        members[g].append(i)
    model.G = pe.Set(initialize=[g for g, m in enumerate(members) if len(m) > 1])
    model.one_per_group = pe.Constraint(
        model.G, rule=lambda m, g: sum(m.x[i] for i in members[g]) <= 1
    )
    weights = arrays.weights.T.tolist()
    capacities = arrays.capacities.tolist()
    model.R = pe.RangeSet(0, len(capacities) - 1) if capacities else pe.Set(initialize=[])

    def capacity_rule(m: object, j: int) -> object:
        terms = [weights[j][i] * model.x[i] for i in model.I if weights[j][i] != 0.0]
        if not terms:  # a capacity no item uses: feasible iff it is non-negative
            return pe.Constraint.Feasible if capacities[j] >= 0 else pe.Constraint.Infeasible
        return sum(terms) <= capacities[j]

    model.capacity = pe.Constraint(model.R, rule=capacity_rule)
    sets = [s.tolist() for s in arrays.exclusive]
    model.S = pe.RangeSet(0, len(sets) - 1) if sets else pe.Set(initialize=[])
    model.at_most_one = pe.Constraint(model.S, rule=lambda m, s: sum(m.x[i] for i in sets[s]) <= 1)
    return model


def solve_exact(
    problem: Problem, *, gap: float = EXACT_GAP, time_limit: float | None = None
) -> Solution:
    """Build the Pyomo model and solve it with HiGHS; status comes from the solver only."""
    from pyomo.contrib.solver.common.factory import SolverFactory
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

    started = time.perf_counter()
    arrays = problem.arrays
    if np.any(arrays.capacities < 0):
        # Pyomo folds a constraint without variables into a constant; HiGHS never sees it.
        return infeasible("exact", started)
    if arrays.n == 0:
        return solution_from_indices(
            arrays, np.empty(0, np.int64), 0.0, Status.OPTIMAL, "exact", started
        )
    model = build_pyomo_model(arrays)
    built = time.perf_counter()
    solver = SolverFactory("highs")
    options: dict[str, object] = {"mip_rel_gap": gap, "log_to_console": False}
    kwargs: dict[str, object] = {}
    if time_limit is not None:
        kwargs["time_limit"] = max(time_limit - (built - started), 0.001)
    result = solver.solve(
        model,
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        solver_options=options,
        **kwargs,
    )
    details = {"build_seconds": built - started}
    if result.termination_condition in (
        TerminationCondition.provenInfeasible,
        TerminationCondition.infeasibleOrUnbounded,
    ):
        return infeasible("exact", started)
    if result.termination_condition == TerminationCondition.error:
        raise RuntimeError("HiGHS stopped with an error on the knapsack model")
    if result.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal):
        result.solution_loader.load_vars()
        x = model.x  # type: ignore[attr-defined]
        chosen = np.array([i for i in range(arrays.n) if (x[i].value or 0.0) > 0.5], np.int64)
    else:  # stopped (time limit) before any answer: taking nothing is always feasible here
        chosen = np.empty(0, np.int64)
    proved = result.termination_condition == TerminationCondition.convergenceCriteriaSatisfied
    bound = result.objective_bound
    return solution_from_indices(
        arrays,
        chosen,
        float(bound) if bound is not None and math.isfinite(bound) else None,
        Status.OPTIMAL if proved else Status.FEASIBLE,
        "exact",
        started,
        details,
    )


Method = Callable[..., Solution]


def _methods() -> dict[str, Method]:
    from bot.matching.fast_path import solve_fast
    from bot.matching.heuristics import solve_greedy, solve_surrogate

    return {
        "exact": solve_exact,
        "fast": solve_fast,
        "surrogate": solve_surrogate,
        "greedy": solve_greedy,
    }


METHODS: tuple[str, ...] = ("exact", "fast", "surrogate", "greedy")


def solve(
    problem: Problem,
    method: str = "fast",
    *,
    gap: float | None = None,
    time_limit: float | None = None,
) -> Solution:
    """Solve `problem` with the named method; `gap` and `time_limit` apply to exact and fast."""
    methods = _methods()
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method in ("exact", "fast"):
        chosen_gap = gap if gap is not None else (EXACT_GAP if method == "exact" else DEFAULT_GAP)
        return methods[method](problem, gap=chosen_gap, time_limit=time_limit)
    return methods[method](problem)
