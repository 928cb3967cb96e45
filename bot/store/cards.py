"""Repository functions for cards, their deliveries and what readers did with them.

A card row knows its author only through two sealed values: `author_seal` (a keyed hash, so a
person's own cards can be found for /mycards, /forget and "never show me my own card") and
`author_link` (the author's person id, encrypted, so the bot can relay a reaction or a reply).
Neither means anything without the server secret.

A delivery (`CardDelivery`) is one card or reply given to one person. Its random `token` is the
only thing a button carries, so "helped", "reply" and "report" act only on something that was
delivered to the person pressing it, and a forged or stale button cannot tell whether a card
exists. The reader is a keyed hash (`reader_seal`), the delivered copy's chat and message ids
are encrypted: a copy of the database alone does not say who read what.

Staged exposure (seed 1 §3.7, policies/matching.yaml `staged_exposure`): a card first reaches
readers who feel good; it widens to readers who feel bad after enough "helped" and no report,
or after a counsellor's approval (`approve_card`); reports past a threshold hide it from
everyone (`UNDER_REVIEW`).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, or_, select

from bot.domain import ContentClass, MoodLevel, Polarity
from bot.store.authorship import is_author
from bot.store.outbox import enqueue_delete
from bot.store.sealing import Sealer, SealError
from bot.store.tables import Card, CardDelivery, Person, today, utcnow

PUBLISHED = "published"
HELD = "held"  # toxic, crisis or unreadable: reaches nobody, waits for a counsellor
UNDER_REVIEW = "under_review"  # reported by enough readers: hidden from everyone until reviewed
WITHDRAWN = "withdrawn"
REJECTED = "rejected"  # a counsellor rejected a held card or reply: reaches nobody, ever
HIDDEN = "hidden"  # a counsellor hid a published card


class DeliveryKind(StrEnum):
    CARD = "card"  # a peer card shown in /read: helped, reply, report
    REPLY = "reply"  # a reply relayed to a card's author: report only
    OWN = "own"  # the author's own card listed in /mycards: withdraw only


# secrets.token_urlsafe(16): 22 characters of [A-Za-z0-9_-]; "c:withdraw:" + token < 64 bytes.
TOKEN_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


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
    held: bool,
    restricted: bool,
    reply_to_card_id: int | None = None,
) -> Card:
    """Store a moderated card: `held` reaches nobody, `restricted` only readers who feel good."""
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
        status=HELD if held else PUBLISHED,
        restricted=restricted,
        reply_to_card_id=reply_to_card_id,
        created_day=today(),
        embedding=vector_to_bytes(embedding),
    )
    session.add(card)
    session.flush()
    return card


def own_cards(*, session: Session, sealer: Sealer, person: Person) -> list[Card]:
    seal = sealer.author_seal(person.key)
    statement = (
        select(Card)
        .where(Card.author_seal == seal, col(Card.reply_to_card_id).is_(None))
        .where(col(Card.status).in_([PUBLISHED, HELD, UNDER_REVIEW]))
        .order_by(col(Card.id).desc())
    )
    return list(session.exec(statement))


def held_toxic_since(*, session: Session, sealer: Sealer, person: Person, since: date) -> int:
    """How many of this person's cards and replies were held as toxic since a day: a pattern
    counsellors should see (policies/moderation.yaml, `repeated_toxic`)."""
    statement = select(func.count()).where(
        Card.author_seal == sealer.author_seal(person.key),
        Card.status == HELD,
        Card.content_class == ContentClass.TOXIC.value,
        Card.created_day >= since,
    )
    return int(session.exec(statement).one())


def approve_card(*, session: Session, card_id: int, allow_vulnerable: bool = True) -> bool:
    """A counsellor's review (the counsellor console calls this): the card is published again
    if it was held or hidden by reports, and with `allow_vulnerable` it may reach readers who
    feel bad at once, as far as the matching matrix allows its content class. A card moderation
    restricted stays with readers who feel good. False when there is no such card."""
    card = session.get(Card, card_id)
    if card is None or card.status == WITHDRAWN:
        return False
    card.status = PUBLISHED
    card.approved_for_vulnerable = allow_vulnerable
    card.reviewed_at = utcnow()
    session.add(card)
    session.flush()
    return True


def feed_candidates(
    *,
    session: Session,
    sealer: Sealer,
    reader: Person,
    language: str,
    content_classes: Sequence[ContentClass],
    limit: int,
    first_stage: bool,
    helped_to_widen: int,
) -> list[Card]:
    """Published peer cards the reader may see and has not been given: never their own, never
    a reply (replies go only to the card's author), newest first.

    `first_stage`: the reader may see new cards (they feel good). Otherwise only cards that
    widened: not restricted by moderation, and approved by a counsellor or said to help by
    `helped_to_widen` readers with no report at all.
    """
    seal = reader_seal(sealer, reader)
    given = select(CardDelivery.card_id).where(CardDelivery.reader_seal == seal)
    statement = select(Card).where(
        Card.status == PUBLISHED,
        col(Card.reply_to_card_id).is_(None),
        Card.author_seal != sealer.author_seal(reader.key),
        Card.language == language,
        col(Card.content_class).in_([c.value for c in content_classes]),
        col(Card.id).not_in(given),
    )
    if not first_stage:
        statement = statement.where(
            col(Card.restricted).is_(False),
            or_(
                col(Card.approved_for_vulnerable).is_(True),
                (col(Card.helped_count) >= helped_to_widen) & (col(Card.report_count) == 0),
            ),
        )
    return list(session.exec(statement.order_by(col(Card.id).desc()).limit(limit)))


# -- deliveries ---------------------------------------------------------------------------------
def reader_seal(sealer: Sealer, person: Person) -> str:
    """Who a delivery went to, as a keyed hash of its own purpose: not the person key, not the
    author seal, so a database copy pairs it with neither."""
    return sealer.keyed_hash("reader", person.key)


def deliver(
    *, session: Session, sealer: Sealer, card: Card, reader: Person, kind: DeliveryKind
) -> CardDelivery:
    """The delivery of `card` to `reader` (made once; a second call returns the same one)."""
    assert card.id is not None
    seal = reader_seal(sealer, reader)
    existing = session.exec(
        select(CardDelivery).where(
            CardDelivery.card_id == card.id,
            CardDelivery.reader_seal == seal,
            CardDelivery.kind == kind.value,
        )
    ).first()
    if existing is not None:
        return existing
    delivery = CardDelivery(
        token=secrets.token_urlsafe(TOKEN_BYTES), card_id=card.id, reader_seal=seal, kind=kind.value
    )
    session.add(delivery)
    session.flush()
    return delivery


def delivery_for(
    *, session: Session, sealer: Sealer, token: str, person: Person
) -> tuple[CardDelivery, Card] | None:
    """The delivery behind a button's token, if it was made for this person; None for anything
    else (malformed, unknown, or someone else's), so a refusal looks like a missing card."""
    if not _TOKEN.fullmatch(token):
        return None
    delivery = session.exec(select(CardDelivery).where(CardDelivery.token == token)).first()
    if delivery is None or not secrets.compare_digest(
        delivery.reader_seal, reader_seal(sealer, person)
    ):
        return None
    card = session.get(Card, delivery.card_id)
    return None if card is None else (delivery, card)


def mark_helped(*, session: Session, delivery: CardDelivery) -> bool:
    """True the first time this reader says the card helped (and they have not reported it)."""
    if delivery.helped or delivery.reported:
        return False
    delivery.helped = True
    session.add(delivery)
    session.exec(
        update(Card)
        .where(col(Card.id) == delivery.card_id)
        .values(helped_count=col(Card.helped_count) + 1)
    )
    session.flush()
    return True


def mark_replied(*, session: Session, delivery: CardDelivery) -> None:
    delivery.replied = True
    session.add(delivery)


def mark_reported(*, session: Session, delivery: CardDelivery, reports_to_hide: int) -> bool:
    """True the first time this reader reports the card; enough reports hide it from everyone
    until a counsellor reviews it."""
    if delivery.reported:
        return False
    delivery.reported = True
    session.add(delivery)
    session.exec(
        update(Card)
        .where(col(Card.id) == delivery.card_id)
        .values(report_count=col(Card.report_count) + 1)
    )
    session.flush()
    card = session.get(Card, delivery.card_id)
    if card is not None:
        session.refresh(card)
        if card.status == PUBLISHED and card.report_count >= reports_to_hide:
            card.status = UNDER_REVIEW
            session.add(card)
    return True


def forget_reader(*, session: Session, sealer: Sealer, person: Person) -> None:
    """/forget: every delivery to this person goes (their reactions stay counted on cards)."""
    seal = reader_seal(sealer, person)
    session.exec(delete(CardDelivery).where(col(CardDelivery.reader_seal) == seal))


# -- delivered copies and withdrawing -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What withdrawing did: copies queued for deletion, and copies that stay in their chats."""

    removed: int
    kept: int


def record_copy(
    *,
    session: Session,
    sealer: Sealer,
    token: str,
    channel: str,
    chat_ref: str,
    message_ids: Sequence[int],
) -> bool:
    """Remember, encrypted, where a delivery's copy landed, so withdrawing can delete it."""
    delivery = session.exec(select(CardDelivery).where(CardDelivery.token == token)).first()
    if delivery is None or not message_ids:
        return False
    copy = {"channel": channel, "chat": chat_ref, "messages": [int(m) for m in message_ids]}
    delivery.sealed_copy = sealer.seal(json.dumps(copy))
    delivery.copy_sent_at = utcnow()
    session.add(delivery)
    return True


def withdraw_card(
    *,
    session: Session,
    sealer: Sealer,
    person: Person,
    card: Card,
    delete_window: timedelta,
) -> Withdrawal | None:
    """Withdraw the author's card and queue the deletion of every delivered copy the channel can
    still delete (sent within `delete_window`); None when it is not their card."""
    if not is_author(sealer=sealer, card=card, person=person) or card.status == WITHDRAWN:
        return None
    card.status = WITHDRAWN
    session.add(card)
    deliveries = session.exec(
        select(CardDelivery).where(
            CardDelivery.card_id == card.id, CardDelivery.kind == DeliveryKind.CARD.value
        )
    ).all()
    oldest_deletable = utcnow() - delete_window
    removed = kept = 0
    for delivery in deliveries:
        copy = _open_copy(sealer, delivery.sealed_copy)
        sent_at = delivery.copy_sent_at
        if sent_at is not None and sent_at.tzinfo is None:  # SQLite returns naive UTC
            sent_at = sent_at.replace(tzinfo=oldest_deletable.tzinfo)
        if copy is None or sent_at is None or sent_at < oldest_deletable:
            kept += 1
        else:
            channel, chat, messages = copy
            enqueue_delete(
                session=session,
                sealer=sealer,
                address=chat,
                channel=channel,
                message_ids=messages,
            )
            removed += 1
        delivery.sealed_copy = None
        session.add(delivery)
    return Withdrawal(removed=removed, kept=kept)


def _open_copy(sealer: Sealer, sealed: str | None) -> tuple[str, str, list[int]] | None:
    if not sealed:
        return None
    try:
        copy = json.loads(sealer.unseal(sealed))
        return str(copy["channel"]), str(copy["chat"]), [int(m) for m in copy["messages"]]
    except (SealError, ValueError, KeyError, TypeError):
        return None


class DeliveredCopies:
    """The channel's side (bot.domain.DeliveredCopies): after sending a message that carries a
    delivery token, the channel reports where it landed."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer

    def copy_sent(
        self, token: str, channel: str, chat_ref: str, message_ids: Sequence[int]
    ) -> None:
        with Session(self._engine) as session:
            record_copy(
                session=session,
                sealer=self._sealer,
                token=token,
                channel=channel,
                chat_ref=chat_ref,
                message_ids=message_ids,
            )
            session.commit()
