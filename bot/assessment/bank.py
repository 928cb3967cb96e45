"""The question bank: `prompts/<lang>/questions.yaml`, validated.

Seed 1 §3.6 step 1 asks for a pre-assessment questionnaire refined from the answers until the
most prevalent emotion is clear. Each question offers quick replies; each reply carries its
likelihood P(reply | dominant emotion) over all 16 emotions (seed 1 Fig. 4), or, for the few
`mood` questions, P(reply | mood level 0-3) (seed 2 §V-B1). The engine turns those into a
posterior and chooses questions by expected information gain.

Ids stay short because `"<question>.<option>"` travels in Telegram callback_data (64 bytes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain import EMOTIONS, Language, MoodLevel
from bot.languages import registry_for
from bot.yaml_files import read_yaml

_ID = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
OPTION_SEPARATOR = "."
# How far a question's likelihoods for one emotion may sum away from 1 before we call it a typo.
_SUM_TOLERANCE = 0.05
MAX_LABEL_CHARS = 80


class QuestionKind(StrEnum):
    EMOTION = "emotion"
    MOOD = "mood"


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str = Field(min_length=1, max_length=MAX_LABEL_CHARS)
    likelihood: dict[str, float] | None = None
    mood_likelihood: list[float] | None = None

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"option id {value!r} must match {_ID.pattern}")
        return value

    @field_validator("likelihood")
    @classmethod
    def _all_emotions(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        names = {e.value for e in EMOTIONS}
        missing, unknown = names - value.keys(), value.keys() - names
        if missing or unknown:
            raise ValueError(
                f"likelihood must cover exactly the 16 emotions; missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        if any(not 0.0 < v <= 1.0 for v in value.values()):
            raise ValueError("likelihoods must be in (0, 1]: a zero would rule an emotion out")
        return value

    @field_validator("mood_likelihood")
    @classmethod
    def _all_levels(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        if len(value) != len(MoodLevel):
            raise ValueError("mood_likelihood needs one value per mood level 0-3")
        if any(not 0.0 < v <= 1.0 for v in value):
            raise ValueError("mood likelihoods must be in (0, 1]")
        return value


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: QuestionKind
    text: str = Field(min_length=1, max_length=400)
    options: tuple[Option, ...] = Field(min_length=2)

    @field_validator("id")
    @classmethod
    def _short_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"question id {value!r} must match {_ID.pattern}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError(f"question {self.id!r}: option ids are not unique: {ids}")
        field = "likelihood" if self.kind is QuestionKind.EMOTION else "mood_likelihood"
        for option in self.options:
            if getattr(option, field) is None:
                raise ValueError(f"question {self.id!r} option {option.id!r}: {field} missing")
        sums = self._raw_matrix().sum(axis=0)
        bad = [i for i, s in enumerate(sums) if abs(s - 1.0) > _SUM_TOLERANCE]
        if bad:
            names = [str(EMOTIONS[i]) if field == "likelihood" else str(i) for i in bad]
            raise ValueError(
                f"question {self.id!r}: P(option | {names}) over the options should sum to 1 "
                f"(got {[round(float(sums[i]), 3) for i in bad]})"
            )
        return self

    def _raw_matrix(self) -> np.ndarray:
        if self.kind is QuestionKind.EMOTION:
            return np.array(
                [[o.likelihood[e.value] for e in EMOTIONS] for o in self.options if o.likelihood]
            )
        return np.array([o.mood_likelihood for o in self.options if o.mood_likelihood])

    @cached_property
    def matrix(self) -> np.ndarray:
        """P(option | hypothesis): (options, 16 emotions or 4 mood levels), columns sum to 1."""
        raw = self._raw_matrix()
        return raw / raw.sum(axis=0, keepdims=True)

    def option_ids(self) -> list[str]:
        return [o.id for o in self.options]

    def option_index(self, option_id: str) -> int:
        for i, option in enumerate(self.options):
            if option.id == option_id:
                return i
        raise KeyError(option_id)

    def full_option_id(self, option_id: str) -> str:
        return f"{self.id}{OPTION_SEPARATOR}{option_id}"


class QuestionBank(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Language
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> QuestionBank:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"question ids are not unique: {ids}")
        if not any(q.kind is QuestionKind.EMOTION for q in self.questions):
            raise ValueError("the bank needs at least one emotion question")
        return self

    def get(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def option_ids(self) -> dict[str, list[str]]:
        return {q.id: [o.id for o in q.options] for q in self.questions}


def split_option_id(full_id: str) -> tuple[str, str]:
    """`"lately.b"` -> `("lately", "b")`; ValueError if it has no separator."""
    question_id, sep, option_id = full_id.partition(OPTION_SEPARATOR)
    if not sep or not question_id or not option_id:
        raise ValueError(f"not a '<question>.<option>' id: {full_id!r}")
    return question_id, option_id


def bank_path(prompts_dir: Path, language: Language | str) -> Path:
    return Path(prompts_dir) / str(language) / "questions.yaml"


def load_bank(prompts_dir: Path, language: Language | str) -> QuestionBank:
    """Read and validate one language's bank; ValueError names the file and what is wrong."""
    path = bank_path(prompts_dir, language)
    try:
        # The C loader when PyYAML has it (the banks are mostly numbers: 5x faster), and a
        # bank read before is not parsed again (bot/yaml_files.py).
        data = read_yaml(path)
        bank = QuestionBank.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if bank.language != Language(language):
        raise ValueError(f"{path}: says language {bank.language}, expected {language}")
    return bank


def load_banks(
    prompts_dir: Path, languages: Sequence[str] | None = None
) -> dict[Language, QuestionBank]:
    """All languages' banks (the language packs under `prompts_dir`, or `languages`); they
    must share question and option ids, so a stored state or a button pressed before a
    language switch still means the same thing."""
    codes = languages if languages is not None else registry_for(Path(prompts_dir)).codes
    banks = {Language(code): load_bank(prompts_dir, code) for code in codes}
    reference_lang, reference = next(iter(banks.items()))
    for lang, bank in banks.items():
        if bank.option_ids() != reference.option_ids():
            raise ValueError(
                f"{bank_path(prompts_dir, lang)}: question/option ids differ from "
                f"{bank_path(prompts_dir, reference_lang)}"
            )
        kinds = {q.id: q.kind for q in bank.questions}
        if kinds != {q.id: q.kind for q in reference.questions}:
            raise ValueError(f"{bank_path(prompts_dir, lang)}: question kinds differ")
    return banks
