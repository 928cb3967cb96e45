"""From what a person typed to a card that can be shown to strangers: scrub, then classify.

Order matters: the scrubber runs first, so the classifier, the database and every later reader
only ever see the scrubbed text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from bot.cards.scrub import scrub
from bot.domain import ContentClass, Polarity, UserClass
from bot.emotion.content_class import classify_content
from bot.yaml_files import read_yaml


class CardsPolicy(BaseModel):
    candidate_pool: int = Field(gt=0)
    preview_chars: int = Field(gt=0)
    unassessed_reader_class: UserClass


@cache
def load_cards_policy(path: Path) -> CardsPolicy:
    return CardsPolicy.model_validate(read_yaml(path))


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    removed_summary: str
    removed_count: int
    content_class: ContentClass
    polarity: Polarity

    def as_state(self) -> dict[str, object]:
        """What the conversation keeps while the author decides (the scrubbed text only)."""
        return {
            "text": self.text,
            "removed": self.removed_summary,
            "content_class": self.content_class.value,
            "pos": self.polarity.pos,
            "neg": self.polarity.neg,
        }


def compose_card(text: str, language: str) -> Draft:
    scrubbed = scrub(text, language)
    result = classify_content(scrubbed.text)
    return Draft(
        text=scrubbed.text,
        removed_summary=scrubbed.summary(language) if scrubbed.removed else "",
        removed_count=len(scrubbed.removed),
        content_class=result.content_class,
        polarity=result.reading.polarity,
    )
