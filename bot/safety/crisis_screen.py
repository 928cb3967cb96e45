"""The crisis screen: the first thing every inbound text meets, in every conversation state.

Deliberately a transparent phrase screen and not a model: it must answer in microseconds, work
offline from the first second, behave the same on every machine, and be reviewable by the
counsellors who own `policies/safety.yaml`. Its phrases cover explicit and indirect suicide and
self-harm language and danger from others, in English and Japanese; idioms ("this homework is
killing me", "死ぬほど疲れた") excuse only the danger words they wholly contain.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator

from bot.config import PROJECT_ROOT
from bot.yaml_files import read_yaml

DEFAULT_POLICY_PATH = PROJECT_ROOT / "policies" / "safety.yaml"
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ZERO_WIDTH = dict.fromkeys(map(ord, _ZERO_WIDTH_CHARS))
_ZERO_WIDTH_AS_SPACE = dict.fromkeys(map(ord, _ZERO_WIDTH_CHARS), " ")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


class WeightedPattern(BaseModel):
    pattern: str
    weight: float = Field(ge=0.0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class CategoryPolicy(BaseModel):
    label: dict[str, str]
    patterns: dict[str, list[WeightedPattern]]


class SafetyPolicy(BaseModel):
    threshold: float = Field(gt=0.0)
    idioms: dict[str, list[str]]
    softeners: dict[str, list[str]] = Field(default_factory=dict)
    categories: dict[str, CategoryPolicy]
    # What the bot itself must never say to a person (LLM-written questions are checked).
    never_say: dict[str, list[str]] = Field(default_factory=dict)
    # Days the text kept for a counsellor's review (flags, messages in a case) outlives the
    # case's resolution; then it is deleted (bot/store/cases.py). /forget deletes it at once.
    case_retention_days: int = Field(30, ge=0, le=365)

    @field_validator("idioms", "softeners", "never_say")
    @classmethod
    def _all_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for patterns in value.values():
            for pattern in patterns:
                re.compile(pattern)
        return value


@dataclass(frozen=True, slots=True)
class CrisisResult:
    is_crisis: bool
    score: float
    categories: tuple[str, ...]


def normalise(text: str, *, zero_width_as_space: bool = False) -> str:
    """The form every pattern sees: NFKC (full-width → ASCII), lower case, plain quotes.

    Zero-width characters are dropped ("k\u200bill" → "kill") or, for the second reading of a
    text that has them, read as spaces ("kill\u200bmyself" → "kill myself").
    """
    table = _ZERO_WIDTH_AS_SPACE if zero_width_as_space else _ZERO_WIDTH
    text = unicodedata.normalize("NFKC", text).translate(table).translate(_QUOTES)
    return re.sub(r"\s+", " ", text.lower()).strip()


def _wrap(pattern: str, language: str) -> str:
    """English patterns match whole words; Japanese has no spaces to mark words."""
    return rf"(?<![\w'])(?:{pattern})(?![\w'])" if language == "en" else pattern


class CrisisScreen:
    def __init__(self, policy: SafetyPolicy) -> None:
        self.policy = policy
        blanks = [
            _wrap(p, lang)
            for table in (policy.idioms, policy.softeners)
            for lang, patterns in table.items()
            for p in patterns
        ]
        self._harmless = re.compile("|".join(blanks), re.IGNORECASE) if blanks else None
        never = [_wrap(p, lang) for lang, patterns in policy.never_say.items() for p in patterns]
        self._never_say = re.compile("|".join(never)) if never else None
        self._danger: list[tuple[str, float, re.Pattern[str]]] = [
            (name, item.weight, re.compile(_wrap(item.pattern, lang), re.IGNORECASE))
            for name, category in policy.categories.items()
            for lang, items in category.patterns.items()
            for item in items
        ]

    def is_never_said(self, text: str) -> bool:
        """Whether the text says what no supporter says to someone who may be low (the policy's
        never_say): used on what an LLM wrote for the bot, not on people's messages."""
        return self._never_say is not None and bool(self._never_say.search(normalise(text)))

    def screen(self, text: str) -> CrisisResult:
        readings = [normalise(text)]
        if any(ch in text for ch in _ZERO_WIDTH_CHARS):
            readings.append(normalise(text, zero_width_as_space=True))
        score = 0.0
        hits: list[str] = []
        for clean in readings:
            # Found only once a danger pattern matches: most texts match none, and the idioms
            # are the slowest single search on a long text.
            harmless: list[tuple[int, int]] | None = None
            for name, weight, pattern in self._danger:
                if weight <= 0:
                    continue
                for match in pattern.finditer(clean):
                    if harmless is None:
                        harmless = self._harmless_spans(clean)
                    # An idiom excuses only danger words it wholly contains: "to die for" must
                    # not hide "I want to die for real".
                    if any(s <= match.start() and match.end() <= e for s, e in harmless):
                        continue
                    score = max(score, weight)
                    if name not in hits:
                        hits.append(name)
                    break
        is_crisis = score >= self.policy.threshold
        return CrisisResult(is_crisis=is_crisis, score=score, categories=tuple(hits))

    def _harmless_spans(self, clean: str) -> list[tuple[int, int]]:
        if self._harmless is None:
            return []
        return [m.span() for m in self._harmless.finditer(clean)]

    def label(self, category: str, language: str) -> str:
        labels = self.policy.categories[category].label
        return labels.get(language) or labels["en"]


def load_safety_policy(path: Path | None = None) -> SafetyPolicy:
    raw = read_yaml(path or DEFAULT_POLICY_PATH)
    return SafetyPolicy.model_validate(raw)


@cache
def default_screen() -> CrisisScreen:
    return CrisisScreen(load_safety_policy())


def screen(text: str) -> CrisisResult:
    """Screen one text with the shipped policy (for tools; the service holds its own screen)."""
    return default_screen().screen(text)
