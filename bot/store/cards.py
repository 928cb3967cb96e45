"""Repository functions for cards and what readers did with them.

A card row knows its author only through two sealed values: `author_seal` (a keyed hash, so a
person's own cards can be found for /mycards, /forget and "never show me my own card") and
`author_link` (the author's person id, encrypted, so the bot can relay a reaction or a reply).
Neither means anything without the server secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sqlmodel import Session, col, select

from bot.domain import ContentClass, MoodLevel, Polarity
from bot.store.sealing import Sealer, SealError
from bot.store.tables import Card, CardView, Person, today

PUBLISHED = "published"
HELD = "held"  # toxic: reaches nobody, waits for a counsellor
WITHDRAWN = "withdrawn"


def vector_to_bytes(vector: NDArray[np.float32] | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def bytes_to_vector(raw: bytes | None) -> NDArray[np.float32] | None:
    return None if raw is None else np.frombuffer(raw, dtype=np.float32)


def create_card(
    *,
    session: Session,
    sealer: Sealer,
    author: Person,
    text: str,
    language: str,
    content_class: ContentClass,
    card_type: str,
    mood_level: MoodLevel,
    polarity: Polarity,
    embedding: NDArray[np.float32] | None,
    reply_to_card_id: int | None = None,
) -> Card:
    assert author.id is not None
    card = Card(
        text=text,
        language=language,
        content_class=content_class.value,
        card_type=card_type,
        author_mood_level=int(mood_level),
        polarity_pos=polarity.pos,
        polarity_neg=polarity.neg,
        author_seal=sealer.author_seal(author.key),
        author_link=sealer.seal(str(author.id)),
        status=HELD if content_class is ContentClass.TOXIC else PUBLISHED,
        reply_to_card_id=reply_to_card_id,
        created_day=today(),
        embedding=vector_to_bytes(embedding),
    )
    session.add(card)
    session.flush()
    return card


def author_id(*, sealer: Sealer, card: Card) -> int | None:
    try:
        return int(sealer.unseal(card.author_link))
    except (SealError, ValueError):
        return None


def own_cards(*, session: Session, sealer: Sealer, person: Person) -> list[Card]:
    seal = sealer.author_seal(person.key)
    statement = (
        select(Card)
        .where(Card.author_seal == seal, col(Card.reply_to_card_id).is_(None))
        .where(col(Card.status).in_([PUBLISHED, HELD]))
        .order_by(col(Card.id).desc())
    )
    return list(session.exec(statement))


def withdraw_card(*, session: Session, sealer: Sealer, person: Person, card_id: int) -> bool:
    card = session.get(Card, card_id)
    if card is None or card.author_seal != sealer.author_seal(person.key):
        return False
    card.status = WITHDRAWN
    session.add(card)
    return True


def feed_candidates(
    *,
    session: Session,
    sealer: Sealer,
    reader: Person,
    language: str,
    content_classes: Sequence[ContentClass],
    limit: int,
) -> list[Card]:
    """Published peer cards the reader may see and has not been shown: never their own, never
    a reply (replies go only to the card's author), newest first."""
    assert reader.id is not None
    seen = select(CardView.card_id).where(CardView.person_id == reader.id)
    statement = (
        select(Card)
        .where(
            Card.status == PUBLISHED,
            col(Card.reply_to_card_id).is_(None),
            Card.author_seal != sealer.author_seal(reader.key),
            Card.language == language,
            col(Card.content_class).in_([c.value for c in content_classes]),
            col(Card.id).not_in(seen),
        )
        .order_by(col(Card.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def record_view(*, session: Session, person_id: int, card_id: int) -> None:
    session.add(CardView(person_id=person_id, card_id=card_id))


class Reaction(StrEnum):
    SET = "set"
    AGAIN = "again"  # the same reaction twice (a double tap): do nothing twice
    UNSEEN = "unseen"  # never shown to this reader


def set_reaction(*, session: Session, person_id: int, card_id: int, reaction: str) -> Reaction:
    """Record what a reader did with a card they were shown."""
    view = session.exec(
        select(CardView).where(CardView.person_id == person_id, CardView.card_id == card_id)
    ).first()
    if view is None:
        return Reaction.UNSEEN
    if view.reaction == reaction:
        return Reaction.AGAIN
    view.reaction = reaction
    session.add(view)
    return Reaction.SET
