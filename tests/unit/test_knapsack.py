"""The knapsack methods against brute force, and against each other on seed-2-sized instances."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matching import branch_bound, fast_path, pareto_dp
from bot.matching.highs_direct import build_highs, run_highs
from bot.matching.knapsack import METHODS, Item, Problem, Status, solve


def brute_force(problem: Problem) -> float:
    """Best objective over every way to pick at most one item per group."""
    arrays = problem.arrays
    choices = [[None, *range(len(g))] for g in problem.groups]
    best = 0.0
    offsets = np.cumsum([0, *[len(g) for g in problem.groups]])
    for combo in itertools.product(*choices):
        chosen = np.array(
            [offsets[g] + c for g, c in enumerate(combo) if c is not None], dtype=np.int64
        )
        if arrays.is_feasible(chosen, tol=0.0):
            best = max(best, float(arrays.values[chosen].sum()) if len(chosen) else 0.0)
    return best


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    n_groups = draw(st.integers(0, 5))
    r = draw(st.integers(1, 3))
    count_row = r >= 2 and draw(st.booleans())  # seed 2's g1: every item weighs 1
    groups = []
    for g in range(n_groups):
        size = draw(st.integers(1, 3))
        groups.append(
            [
                Item(
                    f"g{g}i{i}",
                    draw(st.floats(-1.0, 10.0, allow_nan=False).map(lambda x: round(x, 3))),
                    tuple(
                        1.0
                        if count_row and j == 0
                        else draw(st.floats(0.0, 5.0, allow_nan=False).map(lambda x: round(x, 3)))
                        for j in range(r)
                    ),
                )
                for i in range(size)
            ]
        )
    capacities = [draw(st.floats(0.0, 8.0).map(lambda x: round(x, 2))) for _ in range(r)]
    ids = [it.id for g in groups for it in g]
    exclusive = []
    if ids and draw(st.booleans()):
        # "authors": every item gets one of a few owners; at most one item per owner
        owners = draw(st.lists(st.integers(0, 3), min_size=len(ids), max_size=len(ids)))
        for owner in set(owners):
            exclusive.append([i for i, o in zip(ids, owners, strict=True) if o == owner])
    return Problem.build(groups, capacities, exclusive)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_every_method_is_feasible_and_the_exact_ones_match_brute_force(problem: Problem) -> None:
    optimum = brute_force(problem)
    for method in METHODS:
        result = solve(problem, method)
        index = {item_id: i for i, item_id in enumerate(problem.arrays.ids)}
        chosen = np.array([index[i] for i in result.selected], dtype=np.int64)
        assert problem.arrays.is_feasible(chosen), method
        assert result.objective <= optimum + 1e-7, method
        assert result.bound is not None and result.bound >= optimum - 1e-7, method
        if method in ("exact", "fast"):
            assert result.status is Status.OPTIMAL, method
            assert result.objective >= optimum - 1e-4 * max(1.0, optimum) - 1e-6, method
        else:
            assert result.status is Status.FEASIBLE


@st.composite
def feed_like_problems(draw: st.DrawFn) -> Problem:
    """Bigger than brute force allows: groups, a count row, a load row and shared authors."""
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    n_groups = draw(st.integers(3, 14))
    authors = draw(st.integers(2, 12))
    groups, owners = [], {}
    for g in range(n_groups):
        size = int(rng.integers(1, 6))
        items = []
        for i in range(size):
            item_id = f"{g}.{i}"
            owners.setdefault(int(rng.integers(authors)), []).append(item_id)
            items.append(Item(item_id, float(rng.gamma(2.0)), (1.0, float(rng.gamma(1.5)))))
        groups.append(items)
    b1 = draw(st.integers(1, 8))
    return Problem.build(groups, [b1, b1 * draw(st.floats(0.2, 2.0))], list(owners.values()))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feed_like_problems())
def test_fast_path_matches_the_model_of_record_with_shared_authors(problem: Problem) -> None:
    exact = solve(problem, "exact")
    fast = solve(problem, "fast")
    index = {item_id: i for i, item_id in enumerate(problem.arrays.ids)}
    assert problem.arrays.is_feasible(np.array([index[i] for i in fast.selected], dtype=np.int64))
    assert fast.status is Status.OPTIMAL
    assert fast.objective == pytest.approx(exact.objective, rel=1e-4, abs=1e-9)
    assert fast.bound is not None and fast.bound >= exact.objective - 1e-7


def seed2_like(groups: int, b1: int, days_share: float, seed: int) -> Problem:
    """Four levels, groups of ten, Pos()-like values, days per post smaller at higher levels."""
    rng = np.random.default_rng(seed)
    n = groups * 10
    level = np.repeat(np.arange(4), n // 4)
    ratio = np.exp(rng.normal(0.3 - 0.2 * level, 0.4))
    days = np.exp(rng.normal(-0.5 * level, 0.8))
    value = ratio * (1 + 0.25 * (level - 3))
    items = [
        [
            Item(f"{g}-{j}", float(value[g * 10 + j]), (1.0, float(days[g * 10 + j])))
            for j in range(10)
        ]
        for g in range(groups)
    ]
    return Problem.build(items, [b1, b1 * days_share])


@pytest.mark.parametrize(("b1", "share", "seed"), [(40, 0.2, 1), (80, 0.2, 2), (20, 0.5, 0)])
def test_fast_path_agrees_with_the_pyomo_model_of_record(b1: int, share: float, seed: int) -> None:
    problem = seed2_like(200, b1, share, seed)
    exact = solve(problem, "exact")
    fast = solve(problem, "fast", gap=1e-4)
    assert exact.status is Status.OPTIMAL and fast.status is Status.OPTIMAL
    assert fast.objective == pytest.approx(exact.objective, rel=1e-4)
    assert fast.bound is not None and fast.bound >= exact.objective - 1e-6
    assert fast.gap is not None and fast.gap <= 1e-4 + 1e-12


def test_highs_direct_states_the_same_model_as_pyomo() -> None:
    problem = seed2_like(40, 12, 0.2, 5)
    arrays = problem.arrays
    columns = np.arange(arrays.n)
    outcome = run_highs(build_highs(arrays, columns), columns, gap=1e-9, deadline_seconds=30)
    assert outcome.optimal and outcome.chosen is not None
    assert arrays.values[outcome.chosen].sum() == pytest.approx(solve(problem, "exact").objective)


def test_fast_path_falls_back_to_highs_when_the_search_budget_runs_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = seed2_like(200, 40, 0.2, 1)  # fixing leaves ~60 free items here
    monkeypatch.setattr(branch_bound, "NODE_BUDGET", 5)
    monkeypatch.setattr(fast_path, "CORE_NODE_BUDGET", 5)
    monkeypatch.setattr(pareto_dp, "STATE_BUDGET", 1)
    fast = solve(problem, "fast")
    assert "highs_seconds" in fast.details
    assert fast.status is Status.OPTIMAL
    assert fast.objective == pytest.approx(solve(problem, "exact").objective, rel=1e-4)


def test_a_past_deadline_returns_the_best_known_feasible_answer() -> None:
    problem = seed2_like(200, 40, 0.2, 1)
    started = time.perf_counter()
    result = solve(problem, "fast", time_limit=1e-9)
    assert time.perf_counter() - started < 5
    assert result.status is Status.FEASIBLE  # the bound alone does not close this one
    index = {item_id: i for i, item_id in enumerate(problem.arrays.ids)}
    chosen = np.array([index[i] for i in result.selected], dtype=np.int64)
    assert problem.arrays.is_feasible(chosen)
    assert result.objective > 0.9 * solve(problem, "exact").objective


def test_per_author_sets_hold_even_when_the_authors_best_cards_are_everywhere() -> None:
    # Every group's best item belongs to author "a": without the set all groups would take it.
    groups = [[Item(f"a{g}", 10.0, (1.0,)), Item(f"x{g}", 1.0 + g, (1.0,))] for g in range(6)]
    exclusive = [[f"a{g}" for g in range(6)]]
    problem = Problem.build(groups, [6.0], exclusive)
    for method in METHODS:
        result = solve(problem, method)
        assert sum(1 for i in result.selected if i.startswith("a")) <= 1, method
    assert solve(problem, "exact").objective == pytest.approx(10.0 + 2 + 3 + 4 + 5 + 6)
    assert solve(problem, "fast").objective == pytest.approx(10.0 + 2 + 3 + 4 + 5 + 6)


@pytest.mark.parametrize("method", METHODS)
def test_negative_capacity_is_infeasible(method: str) -> None:
    problem = Problem.build([[Item("a", 1.0, (1.0, 1.0))]], [1.0, -0.5])
    result = solve(problem, method)
    assert result.status is Status.INFEASIBLE
    assert result.selected == ()


@pytest.mark.parametrize("method", METHODS)
def test_no_groups_and_nothing_worth_taking_give_an_empty_answer(method: str) -> None:
    empty = solve(Problem.build([], [3.0]), method)
    assert empty.selected == () and empty.objective == 0.0
    worthless = solve(
        Problem.build([[Item("a", -1.0, (1.0,))], [Item("b", 0.0, (1.0,))]], [3]), method
    )
    assert worthless.selected == () and worthless.objective == 0.0
    assert worthless.status is not Status.INFEASIBLE


def test_bad_problems_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="more than once"):
        Problem.build([[Item("a", 1.0, (1.0,))], [Item("a", 2.0, (1.0,))]], [1.0])
    with pytest.raises(ValueError, match="weights"):
        Problem.build([[Item("a", 1.0, (1.0, 2.0))]], [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        Problem.build([[Item("a", 1.0, (-1.0,))]], [1.0])
    with pytest.raises(ValueError, match="unknown method"):
        solve(Problem.build([], [1.0]), "magic")
