"""The knapsack MIP handed to HiGHS through highspy directly, with a deadline of our own.

The fast path uses this on the items reduced-cost fixing leaves; the benchmark uses it on whole
instances to compare. It states the same model as `knapsack.build_pyomo_model` (tests check that
both give the same objective). We build the column-wise matrix ourselves: Pyomo's build alone
costs ~30 ms at seed 2's scale, more than the whole fast path may take.

HiGHS's own `time_limit` was once ignored after presolve on a very large instance
(docs/knapsack.md, "Baselines"), so the solve runs in a worker thread that we stop
waiting for at the deadline; the caller then keeps its best known feasible answer.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import highspy
import numpy as np

from bot.matching.problem import Arrays, IntArray

# HiGHS may keep running after we stop waiting; say so once instead of hanging the request.
_GRACE_SECONDS = 0.05


@dataclass(frozen=True)
class HighsOutcome:
    chosen: IntArray | None  # item indices into Arrays; None if HiGHS found nothing
    bound: float | None  # proved upper bound on the objective of the model it was given
    optimal: bool  # HiGHS proved its answer within mip_rel_gap
    infeasible: bool
    timed_out: bool


def build_highs(
    arrays: Arrays,
    columns: IntArray,
    fixed_in: IntArray | None = None,
) -> highspy.Highs:
    """A HiGHS MIP over the items `columns` (indices into `arrays`); `fixed_in` are forced in."""
    n = len(columns)
    r = arrays.weights.shape[1]
    groups, group_row = np.unique(arrays.group[columns], return_inverse=True)
    g_count = len(groups)
    entries_rows = [group_row]
    entries_cols = [np.arange(n)]
    entries_vals = [np.ones(n)]
    for j in range(r):
        w = arrays.weights[columns, j]
        nz = np.flatnonzero(w)
        entries_rows.append(np.full(len(nz), g_count + j))
        entries_cols.append(nz)
        entries_vals.append(w[nz])
    position = {int(i): p for p, i in enumerate(columns.tolist())}
    set_rows = 0
    for members in arrays.exclusive:
        present = [position[i] for i in members.tolist() if i in position]
        if len(present) >= 2:
            entries_rows.append(np.full(len(present), g_count + r + set_rows))
            entries_cols.append(np.array(present, dtype=np.int64))
            entries_vals.append(np.ones(len(present)))
            set_rows += 1
    rows = np.concatenate(entries_rows).astype(np.int32)
    cols = np.concatenate(entries_cols).astype(np.int64)
    vals = np.concatenate(entries_vals)
    order = np.lexsort((rows, cols))
    start = np.searchsorted(cols[order], np.arange(n + 1)).astype(np.int32)

    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = g_count + r + set_rows
    lp.col_cost_ = -arrays.values[columns]  # HiGHS minimises
    lower = np.zeros(n)
    if fixed_in is not None and len(fixed_in):
        lower[np.isin(columns, fixed_in)] = 1.0
    lp.col_lower_ = lower
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(lp.num_row_, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.ones(g_count), arrays.capacities, np.ones(set_rows)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = rows[order]
    lp.a_matrix_.value_ = vals[order]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    highs = highspy.Highs()
    highs.silent()
    highs.passModel(lp)
    return highs


def run_highs(
    highs: highspy.Highs,
    columns: IntArray,
    *,
    gap: float,
    deadline_seconds: float | None,
    incumbent: IntArray | None = None,
) -> HighsOutcome:
    """Solve, starting from `incumbent` if given; give up waiting after `deadline_seconds`."""
    highs.setOptionValue("mip_rel_gap", gap)
    if deadline_seconds is not None:
        highs.setOptionValue("time_limit", max(deadline_seconds, 1e-3))
    if incumbent is not None and len(incumbent):
        start = np.isin(columns, incumbent).astype(float)
        solution = highspy.HighsSolution()
        solution.col_value = start
        solution.value_valid = True
        highs.setSolution(solution)
    highs.HandleUserInterrupt = True
    worker = threading.Thread(target=highs.run, name="highs", daemon=True)
    worker.start()
    worker.join(deadline_seconds)
    if worker.is_alive():
        highs.cancelSolve()
        worker.join(_GRACE_SECONDS)
        return HighsOutcome(None, None, False, False, True)
    status = highs.getModelStatus()
    if status in (highspy.HighsModelStatus.kInfeasible,):
        return HighsOutcome(None, None, False, True, False)
    info = highs.getInfo()
    bound = -info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else None
    optimal = status == highspy.HighsModelStatus.kOptimal
    if info.primal_solution_status != 2:  # 2 = kSolutionStatusFeasible
        return HighsOutcome(None, bound, False, False, False)
    values = np.asarray(highs.getSolution().col_value)
    chosen = columns[values > 0.5]
    return HighsOutcome(chosen, bound, optimal, False, False)
