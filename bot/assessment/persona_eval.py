"""Play scripted personas through the real engine: how often the assessment finds the right
user class and dominant emotion, and after how many questions (`needtotalk eval assessment`).

A persona taps options drawn from the bank's own likelihoods given its hidden emotion (or mood
level), seeded, and may write scripted free text at given turns. So the figures measure the
question policy (which questions, when to stop) against the bank's model of answers, plus the
text path where personas write; they say nothing about whether real people answer like that.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.assessment.bank import QuestionKind
from bot.assessment.engine import AssessmentEngine
from bot.domain import EMOTIONS, Emotion, Language, MoodLevel
from bot.yaml_files import read_yaml

# The target: scripted personas reach the right user class in <= 5 questions on average.
TARGET_MEAN_QUESTIONS = 5.0
# And they must actually reach it: a fast but wrong policy does not pass.
TARGET_CLASS_ACCURACY = 0.9
_MAX_TURNS = 40  # a guard against a policy that never stops


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    language: Language
    emotion: Emotion
    mood_level: MoodLevel
    seed: int
    says: dict[int, str] = Field(default_factory=dict)
    follow_up: str = "I'm not sure how to put it."


class PersonaSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    personas: tuple[Persona, ...] = Field(min_length=1)


def load_personas(path: Path) -> list[Persona]:
    try:
        data = read_yaml(Path(path))
        return list(PersonaSet.model_validate(data).personas)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Outcome:
    persona_id: str
    language: Language
    emotion: Emotion
    found: Emotion | None  # None: the result named no emotion (a miss)
    mood_level: MoodLevel
    found_mood: MoodLevel | None
    questions_to_decision: int
    questions_total: int

    @property
    def class_right(self) -> bool:
        return self.found is not None and self.found.user_class is self.emotion.user_class


@dataclass(frozen=True, slots=True)
class Report:
    outcomes: tuple[Outcome, ...]

    @property
    def class_accuracy(self) -> float:
        return statistics.fmean(o.class_right for o in self.outcomes)

    @property
    def emotion_accuracy(self) -> float:
        return statistics.fmean(o.found is o.emotion for o in self.outcomes)

    @property
    def mood_accuracy(self) -> float:
        return statistics.fmean(o.found_mood is o.mood_level for o in self.outcomes)

    @property
    def mean_questions(self) -> float:
        return statistics.fmean(o.questions_to_decision for o in self.outcomes)

    @property
    def mean_total_questions(self) -> float:
        return statistics.fmean(o.questions_total for o in self.outcomes)

    @property
    def meets_target(self) -> bool:
        return (
            self.mean_questions <= TARGET_MEAN_QUESTIONS
            and self.class_accuracy >= TARGET_CLASS_ACCURACY
        )

    def lines(self) -> list[str]:
        personas = len({o.persona_id for o in self.outcomes})
        verdict = "PASS" if self.meets_target else "MISS"
        return [
            f"personas: {personas}, runs: {len(self.outcomes)}",
            f"class accuracy:   {self.class_accuracy:.3f}",
            f"emotion accuracy: {self.emotion_accuracy:.3f}",
            f"mood accuracy:    {self.mood_accuracy:.3f}",
            f"mean questions to a decision (emotion): {self.mean_questions:.2f}",
            f"mean questions in all (with mood):      {self.mean_total_questions:.2f}",
            f"target (class accuracy >= {TARGET_CLASS_ACCURACY:.2f} in <= "
            f"{TARGET_MEAN_QUESTIONS:.0f} questions on average): {verdict}",
        ]


def play(engine: AssessmentEngine, persona: Persona, run: int = 0) -> Outcome:
    """One persona, one seeded run through the real engine."""
    rng = np.random.default_rng([persona.seed, run])
    state = engine.start(persona.language)
    for turn in range(_MAX_TURNS):
        prompt = engine.next_prompt(state)
        if prompt is None:
            break
        if prompt.kind == "follow_up":
            state = engine.answer_text(state, persona.follow_up)
        elif turn in persona.says:
            state = engine.answer_text(state, persona.says[turn])
        else:
            question = engine.banks[state.language].get(prompt.question_id)
            if question.kind is QuestionKind.EMOTION:
                probabilities = question.matrix[:, EMOTIONS.index(persona.emotion)]
            else:
                probabilities = question.matrix[:, int(persona.mood_level)]
            choice = int(rng.choice(len(probabilities), p=probabilities))
            state = engine.answer_option(state, prompt.options[choice][0])
    result = engine.result(state)
    if result is None:
        raise RuntimeError(f"persona {persona.id}: the assessment did not finish")
    return Outcome(
        persona_id=persona.id,
        language=persona.language,
        emotion=persona.emotion,
        found=result.dominant_emotion,
        mood_level=persona.mood_level,
        found_mood=result.mood_level,
        questions_to_decision=state.decided_after or 0,
        questions_total=len(state.answers),
    )


def run_personas(engine: AssessmentEngine, personas: Sequence[Persona], repeats: int = 1) -> Report:
    return Report(tuple(play(engine, p, run) for run in range(repeats) for p in personas))
