"""policies/knapsack.yaml as pydantic models: solver, feed and experiment parameters.

Every number the feed optimizer and the seed-2 experiment use lives in that file, so a developer
can change a batch size or α without touching code, and a typo fails at load time with the
path to the bad field.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config import PROJECT_ROOT
from bot.policies import load_policy_file, register_policy_schema

DEFAULT_POLICY_PATH = PROJECT_ROOT / "policies" / "knapsack.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SolverPolicy(_Strict):
    method: Literal["exact", "fast", "surrogate", "greedy"] = "fast"
    gap: float = Field(1e-4, ge=0.0, lt=0.5)
    deadline_seconds: float = Field(0.25, gt=0.0, le=60.0)


class FeedPolicy(_Strict):
    # 1 + α(n − m) must stay positive for level differences up to 3 (seed 2 §V-B2).
    alpha: float = Field(0.25, gt=0.0, lt=1.0 / 3.0)
    batch_size: int = Field(5, ge=1, le=100)
    reading_load_budget: float = Field(4.0, gt=0.0)
    polarity_band_edges: tuple[float, ...] = (0.4, 0.6)
    one_card_per_author: bool = True

    @field_validator("polarity_band_edges")
    @classmethod
    def _increasing_shares(cls, edges: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 < e < 1.0 for e in edges) or list(edges) != sorted(set(edges)):
            raise ValueError("band edges must be strictly increasing shares between 0 and 1")
        return edges


class DaysPerPost(_Strict):
    heavy: float = Field(0.2, gt=0.0)
    casual: float = Field(0.5, gt=0.0)


LevelValues = tuple[float, float, float, float]


class GeneratorPolicy(_Strict):
    """The synthetic Japanese population of the seed-2 experiment (bot.sim.japanese_posts)."""

    positive_share: LevelValues = (0.66, 0.56, 0.48, 0.42)
    positive_concentration: float = Field(14.0, gt=0.0)
    neutral_share: float = Field(0.3, ge=0.0, lt=1.0)
    posts_per_day_median: LevelValues = (1.3, 2.0, 3.0, 4.6)
    posts_per_day_sigma: float = Field(0.55, ge=0.0)
    keyword_share: LevelValues = (0.004, 0.12, 0.12, 0.15)
    medicine_share: LevelValues = (0.0, 0.0, 0.10, 0.16)
    medicines_named: tuple[int, int, int, int] = (0, 0, 1, 3)

    @field_validator("positive_share", "keyword_share", "medicine_share")
    @classmethod
    def _shares(cls, values: LevelValues) -> LevelValues:
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError("shares must be between 0 and 1")
        return values

    @field_validator("posts_per_day_median")
    @classmethod
    def _rates(cls, values: LevelValues) -> LevelValues:
        if any(v <= 0 for v in values):
            raise ValueError("posting rates must be positive")
        return values


class ExperimentPolicy(_Strict):
    seed: int = 2
    people_per_level: int = Field(500, ge=1)
    group_size: int = Field(10, ge=1)
    posts_per_person: int = Field(30, ge=1)
    reader_level: int = Field(3, ge=0, le=3)
    alphas: tuple[float, ...] = (0.25, 1.0 / 6.0)
    b1: tuple[int, ...] = (20, 40, 60, 80)
    days_per_post: DaysPerPost = DaysPerPost()
    generator: GeneratorPolicy = GeneratorPolicy()

    @field_validator("alphas")
    @classmethod
    def _alphas_keep_pos_positive(cls, alphas: tuple[float, ...]) -> tuple[float, ...]:
        if not alphas or any(not 0.0 < a < 1.0 / 3.0 for a in alphas):
            raise ValueError("each alpha must be in (0, 1/3) so 1 + alpha*(n - m) stays positive")
        return alphas


class KnapsackPolicy(_Strict):
    solver: SolverPolicy = SolverPolicy()
    feed: FeedPolicy = FeedPolicy()
    experiment: ExperimentPolicy = ExperimentPolicy()


register_policy_schema("policies/knapsack.yaml", KnapsackPolicy, required=True)


def load_knapsack_policy(path: Path | str | None = None) -> KnapsackPolicy:
    """The policy at `path` (default: the project's policies/knapsack.yaml), read once per path.

    Raises PolicyFileError (a ValueError) naming the file and the failing field.
    """
    return _load_cached(Path(path) if path is not None else DEFAULT_POLICY_PATH)


@cache
def _load_cached(path: Path) -> KnapsackPolicy:
    return load_policy_file(path, KnapsackPolicy)
