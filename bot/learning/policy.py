"""policies/learning.yaml: the learners' parameters, the check-in rules and the simulation.

The update and the reward are seed 1's (§3.6 step 6); only their parameters live here, so a
change of learning rate or check-in frequency is a reviewed edit to data, not to code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config import PROJECT_ROOT
from bot.policies import load_policy_file, register_policy_schema

DEFAULT_LEARNING_PATH = PROJECT_ROOT / "policies" / "learning.yaml"
LearnerName = Literal["q_table", "thompson"]
LEARNERS: tuple[LearnerName, ...] = ("q_table", "thompson")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QTablePolicy(_Strict):
    """Seed 1 §3.6 step 6: alpha (learning rate) and gamma (discount) of the Q update."""

    alpha: float = Field(gt=0.0, le=1.0)
    gamma: float = Field(ge=0.0, lt=1.0)
    initial_value: float = 0.0
    epsilon_start: float = Field(ge=0.0, le=1.0)
    epsilon_min: float = Field(ge=0.0, le=1.0)
    epsilon_decay_visits: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _min_below_start(self) -> QTablePolicy:
        if self.epsilon_min > self.epsilon_start:
            raise ValueError("epsilon_min must not exceed epsilon_start")
        return self


class ThompsonPolicy(_Strict):
    prior_mean: float = 0.0
    prior_strength: float = Field(gt=0.0)
    noise_sd: float = Field(gt=0.0)


class CheckinPolicy(_Strict):
    after_batch: bool = True
    min_gap_hours: float = Field(ge=0.0)
    max_per_week: int = Field(ge=0, le=50)
    snooze_hours: float = Field(gt=0.0)
    crisis_quiet_hours: float = Field(ge=24.0)  # never right after a crisis: at least a day
    crisis_flag_kinds: tuple[str, ...] = Field(min_length=1)


class SimulationPolicy(_Strict):
    """The synthetic population of `needtotalk simulate` (bot/sim/learning_sim.py)."""

    batch_size: int = Field(ge=1, le=10)
    cards_per_type: int = Field(ge=1, le=20)
    class_effect_sd: float = Field(ge=0.0)
    emotion_effect_sd: float = Field(ge=0.0)
    person_effect_sd: float = Field(ge=0.0)
    drift_sd: float = Field(ge=0.0)
    mean_reversion: float = Field(ge=0.0, le=1.0)
    daily_noise_sd: float = Field(ge=0.0)
    setback_rate: float = Field(ge=0.0, le=1.0)
    recovery_rate: float = Field(ge=0.0, le=1.0)
    setback_share_min: float = Field(ge=0.0, le=1.0)
    setback_share_max: float = Field(ge=0.0, le=1.0)
    helped_scale: float = Field(ge=0.0)
    checkin_rate: float = Field(gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _share_range(self) -> SimulationPolicy:
        if self.setback_share_min > self.setback_share_max:
            raise ValueError("setback_share_min must not exceed setback_share_max")
        return self


class LearningPolicy(_Strict):
    """policies/learning.yaml."""

    version: Literal[1]
    default_learner: LearnerName
    actions: tuple[str, ...] = Field(min_length=2)
    q_table: QTablePolicy
    thompson: ThompsonPolicy
    helped_weight: float = Field(ge=0.0, le=5.0)
    focus_weight: float = Field(ge=1.0, le=100.0)
    checkin: CheckinPolicy
    simulation: SimulationPolicy

    @model_validator(mode="after")
    def _actions_are_card_types(self) -> LearningPolicy:
        from bot.cards.card_types import load_card_types

        if len(set(self.actions)) != len(self.actions):
            raise ValueError("actions listed twice")
        known = set(load_card_types())
        unknown = sorted(set(self.actions) - known)
        if unknown:
            raise ValueError(f"actions that are not card types: {unknown}")
        return self


register_policy_schema("policies/learning.yaml", LearningPolicy, required=True)


@cache
def _load_cached(path: Path) -> LearningPolicy:
    return load_policy_file(path, LearningPolicy)


def load_learning_policy(path: Path | str | None = None) -> LearningPolicy:
    """The policy at `path` (default: the project's policies/learning.yaml), read once per path."""
    return _load_cached(Path(path) if path is not None else DEFAULT_LEARNING_PATH)
