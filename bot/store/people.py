"""Repository functions for people, their delivery addresses, flags and /forget.

Functions take a keyword-only `session` so the caller owns the transaction (one per inbound
message in the conversation service).
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.store.cards import forget_reader
from bot.store.cases import file_flag, forget_cases
from bot.store.sealing import Sealer
from bot.store.tables import (
    Card,
    CardDelivery,
    CheckIn,
    DeliveryAddress,
    Flag,
    LearnedValue,
    OutboxMessage,
    Person,
)


def get_person(*, session: Session, key: str) -> Person | None:
    return session.exec(select(Person).where(Person.key == key)).first()


def get_or_create_person(
    *, session: Session, sealer: Sealer, channel: str, user_ref: str, language: str
) -> tuple[Person, bool]:
    """The person behind a channel id; the id itself is kept only encrypted, for delivery."""
    key = sealer.person_key(channel, user_ref)
    person = get_person(session=session, key=key)
    if person is not None:
        return person, False
    # An upsert, so two workers seeing a new person's first messages at once both succeed:
    # the one whose insert lands creates the person and their address, the other finds them.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Person)
        .values(Person(key=key, language=language).model_dump(exclude={"id"}))
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(Person.id))
    )
    created = session.execute(statement).first() is not None
    person = get_person(session=session, key=key)
    assert person is not None
    if created:
        assert person.id is not None
        session.add(
            DeliveryAddress(person_id=person.id, channel=channel, sealed_ref=sealer.seal(user_ref))
        )
        session.flush()
    return person, created


def case_ref_for(sealer: Sealer, person_key: str) -> str:
    """A short pseudonym counsellors use to talk about one person's case."""
    return "case-" + sealer.keyed_hash("case", person_key)[:8]


def card_case_ref(sealer: Sealer, card_id: int) -> str:
    """The case of a card (toxic, reported). Deliberately not the author's case: a copy of the
    database must not pair a person's crisis flags with the cards they wrote."""
    return "card-" + sealer.keyed_hash("card-case", str(card_id))[:8]


def add_flag(
    *,
    session: Session,
    sealer: Sealer,
    person: Person | None,
    kind: str,
    categories: list[str],
    language: str,
    text: str | None = None,
    card_id: int | None = None,
    severity: str = "high",
) -> Flag:
    if person is not None:
        case_ref = case_ref_for(sealer, person.key)
    elif card_id is not None:
        case_ref = card_case_ref(sealer, card_id)
    else:
        case_ref = "case-none"
    flag = Flag(
        person_id=person.id if person else None,
        case_ref=case_ref,
        kind=kind,
        severity=severity,
        categories=categories,
        language=language,
        card_id=card_id,
        sealed_text=sealer.seal(text) if text else None,
    )
    session.add(flag)
    session.flush()
    file_flag(session=session, flag=flag)  # every flag opens or joins a counsellor case
    return flag


def forget_person(*, session: Session, sealer: Sealer, person: Person) -> None:
    """Delete everything about a person: state, address, flags, outbox, deliveries, their cards,
    their check-ins and what the learners learned about them alone (what they added to the tables
    learned from everyone stays, as sums that cannot be traced back to them).

    Cards are found through the author seal; replies others wrote to those cards go too, since
    they only made sense as answers to a withdrawn card.
    """
    assert person.id is not None
    seal = sealer.author_seal(person.key)
    card_ids = list(session.exec(select(Card.id).where(Card.author_seal == seal)))
    worded: list[int] = []  # messages, flags and cases that carry these cards' words
    if card_ids:
        reply_ids = list(
            session.exec(select(Card.id).where(col(Card.reply_to_card_id).in_(card_ids)))
        )
        worded = [i for i in (*card_ids, *reply_ids) if i is not None]
    forget_cases(session=session, person_id=person.id, card_ids=worded)
    if card_ids:
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.card_id).in_(worded)))
        session.exec(delete(Flag).where(col(Flag.card_id).in_(worded)))
        session.exec(delete(CardDelivery).where(col(CardDelivery.card_id).in_(worded)))
        session.exec(delete(Card).where(col(Card.reply_to_card_id).in_(card_ids)))
        session.exec(delete(Card).where(col(Card.id).in_(card_ids)))

    forget_reader(session=session, sealer=sealer, person=person)
    for table in (OutboxMessage, Flag, DeliveryAddress, CheckIn, LearnedValue):
        session.exec(delete(table).where(col(table.person_id) == person.id))
    session.delete(person)
    session.flush()
