"""From what a person typed to a card or reply that can be shown to strangers: moderation.

Every text bound for another person passes `bot.moderation.pipeline.Moderator` (scrub, crisis
screen, content reading, a fail-closed decision), so /share and replies decide alike. The draft
keeps only the scrubbed text and the decision while its author looks at the preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from bot.domain import ContentClass, Polarity, UserClass
from bot.moderation.decision import AuthorNames, Verdict
from bot.moderation.pipeline import Moderator
from bot.yaml_files import read_yaml


class CardsPolicy(BaseModel):
    candidate_pool: int = Field(gt=0)
    preview_chars: int = Field(gt=0)
    unassessed_reader_class: UserClass
    # Telegram lets a bot delete its own messages for 48 hours; the margin covers the outbox.
    withdraw_delete_window_hours: float = Field(gt=0, le=48)

    @property
    def delete_window(self) -> timedelta:
        return timedelta(hours=self.withdraw_delete_window_hours)


@cache
def load_cards_policy(path: Path) -> CardsPolicy:
    return CardsPolicy.model_validate(read_yaml(path))


@dataclass(frozen=True, slots=True)
class Draft:
    """A moderated text waiting for its author's "send": what would be relayed, and its fate."""

    text: str
    removed_summary: str
    removed_count: int
    content_class: ContentClass
    polarity: Polarity
    verdict: Verdict
    crisis: bool = False
    crisis_categories: tuple[str, ...] = ()
    may_identify: tuple[str, ...] = ()

    @property
    def held(self) -> bool:
        return self.verdict is Verdict.HOLD

    @property
    def restricted(self) -> bool:
        return self.verdict is Verdict.RESTRICT

    def as_state(self) -> dict[str, object]:
        """What the conversation keeps while the author decides (the scrubbed text only)."""
        return {
            "text": self.text,
            "removed": self.removed_summary,
            "content_class": self.content_class.value,
            "verdict": self.verdict.value,
            "pos": self.polarity.pos,
            "neg": self.polarity.neg,
        }

    @classmethod
    def from_state(cls, data: dict[str, object]) -> Draft | None:
        """The draft kept by `as_state`; None when the state holds none (or an old one, from
        before moderation decided drafts: it is moderated again rather than trusted)."""
        try:
            return cls(
                text=str(data["text"]),
                removed_summary=str(data.get("removed") or ""),
                removed_count=0,
                content_class=ContentClass(str(data["content_class"])),
                polarity=Polarity(float(str(data["pos"])), float(str(data["neg"]))),
                verdict=Verdict(str(data["verdict"])),
            )
        except (KeyError, ValueError):
            return None


def compose(
    moderator: Moderator, text: str, language: str, author_names: AuthorNames | None = None
) -> Draft:
    decision = moderator.moderate(text, language, author_names=author_names)
    return Draft(
        text=decision.scrubbed,
        removed_summary=decision.removed_summary,
        removed_count=decision.removed_count,
        content_class=decision.content_class,
        polarity=decision.polarity,
        verdict=decision.decision,
        crisis=decision.crisis,
        crisis_categories=decision.crisis_categories,
        may_identify=decision.may_identify,
    )
