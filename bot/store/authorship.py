"""Who wrote a card, as far as the bot may know it: read from the card's sealed link, or from a
person's private index of own cards (bot/store/keys.py).

Its own module, below the card, case and people repositories, so each of them can ask without
importing the others (the store's import chain stays one-way).
"""

from __future__ import annotations

from sqlmodel import Session

from bot.store.keys import own_refs
from bot.store.sealing import Sealer, SealError
from bot.store.tables import Card, Person


def link_purpose(author_ref: str) -> str:
    """The associated data of a card's author link: bound to that card alone."""
    return f"card.author_link:{author_ref}"


def seal_author_link(*, sealer: Sealer, author_ref: str, person_id: int) -> str:
    return sealer.seal(str(person_id), purpose=link_purpose(author_ref))


def author_id(*, sealer: Sealer, card: Card) -> int | None:
    """The author's person id, or None when the link cannot be opened (another secret)."""
    try:
        return int(sealer.unseal(card.author_link, purpose=link_purpose(card.author_ref)))
    except (SealError, ValueError):
        return None


def is_author(*, session: Session, sealer: Sealer, card: Card, person: Person) -> bool:
    """Whether the card is in the person's private index of own cards."""
    if person.id is None:
        return False
    return card.author_ref in own_refs(session=session, sealer=sealer, person_id=person.id)
