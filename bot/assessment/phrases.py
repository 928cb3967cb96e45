"""`prompts/<lang>/assessment.yaml`: the words around the assessment, and the reflection.

The reflection mirrors what the person told us ("it sounds like a lot of self-doubt lately"); it
is never a diagnosis and never names a user class or a mood level. When the answers named no
emotion it says so kindly instead of guessing.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain import EMOTIONS, Emotion, Language, MoodLevel
from bot.yaml_files import read_yaml

# Everything but letters and digits goes before phrases are compared: spaces, punctuation
# (straight or curly apostrophes alike), symbols, emoji.
_NOT_WORD = re.compile(r"[\W_]+")


def phrase_key(text: str) -> str:
    """What phrases are compared by: "That doesn’t sound like me!" -> "thatdoesntsoundlikeme",
    「違う気がする。」 -> "違う気がする"."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


class AssessmentPhrases(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    intro: str = Field(min_length=1)
    not_me_label: str = Field(min_length=1, max_length=64)
    # Typed words that mean the same as the not-me button (compared by `phrase_key`).
    not_me_phrases: list[str] = Field(default_factory=list)
    revisit_ack: str = Field(min_length=1)
    reflections: dict[Emotion, str]
    # After the reflection, by mood level 0-3. `mood_lines` continue a reflection about something
    # hard; `turning_mood_lines` follow one about something going well (the feeling-good
    # classes) and so have to turn ("and still, ..."); `unclear_mood_lines` follow `unclear`.
    mood_lines: list[str] = Field(min_length=4, max_length=4)
    turning_mood_lines: list[str] = Field(min_length=4, max_length=4)
    unclear_mood_lines: list[str] = Field(min_length=4, max_length=4)
    uncertain: str = Field(min_length=1)
    # When the answers named no emotion at all.
    unclear: str = Field(min_length=1)
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

    @field_validator("not_me_phrases")
    @classmethod
    def _phrases_say_something(cls, value: list[str]) -> list[str]:
        if any(not phrase_key(p) for p in value):
            raise ValueError("every not_me phrase needs a letter in it")
        return value

    def reflection(self, emotion: Emotion | None, mood: MoodLevel | None, *, sure: bool) -> str:
        """The reflection; with no emotion (nothing clear was read) the kind "no clear picture
        yet", and with no mood level no mood line."""
        level = 0 if mood is None else int(mood)
        if emotion is None:
            parts = [self.unclear, self.unclear_mood_lines[level]]
        else:
            lines = self.turning_mood_lines if emotion.user_class.feels_good else self.mood_lines
            parts = [self.reflections[emotion], lines[level]]
            if not sure:
                parts.append(self.uncertain)
        return self.joiner.join(part for part in parts if part)

    def means_not_me(self, text: str) -> bool:
        """Whether typed text is one of the not-me phrases (or the button's own label)."""
        key = phrase_key(text)
        return bool(key) and key in {
            phrase_key(p) for p in [self.not_me_label, *self.not_me_phrases]
        }


def load_phrases(prompts_dir: Path, language: Language | str) -> AssessmentPhrases:
    path = Path(prompts_dir) / str(language) / "assessment.yaml"
    try:
        return AssessmentPhrases.model_validate(read_yaml(path))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
