"""What moderation decides about one text, and why it fails closed.

Seed 1 §3.7 ("User safety priority", "Protective measure"): toxic content reaches nobody, and
vulnerable content never reaches a reader who is feeling bad. A decision is one of three:

- `publish`: the text may go to the reader classes in `readers` (a new card's first stage is
  potential_healing and normal readers; vulnerable readers come later, by the staged-exposure
  rules in `policies/moderation.yaml`, or after a counsellor approves it);
- `restrict`: potential_healing and normal readers only, whatever later happens to the card
  (sad or vulnerable content, and anything read with low confidence);
- `hold`: nobody; the text waits for a counsellor (toxic, crisis, unreadable, or the
  moderation itself failed).

Whatever a model cannot read, or reads with low confidence, takes the safe side: `restrict` or
`hold`, never `publish`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.domain import AuthorNames, ContentClass, Polarity, UserClass

__all__ = ["AuthorNames", "ModerationDecision", "Verdict"]


class Verdict(StrEnum):
    PUBLISH = "publish"
    RESTRICT = "restrict"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class ModerationDecision:
    """One text's fate. `scrubbed` is the text exactly as it would be relayed."""

    decision: Verdict
    readers: frozenset[UserClass]
    content_class: ContentClass
    crisis: bool
    scrubbed: str
    polarity: Polarity
    reasons: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    crisis_categories: tuple[str, ...] = ()
    removed_summary: str = ""
    removed_count: int = 0
    # Organisation or place names the preview should warn about ("this may identify you").
    may_identify: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The `needtotalk moderate --json` line (no score is rounded away)."""
        return {
            "decision": self.decision.value,
            "readers": sorted(r.value for r in self.readers),
            "content_class": self.content_class.value,
            "crisis": self.crisis,
            "scores": self.scores,
            "reasons": list(self.reasons),
            "scrubbed": self.scrubbed,
        }
