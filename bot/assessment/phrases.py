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
from bot.patterns import compiled
from bot.yaml_files import read_yaml

# Everything but letters and digits goes before phrases are compared: spaces, punctuation
# (straight or curly apostrophes alike), symbols, emoji.
_NOT_WORD = re.compile(r"[\W_]+")


def phrase_key(text: str) -> str:
    """What phrases are compared by: "That doesn’t sound like me!" -> "thatdoesntsoundlikeme",
    「違う気がする。」 -> "違う気がする"."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


class Theme(BaseModel):
    """Something a person may say in their own words (loneliness, tiredness, ...): how it is
    recognised (cue words, or the emotions the engine read), acknowledged and reflected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cues: list[str] = Field(default_factory=list)
    emotions: list[Emotion] = Field(default_factory=list)
    hard: bool = True
    ack: str = Field(min_length=1)
    reflection: str = Field(min_length=1)


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            compiled(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from exc
    return patterns


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
    # The same without a duration ("right now"), used unless the person was asked or said how
    # long (`duration_patterns`): a result never claims "a long while" nobody mentioned.
    mood_now_lines: list[str] = Field(min_length=4, max_length=4)
    turning_mood_now_lines: list[str] = Field(min_length=4, max_length=4)
    unclear_mood_now_lines: list[str] = Field(min_length=4, max_length=4)
    duration_patterns: list[str] = Field(default_factory=list)
    # Free text acknowledged before the next question (bot/assessment/hearing.py).
    themes: dict[str, Theme] = Field(default_factory=dict)
    ack_hard: str = Field(min_length=1)
    ack_plain: str = Field(min_length=1)
    ack_dont_know: str = Field(min_length=1)
    dont_know_phrases: list[str] = Field(default_factory=list)
    clarify_patterns: list[str] = Field(default_factory=list)
    clarify_intro: str = Field(min_length=1)
    plain_questions: dict[str, str] = Field(default_factory=dict)
    # How sentences join: a space in English, nothing in Japanese.
    joiner: str = " "

    @field_validator("duration_patterns", "clarify_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        return _compiled(value)

    @field_validator("dont_know_phrases")
    @classmethod
    def _dont_know_says_something(cls, value: list[str]) -> list[str]:
        if any(not phrase_key(p) for p in value):
            raise ValueError("every dont_know phrase needs a letter in it")
        return value

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

    def reflection(
        self,
        emotion: Emotion | None,
        mood: MoodLevel | None,
        *,
        sure: bool,
        said: str | None = None,
        duration_known: bool = True,
    ) -> str:
        """The reflection; with no emotion (nothing clear was read) the kind "no clear picture
        yet", and with no mood level no mood line.

        `said`: a theme the person named in their own words (loneliness, ...): the result names
        that rather than an emotion they never mentioned (a lonely person does not hear about
        "the voice inside"). `duration_known`: whether the person was asked or said how long;
        without it the mood line speaks of now only."""
        level = 0 if mood is None else int(mood)
        theme = self.themes.get(said) if said else None
        if theme is not None:
            good = not theme.hard
            lines = self._mood_lines(turning=good, duration_known=duration_known)
            parts = [theme.reflection, lines[level]]
        elif emotion is None:
            unclear = self.unclear_mood_lines if duration_known else self.unclear_mood_now_lines
            parts = [self.unclear, unclear[level]]
        else:
            good = emotion.user_class.feels_good
            lines = self._mood_lines(turning=good, duration_known=duration_known)
            parts = [self.reflections[emotion], lines[level]]
            if not sure:
                parts.append(self.uncertain)
        return self.joiner.join(part for part in parts if part)

    def _mood_lines(self, *, turning: bool, duration_known: bool) -> list[str]:
        if turning:
            return self.turning_mood_lines if duration_known else self.turning_mood_now_lines
        return self.mood_lines if duration_known else self.mood_now_lines

    def says_how_long(self, text: str) -> bool:
        """Whether the text says how long things have been (`duration_patterns`)."""
        lowered = unicodedata.normalize("NFKC", text).casefold()
        return any(compiled(p).search(lowered) for p in self.duration_patterns)

    def means_dont_know(self, text: str) -> bool:
        """ "idk", "not sure", わからない: an answer that says the person does not know."""
        key = phrase_key(text)
        return bool(key) and key in {phrase_key(p) for p in self.dont_know_phrases}

    def asks_what_it_means(self, text: str) -> bool:
        """ "What does that even mean?": a question about the question, not an answer."""
        lowered = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
        return any(compiled(p).search(lowered) for p in self.clarify_patterns)

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
