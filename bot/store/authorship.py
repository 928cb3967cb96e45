"""Who wrote a card, as far as the bot may know it: read from the card's sealed references.

Its own module, below the card, case and people repositories, so each of them can ask without
importing the others (the store's import chain stays one-way).
"""

from __future__ import annotations

from bot.store.sealing import Sealer, SealError
from bot.store.tables import Card, Person


def author_id(*, sealer: Sealer, card: Card) -> int | None:
    """The author's person id, or None when the link cannot be opened (another secret)."""
    try:
        return int(sealer.unseal(card.author_link))
    except (SealError, ValueError):
        return None


def is_author(*, sealer: Sealer, card: Card, person: Person) -> bool:
    return card.author_seal == sealer.author_seal(person.key)
