"""The learning simulation's people and its two stores (bot/sim/learning_sim.py).

The simulation keeps the learners' cells and events in a MemoryStore by default; the learners and
LearningService run the same code as on a database and only the last step differs, so a run in
memory must give exactly the figures of the same run on SQLite."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bot.domain import UserClass
from bot.learning.policy import SimulationPolicy, load_learning_policy
from bot.matching.knapsack_policy import load_knapsack_policy
from bot.sim.learning_sim import SimPerson, live_a_day, live_between, run_simulation

POLICY = load_learning_policy()
SIM = POLICY.simulation
ACTIONS = list(POLICY.actions)


def _person(x: float, baseline: float = 2.5) -> SimPerson:
    return SimPerson(
        index=0,
        user_class=UserClass.VULNERABLE,
        emotion="self_doubt",
        mood_level=2,
        baseline=baseline,
        x=x,
        effects=np.zeros(len(ACTIONS)),
        allowed=tuple(ACTIONS),
    )


def _quiet(**changes: float) -> SimulationPolicy:
    """The project's simulation policy without noise or slow pull, with `changes`."""
    return SIM.model_copy(update={"daily_noise_sd": 0.0, "mean_reversion": 0.0, **changes})


def test_a_setback_takes_back_a_share_of_the_height_above_the_baseline() -> None:
    sim = _quiet(setback_rate=1.0, setback_share_min=0.5, setback_share_max=0.5)
    person = _person(4.5)
    live_between(person, sim, random.Random(1))
    assert person.x == pytest.approx(3.5)  # half of the 2.0 above 2.5
    low = _person(1.5)
    live_between(low, sim, random.Random(1))
    assert low.x == pytest.approx(1.5)  # recovery_rate is not setback_rate


def test_a_bad_patch_ends_only_at_the_recovery_rate() -> None:
    sim = _quiet(recovery_rate=1.0, setback_rate=0.0, setback_share_min=1.0, setback_share_max=1.0)
    low, high = _person(1.5), _person(4.0)
    live_between(low, sim, random.Random(2))
    live_between(high, sim, random.Random(2))
    assert (low.x, high.x) == (pytest.approx(2.5), pytest.approx(4.0))


def test_the_batch_lifts_by_the_mean_effect_of_the_cards_shown() -> None:
    sim = _quiet(setback_rate=0.0, recovery_rate=0.0)
    person = _person(3.0)
    person.effects[ACTIONS.index("coping_tip")] = 0.6
    live_a_day(person, ["coping_tip", "coping_tip", "peer_story"], ACTIONS, sim, random.Random(3))
    assert person.x == pytest.approx(3.4)
    assert person.feeling == 3


def test_every_arm_lives_the_same_days_whatever_it_chose() -> None:
    """The day's draws do not depend on what happened, so arms differ only by their choices."""
    a, b = _person(4.5), _person(1.2)
    draws_a, draws_b = random.Random(9), random.Random(9)
    live_between(a, SIM, draws_a)
    live_between(b, SIM, draws_b)
    assert draws_a.random() == draws_b.random()


@pytest.mark.slow
def test_memory_and_sqlite_give_identical_figures() -> None:
    knapsack = load_knapsack_policy()
    runs = {
        store: run_simulation(12, 6, 3, POLICY, knapsack, store=store)
        for store in ("memory", "sqlite")
    }
    memory, sqlite = runs["memory"], runs["sqlite"]
    assert set(memory.arms) == {"thompson", "q_table", "random", "oracle"}
    for name, arm in memory.arms.items():
        other = sqlite.arms[name]
        assert arm.rewards == other.rewards
        assert arm.helped == other.helped
        assert arm.final_feeling == other.final_feeling
    assert sum(len(arm.rewards) for arm in memory.arms.values()) > 100


def test_an_unknown_store_is_refused() -> None:
    with pytest.raises(ValueError, match="store"):
        run_simulation(2, 1, 1, POLICY, load_knapsack_policy(), store="redis")


@pytest.mark.slow
def test_arms_in_worker_processes_see_the_same_days() -> None:
    """Every draw comes from the seed, the person and the day alone (string seeds, not hash(),
    which differs between processes), so worker processes reproduce a run in one process."""
    knapsack = load_knapsack_policy()
    alone = run_simulation(8, 4, 2, POLICY, knapsack, workers=1)
    spread = run_simulation(8, 4, 2, POLICY, knapsack, workers=2)
    for name, arm in alone.arms.items():
        assert arm.rewards == spread.arms[name].rewards
        assert arm.final_feeling == spread.arms[name].final_feeling
