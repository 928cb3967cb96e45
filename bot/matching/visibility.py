"""Who may see what: the content-matching matrix of seed 1 §3.7 (Fig. 6-7), read from YAML.

The matrix lives in `policies/matching.yaml` so it can be read and reviewed as data; this
module validates it and answers `may_see(reader_class, content_class)`. The schema refuses a
file that would break the product's safety promises, whatever else is edited:

- toxic cards go to nobody and are held for counsellors ("User safety priority");
- vulnerable cards reach only readers who feel good: potential_healing and normal
  ("Protective measure"), never vulnerable or harmful readers;
- nobody sees their own cards (`own_cards_visible: false`; the feed query enforces it).

Inspirational and entertaining cards go to everyone ("Personalized content"), in stages
(`staged_exposure`): a new card first reaches readers who feel good; readers who feel bad
(vulnerable, harmful) only once enough readers said it helped and nobody reported it, or once a
counsellor approved it. Reports past a threshold hide a card from everyone pending review. The
schema refuses stages that would show a new card to readers who feel bad, widen it on a single
"helped", or let many reports pass without hiding it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config import PROJECT_ROOT
from bot.domain import ContentClass, UserClass
from bot.policies import load_policy_file, register_policy_schema

DEFAULT_MATCHING_PATH = PROJECT_ROOT / "policies" / "matching.yaml"
_FEELING_BAD = frozenset({UserClass.VULNERABLE, UserClass.HARMFUL})


class ContentRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    readers: frozenset[UserClass]
    hold_for_review: bool = False
    why: str = Field(min_length=1)


class StagedExposure(BaseModel):
    """When a card widens beyond its first readers, and when reports hide it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_readers: frozenset[UserClass]
    # "helped" reactions (from distinct readers) before readers who feel bad may see it; more
    # than one, so a single reader cannot widen a card alone.
    helped_to_widen: int = Field(ge=2, le=100)
    # Distinct readers' reports that hide a card from everyone until a counsellor reviews it.
    reports_to_hide: int = Field(ge=1, le=5)
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _starts_with_readers_who_feel_good(self) -> StagedExposure:
        if not self.first_readers:
            raise ValueError("staged_exposure.first_readers must not be empty")
        if self.first_readers & _FEELING_BAD:
            raise ValueError(
                "staged_exposure.first_readers must not include vulnerable or harmful readers"
            )
        return self


class MatchingPolicy(BaseModel):
    """policies/matching.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    own_cards_visible: Literal[False] = False
    content: dict[ContentClass, ContentRule]
    staged_exposure: StagedExposure

    @model_validator(mode="after")
    def _keeps_the_safety_rules(self) -> MatchingPolicy:
        missing = set(ContentClass) - set(self.content)
        if missing:
            raise ValueError(f"content classes without a rule: {sorted(missing)}")
        toxic = self.content[ContentClass.TOXIC]
        if toxic.readers or not toxic.hold_for_review:
            raise ValueError("toxic cards must go to nobody and be held for review")
        if self.content[ContentClass.VULNERABLE].readers & _FEELING_BAD:
            raise ValueError("vulnerable cards must not reach vulnerable or harmful readers")
        return self

    def may_see(self, reader_class: UserClass, content_class: ContentClass) -> bool:
        return reader_class in self.content[content_class].readers

    def visible_classes(self, reader_class: UserClass) -> frozenset[ContentClass]:
        """Content classes a reader of this class may be shown (for the feed query)."""
        return frozenset(c for c, rule in self.content.items() if reader_class in rule.readers)

    def held_for_review(self, content_class: ContentClass) -> bool:
        return self.content[content_class].hold_for_review

    def first_stage(self, reader_class: UserClass) -> bool:
        """Whether a reader of this class may see a card before it has widened."""
        return reader_class in self.staged_exposure.first_readers


register_policy_schema("policies/matching.yaml", MatchingPolicy, required=True)


@cache
def _load_cached(path: Path) -> MatchingPolicy:
    return load_policy_file(path, MatchingPolicy)


def load_matching_policy(path: Path | str | None = None) -> MatchingPolicy:
    """The policy at `path` (default: the project's policies/matching.yaml), read once per path."""
    return _load_cached(Path(path) if path is not None else DEFAULT_MATCHING_PATH)


def may_see(
    reader_class: UserClass, content_class: ContentClass, policy: MatchingPolicy | None = None
) -> bool:
    """Whether a reader of `reader_class` may be shown a card of `content_class`."""
    return (policy or load_matching_policy()).may_see(reader_class, content_class)
