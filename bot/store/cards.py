"""Repository functions for cards, their deliveries and what readers did with them.

A card row knows its author only through `author_link` (the author's person id, AES-GCM under
the server key, bound to the card, so the bot can relay a reaction or a reply). Its
`author_ref` is random and unique to the card; a person's own cards are found for /mycards,
/forget and "never show me my own card" through their private index (bot/store/keys.py),
sealed under their own key. Nothing in a copy of the database groups one author's cards.

A delivery (`CardDelivery`) is one card or reply given to one person. Its random `token` is the
only thing a button carries, so "helped", "reply" and "report" act only on something that was
delivered to the person pressing it, and a forged or stale button cannot tell whether a card
exists. The reader is a keyed hash under the reader's own key of the card and kind
(`reader_tag`, different for every delivery), the delivered copy's chat and message ids are
encrypted: a copy of the database alone does not say who read, reacted or replied.

Transaction hygiene (docs/privacy.md): the flows write cards, deliveries and reactions through
the turn's `anon` session, a transaction apart from the one that updates the person (on
PostgreSQL), so system columns such as `xmin` do not pair a card with its author or a reaction
with its reader. The functions below take that session as `session`, and the transaction that
holds the person's key and index as `keys` (the same session when not given).

Staged exposure (seed 1 §3.7, policies/matching.yaml `staged_exposure`): a card first reaches
readers who feel good; it widens to readers who feel bad after enough "helped" and no report,
or after a counsellor's approval (`approve_card`); reports past a threshold hide it from
everyone (`UNDER_REVIEW`).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, or_, select

from bot.domain import ContentClass, MoodLevel, Polarity
from bot.store.authorship import is_author, seal_author_link
from bot.store.keys import add_own_ref, ensure_person_key, own_refs, person_key
from bot.store.outbox import enqueue_delete
from bot.store.sealing import Sealer, SealError, tag_with
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
    keys: Session | None = None,
) -> Card:
    """Store a moderated card: `held` reaches nobody, `restricted` only readers who feel good.

    The card goes into `session`; its random reference into the author's private index in
    `keys` (the turn's own transaction), so the two rows never share a transaction id."""
    assert author.id is not None
    author_ref = secrets.token_hex(16)
    add_own_ref(session=keys or session, sealer=sealer, person_id=author.id, ref=author_ref)
    card = Card(
        text=text,
        language=language,
        content_class=content_class.value,
        card_type=card_type,
        author_mood_level=int(mood_level),
        polarity_pos=polarity.pos,
        polarity_neg=polarity.neg,
        author_ref=author_ref,
        author_link=seal_author_link(sealer=sealer, author_ref=author_ref, person_id=author.id),
        status=HELD if held else PUBLISHED,
        restricted=restricted,
        reply_to_card_id=reply_to_card_id,
        created_day=today(),
        embedding=vector_to_bytes(embedding),
    )
    session.add(card)
    session.flush()
    return card


def _refs(session: Session, sealer: Sealer, person: Person) -> list[str]:
    return (
        [] if person.id is None else own_refs(session=session, sealer=sealer, person_id=person.id)
    )


def own_cards(
    *,
    session: Session,
    sealer: Sealer,
    person: Person,
    replies: bool = False,
    withdrawn: bool = False,
) -> list[Card]:
    """The person's cards still standing (with `replies`, their replies too; with `withdrawn`,
    withdrawn ones too), newest first."""
    refs = _refs(session, sealer, person)
    if not refs:
        return []
    statement = select(Card).where(col(Card.author_ref).in_(refs))
    if not replies:
        statement = statement.where(col(Card.reply_to_card_id).is_(None))
    statement = (
        statement
        if withdrawn
        else statement.where(col(Card.status).in_([PUBLISHED, HELD, UNDER_REVIEW]))
    ).order_by(col(Card.id).desc())
    return list(session.exec(statement))


def held_toxic_since(
    *, session: Session, sealer: Sealer, person: Person, since: date, keys: Session | None = None
) -> int:
    """How many of this person's cards and replies were held as toxic since a day: a pattern
    counsellors should see (policies/moderation.yaml, `repeated_toxic`)."""
    refs = _refs(keys or session, sealer, person)
    if not refs:
        return 0
    statement = select(func.count()).where(
        col(Card.author_ref).in_(refs),
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
    keys: Session | None = None,
) -> list[Card]:
    """Published peer cards the reader may see and has not been given: never their own, never
    a reply (replies go only to the card's author), newest first.

    `first_stage`: the reader may see new cards (they feel good). Otherwise only cards that
    widened: not restricted by moderation, and approved by a counsellor or said to help by
    `helped_to_widen` readers with no report at all.

    What the reader was given is known only through tags under their own key, so candidates
    are read newest first a page at a time and the ones already given are dropped here.
    """
    own = _refs(keys or session, sealer, reader)
    key = _reader_key(keys or session, sealer, reader)
    statement = select(Card).where(
        Card.status == PUBLISHED,
        col(Card.reply_to_card_id).is_(None),
        Card.language == language,
        col(Card.content_class).in_([c.value for c in content_classes]),
    )
    if own:
        statement = statement.where(col(Card.author_ref).not_in(own))
    if not first_stage:
        statement = statement.where(
            col(Card.restricted).is_(False),
            or_(
                col(Card.approved_for_vulnerable).is_(True),
                (col(Card.helped_count) >= helped_to_widen) & (col(Card.report_count) == 0),
            ),
        )
    statement = statement.order_by(col(Card.id).desc())
    found: list[Card] = []
    offset = 0
    while len(found) < limit:
        page = list(session.exec(statement.offset(offset).limit(_PAGE)))
        if not page:
            break
        offset += len(page)
        tags = {reader_tag(key, c.id, DeliveryKind.CARD): c for c in page if c.id is not None}
        given = set(
            session.exec(
                select(CardDelivery.reader_tag).where(col(CardDelivery.reader_tag).in_(list(tags)))
            )
        )
        found.extend(card for tag, card in tags.items() if tag not in given)
    return found[:limit]


_PAGE = 500


# -- deliveries ---------------------------------------------------------------------------------
def _reader_key(session: Session, sealer: Sealer, person: Person) -> bytes:
    assert person.id is not None
    return ensure_person_key(session=session, sealer=sealer, person_id=person.id)


def reader_tag(key: bytes, card_id: int | None, kind: DeliveryKind | str) -> str:
    """Who a delivery went to: a keyed hash under the reader's own key of this card and kind.
    Every delivery gets a different one, so a copy of the database can neither group one
    reader's deliveries nor, without the reader's key, say whose they are."""
    return tag_with(key, "card_delivery.reader_tag", f"{card_id}:{DeliveryKind(kind).value}")


def deliver(
    *,
    session: Session,
    sealer: Sealer,
    card: Card,
    reader: Person,
    kind: DeliveryKind,
    keys: Session | None = None,
) -> CardDelivery:
    """The delivery of `card` to `reader` (made once; a second call returns the same one)."""
    assert card.id is not None
    tag = reader_tag(_reader_key(keys or session, sealer, reader), card.id, kind)
    existing = session.exec(
        select(CardDelivery).where(
            CardDelivery.card_id == card.id,
            CardDelivery.reader_tag == tag,
            CardDelivery.kind == kind.value,
        )
    ).first()
    if existing is not None:
        return existing
    delivery = CardDelivery(
        token=secrets.token_urlsafe(TOKEN_BYTES), card_id=card.id, reader_tag=tag, kind=kind.value
    )
    session.add(delivery)
    session.flush()
    return delivery


def delivery_for(
    *,
    session: Session,
    sealer: Sealer,
    token: str,
    person: Person,
    keys: Session | None = None,
) -> tuple[CardDelivery, Card] | None:
    """The delivery behind a button's token, if it was made for this person; None for anything
    else (malformed, unknown, or someone else's), so a refusal looks like a missing card."""
    if not _TOKEN.fullmatch(token):
        return None
    delivery = session.exec(select(CardDelivery).where(CardDelivery.token == token)).first()
    if delivery is None or delivery.kind not in {k.value for k in DeliveryKind}:
        return None
    expected = reader_tag(
        _reader_key(keys or session, sealer, person), delivery.card_id, delivery.kind
    )
    if not secrets.compare_digest(delivery.reader_tag, expected):
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


def forget_reader(*, session: Session, sealer: Sealer, person: Person) -> int:
    """/forget: every delivery to this person goes (their reactions stay counted on cards).

    Their deliveries are recognisable only under their key, so this reads every delivery's
    (card, kind, tag) and recomputes the person's tag: a scan, acceptable for something as
    rare as /forget. Must run before the key is destroyed."""
    if person.id is None:
        return 0
    key = person_key(session=session, sealer=sealer, person_id=person.id)
    if key is None:
        return 0
    mine = [
        row_id
        for row_id, card_id, kind, tag in session.exec(
            select(
                CardDelivery.id, CardDelivery.card_id, CardDelivery.kind, CardDelivery.reader_tag
            )
        )
        if kind in {k.value for k in DeliveryKind}
        and hmac.compare_digest(tag, reader_tag(key, card_id, kind))
    ]
    for start in range(0, len(mine), _PAGE):
        chunk = mine[start : start + _PAGE]
        session.exec(delete(CardDelivery).where(col(CardDelivery.id).in_(chunk)))
    return len(mine)


# -- the author's own cards: withdraw tokens ----------------------------------------------------
def withdraw_token(key: bytes, author_ref: str) -> str:
    """The token of a /mycards "withdraw" button: a keyed hash under the author's key of the
    card's reference, so no row records that the card was listed to its author."""
    digest = hmac.new(key, f"withdraw\x00{author_ref}".encode(), "sha256").digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode("ascii").rstrip("=")


def own_card_for_token(
    *, session: Session, sealer: Sealer, person: Person, token: str, keys: Session | None = None
) -> Card | None:
    """The person's own card behind a withdraw token; None for anything else."""
    if not _TOKEN.fullmatch(token) or person.id is None:
        return None
    key = person_key(session=keys or session, sealer=sealer, person_id=person.id)
    if key is None:
        return None
    for ref in own_refs(session=keys or session, sealer=sealer, person_id=person.id):
        if hmac.compare_digest(withdraw_token(key, ref), token):
            return session.exec(select(Card).where(Card.author_ref == ref)).first()
    return None


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
    sent_at: datetime | None = None,
) -> bool:
    """Remember, encrypted, where a delivery's copy landed and when (the time only inside the
    seal: in the clear it would date a reader's reading), so withdrawing can delete it."""
    delivery = session.exec(select(CardDelivery).where(CardDelivery.token == token)).first()
    if delivery is None or not message_ids:
        return False
    copy = {
        "channel": channel,
        "chat": chat_ref,
        "messages": [int(m) for m in message_ids],
        "sent": (sent_at or utcnow()).isoformat(),
    }
    delivery.sealed_copy = sealer.seal(json.dumps(copy), purpose=_copy_purpose(token))
    session.add(delivery)
    return True


