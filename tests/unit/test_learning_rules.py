"""Seed 1 §3.6 step 6 by hand: the Q update, the reward rule, exploration and the policy schema."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from bot.learning.policy import DEFAULT_LEARNING_PATH, LearningPolicy, load_learning_policy
from bot.learning.rules import LearningState, epsilon, q_update, satisfaction_reward


def test_q_update_matches_seed_formula_by_hand() -> None:
    # (1 - 0.2) * 0.5 + 0.2 * (2 + 0.9 * 1.0) = 0.4 + 0.58 = 0.98
    assert q_update(0.5, 2.0, 1.0, alpha=0.2, gamma=0.9) == pytest.approx(0.98)
    # alpha = 1 forgets the old value: r + gamma * max
    assert q_update(7.0, 1.0, 2.0, alpha=1.0, gamma=0.5) == pytest.approx(2.0)
    # gamma = 0: a running average towards the reward
    assert q_update(1.0, 0.0, 100.0, alpha=0.5, gamma=0.0) == pytest.approx(0.5)


def test_repeated_updates_converge_to_the_fixed_point() -> None:
    q = 0.0
    for _ in range(200):
        q = q_update(q, 1.0, q, alpha=0.3, gamma=0.5)  # a self-loop: q* = r / (1 - gamma)
    assert q == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize(
    ("before", "after", "reward"),
    [(2, 4, 2.0), (3, 4, 1.0), (4, 4, 0.0), (5, 1, 0.0), (None, 5, 0.0), (1, 5, 4.0)],
)
def test_reward_is_the_rise_and_zero_when_it_did_not_rise(
    before: int | None, after: int, reward: float
) -> None:
    assert satisfaction_reward(before, after) == reward


def test_epsilon_decays_with_visits_down_to_its_floor() -> None:
    assert epsilon(0, 0.3, 0.05, 50.0) == pytest.approx(0.3)
    assert epsilon(50, 0.3, 0.05, 50.0) == pytest.approx(0.15)
    assert epsilon(10_000, 0.3, 0.05, 50.0) == pytest.approx(0.05)


def test_state_keys() -> None:
    state = LearningState("vulnerable", "self_doubt", 2, mood_level=3)
    assert state.key == "vulnerable|self_doubt|2"
    assert state.feature_keys() == ("all", "c:vulnerable", "e:self_doubt", "em:self_doubt|3")


def _raw() -> dict[str, object]:
    return yaml.safe_load(DEFAULT_LEARNING_PATH.read_text(encoding="utf-8"))


def test_the_project_policy_is_valid() -> None:
    policy = load_learning_policy()
    assert policy.default_learner in ("q_table", "thompson")
    assert "peer_question" in policy.actions


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("q_table", "alpha"), 0.0, "greater than 0"),
        (("q_table", "gamma"), 1.0, "less than 1"),
        (("actions",), ["peer_story", "no_such_type"], "not card types"),
        (("actions",), ["peer_story", "peer_story"], "listed twice"),
        (("checkin", "crisis_quiet_hours"), 2.0, "greater than or equal to 24"),
        (("default_learner",), "neural", "q_table"),
        (("q_table", "epsilon_min"), 0.9, "epsilon_min"),
    ],
)
def test_the_schema_refuses_bad_values(path: tuple[str, ...], value: object, message: str) -> None:
    raw = _raw()
    target: dict[str, object] = raw
    for key in path[:-1]:
        target = target[key]  # type: ignore[assignment]
    target[path[-1]] = value
    with pytest.raises(ValidationError, match=message):
        LearningPolicy.model_validate(raw)
