"""`prompts/<lang>/assessment.yaml`: the words around the assessment, and the reflection.

The reflection mirrors what the person told us ("it sounds like a lot of self-doubt lately"); it
is never a diagnosis and never names a user class or a mood level.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain import EMOTIONS, Emotion, Language, MoodLevel


class AssessmentPhrases(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intro: str = Field(min_length=1)
    not_me_label: str = Field(min_length=1, max_length=64)
    revisit_ack: str = Field(min_length=1)
    reflections: dict[Emotion, str]
    mood_lines: list[str] = Field(min_length=4, max_length=4)
    uncertain: str = Field(min_length=1)
    # How sentences join: a space in English, nothing in Japanese.
    joiner: str = " "

    @field_validator("reflections")
    @classmethod
    def _every_emotion(cls, value: dict[Emotion, str]) -> dict[Emotion, str]:
        missing = set(EMOTIONS) - value.keys()
        if missing:
            raise ValueError(f"reflections missing for {sorted(missing)}")
        if any(not text.strip() for text in value.values()):
            raise ValueError("every reflection needs some text")
        return value

    def reflection(self, emotion: Emotion, mood: MoodLevel, *, sure: bool) -> str:
        parts = [self.reflections[emotion], self.mood_lines[int(mood)]]
        if not sure:
            parts.append(self.uncertain)
        return self.joiner.join(part for part in parts if part)


def load_phrases(prompts_dir: Path, language: Language | str) -> AssessmentPhrases:
    path = Path(prompts_dir) / str(language) / "assessment.yaml"
    try:
        return AssessmentPhrases.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