def withdraw_card(
    *,
    session: Session,
    sealer: Sealer,
    person: Person,
    card: Card,
    delete_window: timedelta,
    keys: Session | None = None,
) -> Withdrawal | None:
    """Withdraw the author's card and queue the deletion of every delivered copy the channel can
    still delete (sent within `delete_window`); None when it is not their card."""
    if (
        not is_author(session=keys or session, sealer=sealer, card=card, person=person)
        or card.status == WITHDRAWN
    ):
        return None
    return withdraw_copies(session=session, sealer=sealer, card=card, delete_window=delete_window)


def withdraw_copies(
    *, session: Session, sealer: Sealer, card: Card, delete_window: timedelta
) -> Withdrawal:
    """Mark the card withdrawn and queue the deletion of its copies still deletable (also
    used by /forget for each of the person's cards and replies)."""
    card.status = WITHDRAWN
    session.add(card)
    deliveries = session.exec(select(CardDelivery).where(CardDelivery.card_id == card.id)).all()
    oldest_deletable = utcnow() - delete_window
    removed = kept = 0
    for delivery in deliveries:
        copy = _open_copy(sealer, delivery.sealed_copy, delivery.token)
        if copy is None or copy[3] < oldest_deletable:
            kept += 1
        else:
            channel, chat, messages, _sent = copy
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


def _copy_purpose(token: str) -> str:
    return f"card_delivery.sealed_copy:{token}"


def _open_copy(
    sealer: Sealer, sealed: str | None, token: str
) -> tuple[str, str, list[int], datetime] | None:
    if not sealed:
        return None
    try:
        copy = json.loads(sealer.unseal(sealed, purpose=_copy_purpose(token)))
        sent = datetime.fromisoformat(str(copy["sent"]))
        return (
            str(copy["channel"]),
            str(copy["chat"]),
            [int(m) for m in copy["messages"]],
            sent if sent.tzinfo else sent.replace(tzinfo=UTC),
        )
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
