"""What the cards flow asks of learning, as a Protocol, so bot/flows/cards.py stays unaware of
learners: weights for the next batch, a word after it, and "this helped" on a card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.conversation import Turn


class FeedLearning(Protocol):
    def type_weights(self, turn: Turn) -> dict[str, float]:
        """Card-type weights for the batch about to be chosen (and record the choice)."""
        ...

    def after_batch(self, turn: Turn) -> None:
        """Called once a batch was shown: may offer a check-in."""
        ...

    def helped(self, turn: Turn, card_type: str) -> None:
        """ "This helped" on a card of `card_type`: an immediate reward."""
        ...
