"""Play scripted personas through the real engine: how often the assessment finds the right
user class and dominant emotion, and after how many questions (`needtotalk eval assessment`).

A persona taps options drawn from the bank's own likelihoods given its hidden emotion (or mood
level), seeded, and may write scripted free text at given turns. So the figures measure the
question policy (which questions, when to stop) against the bank's model of answers, plus the
text path where personas write; they say nothing about whether real people answer like that.

Typed text goes through `AssessmentEngine.hear`, as in the conversation: a question about the
question ("what does that even mean?") is rephrased and the persona then taps; "idk" is an
answer without evidence. The report also gives the questions asked per run (median and max,
against `overall.max_questions`) and how many typed answers were acknowledged, and how many of
those with a line reflecting a theme read in them (not the plain "thank you for telling me").
Personas with `scored: false` say nothing a class could be read from ("idk" to everything):
they are left out of the accuracy figures, and reported by whether the result named nothing.
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
from bot.assessment.hearing import HARD, PLAIN, ReplyKind
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
    # Typed instead of a tap, by question number (0 = the first question).
    says: dict[int, str] = Field(default_factory=dict)
    # Typed on every question not in `says` (an "idk" persona), instead of tapping.
    says_every_time: str | None = None
    follow_up: str = "I'm not sure how to put it."
    # False for a persona whose answers name nothing (accuracy leaves it out).
    scored: bool = True


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
    scored: bool = True
    typed_answers: int = 0  # typed replies taken as answers ("idk" included)
    acknowledged: int = 0  # ... that got an acknowledgement before the next step
    reflective: int = 0  # typed answers (not "idk") acknowledged with a theme's own line
    content_answers: int = 0  # typed answers other than "idk"
    clarifications: int = 0  # "what does that mean?"
    rephrased: int = 0  # ... answered with the same question in other words

    @property
    def class_right(self) -> bool:
        return self.found is not None and self.found.user_class is self.emotion.user_class


@dataclass(frozen=True, slots=True)
class Report:
    outcomes: tuple[Outcome, ...]
    max_questions: int | None = None  # the policy's overall maximum, for the report

    @property
    def scored(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.scored) or self.outcomes

    @property
    def class_accuracy(self) -> float:
        return statistics.fmean(o.class_right for o in self.scored)

    @property
    def emotion_accuracy(self) -> float:
        return statistics.fmean(o.found is o.emotion for o in self.scored)

    @property
    def mood_accuracy(self) -> float:
        return statistics.fmean(o.found_mood is o.mood_level for o in self.scored)

    @property
    def mean_questions(self) -> float:
        return statistics.fmean(o.questions_to_decision for o in self.scored)

    @property
    def mean_total_questions(self) -> float:
        return statistics.fmean(o.questions_total for o in self.scored)

    @property
    def median_questions_asked(self) -> float:
        return statistics.median(o.questions_total for o in self.outcomes)

    @property
    def max_questions_asked(self) -> int:
        return max(o.questions_total for o in self.outcomes)

    @property
    def acknowledged_share(self) -> float | None:
        typed = sum(o.typed_answers for o in self.outcomes)
        return sum(o.acknowledged for o in self.outcomes) / typed if typed else None

    @property
    def reflective_share(self) -> float | None:
        content = sum(o.content_answers for o in self.outcomes)
        return sum(o.reflective for o in self.outcomes) / content if content else None

    def _hearing_lines(self) -> list[str]:
        cap = f" (policy maximum {self.max_questions})" if self.max_questions else ""
        lines = [
            f"questions asked per run, all personas: median {self.median_questions_asked:g}, "
            f"max {self.max_questions_asked}{cap}"
        ]
        typed = sum(o.typed_answers for o in self.outcomes)
        if typed:
            acknowledged = sum(o.acknowledged for o in self.outcomes)
            lines.append(
                f"typed answers acknowledged: {acknowledged}/{typed} "
                f"({self.acknowledged_share or 0.0:.0%})"
            )
        content = sum(o.content_answers for o in self.outcomes)
        if content:
            reflective = sum(o.reflective for o in self.outcomes)
            lines.append(
                f"  of those other than 'I don't know', with a line reflecting what was read: "
                f"{reflective}/{content} ({self.reflective_share or 0.0:.0%})"
            )
        asked = sum(o.clarifications for o in self.outcomes)
        if asked:
            rephrased = sum(o.rephrased for o in self.outcomes)
            lines.append(
                f"'what does that mean?' answered with the question rephrased: {rephrased}/{asked}"
            )
        unscored = [o for o in self.outcomes if not o.scored]
        if unscored:
            nothing = sum(o.found is None for o in unscored)
            lines.append(
                f"personas who name nothing (not scored): the result named nothing in "
                f"{nothing}/{len(unscored)} runs"
            )
        return lines

    @property
    def meets_target(self) -> bool:
        return (
            self.mean_questions <= TARGET_MEAN_QUESTIONS
            and self.class_accuracy >= TARGET_CLASS_ACCURACY
        )

    def lines(self) -> list[str]:
        personas = len({o.persona_id for o in self.outcomes})
        verdict = "PASS" if self.meets_target else "MISS"
        scored = len({o.persona_id for o in self.scored})
        return [
            f"personas: {personas} ({scored} scored), runs: {len(self.outcomes)}",
            f"class accuracy:   {self.class_accuracy:.3f}",
            f"emotion accuracy: {self.emotion_accuracy:.3f}",
            f"mood accuracy:    {self.mood_accuracy:.3f}",
            f"mean questions to a decision (emotion): {self.mean_questions:.2f}",
            f"mean questions in all (with mood):      {self.mean_total_questions:.2f}",
            *self._hearing_lines(),
            f"target (class accuracy >= {TARGET_CLASS_ACCURACY:.2f} in <= "
            f"{TARGET_MEAN_QUESTIONS:.0f} questions on average): {verdict}",
        ]


def play(engine: AssessmentEngine, persona: Persona, run: int = 0) -> Outcome:
    """One persona, one seeded run through the real engine."""
    rng = np.random.default_rng([persona.seed, run])
    state = engine.start(persona.language)
    counts = {"typed": 0, "ack": 0, "reflective": 0, "content": 0, "clarify": 0, "rephrased": 0}
    clarified_at: set[int] = set()  # a persona asks "what does that mean?" once per question
    typed_at: set[int] = set()
    for _ in range(_MAX_TURNS):
        prompt = engine.next_prompt(state)
        if prompt is None:
            break
        number = len(state.answers)
        text: str | None = None
        if prompt.kind == "follow_up":
            text = persona.follow_up
        elif number in persona.says and number not in typed_at:
            text = persona.says[number]
        elif persona.says_every_time is not None and number not in typed_at:
            text = persona.says_every_time
        if text is not None and number in clarified_at and prompt.kind == "follow_up":
            state = engine.answer_text(state, text)  # no second "what does it mean?"
            continue
        if text is not None and number not in clarified_at:
            heard = engine.hear(state, text)
            if heard.kind is ReplyKind.CLARIFY:
                clarified_at.add(number)
                counts["clarify"] += 1
                same = heard.prompt is not None and heard.prompt.question_id == prompt.question_id
                counts["rephrased"] += int(same and heard.state == state)
                typed_at.add(number)
                continue
            typed_at.add(number)
            counts["typed"] += 1
            counts["ack"] += int(bool(heard.say))
            if heard.kind is ReplyKind.ANSWER:
                counts["content"] += 1
                counts["reflective"] += int(heard.state.heard not in (None, HARD, PLAIN))
            state = heard.state
            continue
        if prompt.kind == "follow_up":
            state = engine.answer_text(state, persona.follow_up)
            continue
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
        scored=persona.scored,
        typed_answers=counts["typed"],
        acknowledged=counts["ack"],
        reflective=counts["reflective"],
        content_answers=counts["content"],
        clarifications=counts["clarify"],
        rephrased=counts["rephrased"],
    )


def run_personas(engine: AssessmentEngine, personas: Sequence[Persona], repeats: int = 1) -> Report:
    outcomes = tuple(play(engine, p, run) for run in range(repeats) for p in personas)
    return Report(outcomes, max_questions=engine.policy.overall.max_questions)
