"""policies/moderation.yaml: who may read what, and the moderation model's thresholds.

The schema is the last line of the fail-closed promise (seed 1 §3.7): a policy file that would let
toxic or crisis text reach anyone, or vulnerable text reach a vulnerable or harmful reader, is
refused by `needtotalk policies check` and at load, so no edit can open that door quietly.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config import PROJECT_ROOT
from bot.domain import ContentClass, UserClass
from bot.languages import ANALYSERS
from bot.policies import load_policy_file, register_policy_schema

DEFAULT_POLICIES_DIR = PROJECT_ROOT / "policies"
FEELING_BAD = frozenset({UserClass.VULNERABLE, UserClass.HARMFUL})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionReaders(_Strict):
    publish: frozenset[UserClass]
    restrict: frozenset[UserClass]
    hold: frozenset[UserClass]

    @model_validator(mode="after")
    def _fail_closed(self) -> DecisionReaders:
        if self.hold:
            raise ValueError("readers.hold must be empty: held text reaches nobody")
        for name in ("publish", "restrict"):
            bad = getattr(self, name) & FEELING_BAD
            if bad:
                raise ValueError(
                    f"readers.{name} may not include {sorted(c.value for c in bad)}: a new or "
                    "restricted text never reaches a reader who feels bad"
                )
        return self


class ContentReaders(_Strict):
    inspirational: frozenset[UserClass]
    entertaining: frozenset[UserClass]
    vulnerable: frozenset[UserClass]
    toxic: frozenset[UserClass]

    @model_validator(mode="after")
    def _fail_closed(self) -> ContentReaders:
        if self.toxic:
            raise ValueError("content_readers.toxic must be empty: toxic text reaches nobody")
        bad = self.vulnerable & FEELING_BAD
        if bad:
            raise ValueError(
                f"content_readers.vulnerable may not include {sorted(c.value for c in bad)}"
            )
        return self

    def of(self, content_class: ContentClass) -> frozenset[UserClass]:
        readers: frozenset[UserClass] = getattr(self, content_class.value)
        return readers


class ModerationThresholds(_Strict):
    # A hold threshold above 0.9 would let text the model is 90 % sure is toxic or a crisis
    # through: refused. A restrict threshold above 0.5 would publish text that is more likely bad
    # than good; a publish confidence below 0.5 would publish text more likely bad than good.
    toxic_hold: float = Field(gt=0.0, le=0.9)
    # A higher toxic hold for the text an analyser reads less well (by the analyser's name, as
    # a pack's manifest names it: "ja"), never lower than `toxic_hold`. A model-only toxic reading
    # between the two restricts instead of holding. Every pack whose moderation analyser is
    # named here gets it; a pack with another gets `toxic_hold`, one with none holds its cards
    # as unreadable before any threshold is read (docs/languages.md).
    toxic_hold_by_analyser: dict[str, Annotated[float, Field(gt=0.0, le=0.9)]] = Field(
        default_factory=dict
    )
    abusive_hold: float = Field(gt=0.0, le=0.9)
    crisis_hold: float = Field(gt=0.0, le=0.9)
    # The crisis screen's classifier alone (no rule matched) holds a text as a crisis from this
    # probability; between its own threshold and this one the text is restricted (never reaches
    # a reader who feels bad). Every text a person sends met the full screen as a message first
    # (bot/conversation.py), so the author has had the crisis answer whenever it fired there.
    crisis_classifier_hold: float = Field(0.85, gt=0.0, le=0.9)
    bad_restrict: float = Field(gt=0.0, le=0.5)
    publish_confidence: float = Field(ge=0.5, lt=1.0)
    # A text is published only when the crisis screen's classifier read it below this: fairly
    # sure it is not a crisis (the screen's own "fairly sure", recovery.max_probability in
    # policies/safety.yaml). At or above it, or when the classifier could not read the text, it
    # is restricted. Above 0.5 it would publish text the classifier finds more likely a crisis
    # than not: refused.
    crisis_publish_below: float = Field(0.3, gt=0.0, le=0.5)

    @model_validator(mode="after")
    def _by_analyser_not_below(self) -> ModerationThresholds:
        unknown = sorted(set(self.toxic_hold_by_analyser) - set(ANALYSERS))
        if unknown:
            raise ValueError(
                f"toxic_hold_by_analyser names no analyser the code has: {unknown} "
                f"(analysers: {', '.join(ANALYSERS)})"
            )
        for analyser, value in self.toxic_hold_by_analyser.items():
            if value < self.toxic_hold:
                raise ValueError(f"toxic_hold_by_analyser.{analyser} may not be below toxic_hold")
        return self

    def toxic_hold_for(self, analyser: str) -> float:
        """The toxic hold for text the moderation analyser `analyser` reads."""
        return self.toxic_hold_by_analyser.get(analyser, self.toxic_hold)


class RepeatedToxic(_Strict):
    """When one person's toxic cards or replies become a pattern a counsellor should see."""

    held: int = Field(ge=2, le=20)  # this many held toxic texts by one writer...
    within_days: int = Field(ge=1, le=90)  # ...within this many days open a case on the writer


class ModerationPolicy(_Strict):
    version: int
    readers: DecisionReaders
    content_readers: ContentReaders
    thresholds: ModerationThresholds
    unreadable: Literal["hold", "restrict"]
    repeated_toxic: RepeatedToxic


def load_moderation_policy(policies_dir: Path | None = None) -> ModerationPolicy:
    return _load((policies_dir or DEFAULT_POLICIES_DIR).resolve())


@cache
def _load(policies_dir: Path) -> ModerationPolicy:
    return load_policy_file(policies_dir / "moderation.yaml", ModerationPolicy)


register_policy_schema("policies/moderation.yaml", ModerationPolicy, required=True)
