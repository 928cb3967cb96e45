"""The model of record: seed 2 §VI-C as a Pyomo ConcreteModel, solved by HiGHS.

Slow next to the fast path (it builds the model on every call), but plain to read and check:
every faster method is measured against it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyomo.environ as pe
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from bot.matching.problem import (
    EXACT_GAP,
    Arrays,
    Problem,
    Solution,
    Status,
    infeasible,
    solution_from_indices,
)


def build_pyomo_model(arrays: Arrays) -> object:
    """Seed 2 §VI-C as a Pyomo ConcreteModel: binary x_i, Σ v_i x_i → max, capacities, groups."""
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
