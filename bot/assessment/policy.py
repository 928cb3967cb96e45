"""`policies/assessment.yaml`: when to stop asking and how far each kind of evidence may move.

The stopping rule (top posterior past a threshold, or a maximum number of questions) is the
"until the most prevalent emotion is clear" of seed 1 §3.6 step 1 made concrete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.yaml_files import read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmotionStopping(_Strict):
    stop_threshold: float = Field(0.6, gt=1 / 16, le=1.0)
    max_questions: int = Field(7, ge=1, le=30)
    min_questions: int = Field(2, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> EmotionStopping:
        if self.min_questions > self.max_questions:
            raise ValueError("min_questions must not exceed max_questions")
        return self


class MoodStopping(_Strict):
    stop_threshold: float = Field(0.6, gt=0.25, le=1.0)
    min_questions: int = Field(1, ge=0)
    max_questions: int = Field(2, ge=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> MoodStopping:
        if self.min_questions > self.max_questions:
            raise ValueError("min_questions must not exceed max_questions")
        return self


class TextEvidence(_Strict):
    weight: float = Field(1.0, ge=0.0, le=3.0)
    max_log_shift: float = Field(1.2, ge=0.0, le=5.0)
    floor: float = Field(0.05, ge=0.0, lt=1.0)
    mood_max_log_shift: float = Field(0.7, ge=0.0, le=5.0)


class Revisit(_Strict):
    temper: float = Field(0.5, ge=0.0, le=1.0)
    rejected_factor: float = Field(0.15, gt=0.0, le=1.0)
    extra_questions: int = Field(3, ge=0, le=20)


class Reassess(_Strict):
    previous_weight: float = Field(0.3, ge=0.0, lt=1.0)


class ResultClarity(_Strict):
    """How clear the evidence must be before a result names anything (see the yaml)."""

    min_emotion_posterior: float = Field(0.125, gt=1 / 16, le=1.0)
    min_mood_posterior: float = Field(0.3, gt=0.25, le=1.0)


class LlmLimits(_Strict):
    max_log_shift: float = Field(1.0, ge=0.0, le=5.0)
    option_weight: float = Field(0.7, ge=0.0, le=1.0)
    max_follow_ups: int = Field(1, ge=0, le=5)
    max_question_chars: int = Field(280, ge=40, le=1000)
    structured_output_method: Literal["json_schema", "function_calling"] = "json_schema"


class Overall(_Strict):
    """Limits on the whole assessment, whatever kind of question (see the yaml)."""

    max_questions: int = Field(7, ge=1, le=40)
    stop_after_dont_knows: int = Field(3, ge=1, le=40)
    duration_questions: tuple[str, ...] = ("long",)


class AssessmentPolicy(_Strict):
    emotion: EmotionStopping = EmotionStopping()
    mood: MoodStopping = MoodStopping()
    text: TextEvidence = TextEvidence()
    revisit: Revisit = Revisit()
    reassess: Reassess = Reassess()
    result: ResultClarity = ResultClarity()
    llm: LlmLimits = LlmLimits()
    overall: Overall = Overall()

    @model_validator(mode="after")
    def _room_for_both_phases(self) -> AssessmentPolicy:
        if self.overall.max_questions < self.emotion.min_questions + self.mood.min_questions:
            raise ValueError(
                "overall.max_questions must leave room for emotion.min_questions + "
                "mood.min_questions"
            )
        return self

    @model_validator(mode="after")
    def _clarity_below_stopping(self) -> AssessmentPolicy:
        # A decided assessment must always be able to name its emotion and mood.
        if self.result.min_emotion_posterior > self.emotion.stop_threshold:
            raise ValueError("result.min_emotion_posterior must not exceed emotion.stop_threshold")
        if self.result.min_mood_posterior > self.mood.stop_threshold:
            raise ValueError("result.min_mood_posterior must not exceed mood.stop_threshold")
        return self


def load_policy(policies_dir: Path) -> AssessmentPolicy:
    path = Path(policies_dir) / "assessment.yaml"
    try:
        return AssessmentPolicy.model_validate(read_yaml(path))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
