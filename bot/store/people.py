"""Repository functions for people, their delivery addresses, flags and /forget.

Functions take a keyword-only `session` so the caller owns the transaction (one per inbound
message in the conversation service).

/forget (`forget_person`) is crypto-shredding plus deletion: the person's key goes first in
effect (everything sealed under it stops opening, wherever copies survive), then every row
that names them, their cards and replies (with the copies already delivered into other
people's chats, where the channel still allows deleting them), the messages waiting for them
or carrying their words, and the alerts about their cases. docs/privacy.md lists what remains.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.learning.store import forget_cached_cells
from bot.store.addresses import seal_address
from bot.store.cards import WITHDRAWN, Withdrawal, forget_reader, own_cards, withdraw_copies
from bot.store.cases import file_flag, forget_cases
from bot.store.keys import forget_key, new_wrapped_key, seal_for
from bot.store.outbox import card_tag
from bot.store.sealing import Sealer
from bot.store.tables import (
    ActionLog,
    Card,
    CardDelivery,
    CheckIn,
    DeliveryAddress,
    Flag,
    LearnedValue,
    OutboxMessage,
    Person,
    PersonSecret,
    Restriction,
    day_start,
    utcnow,
)

# Built once: every turn starts with this read, and building the query cost more than running it.
_PERSON_BY_KEY = select(Person).where(Person.key == bindparam("b_key"))
# A new person's row, built once (building it per person cost more than the insert): an
# upsert returning the whole row as the ORM object, the values bound at each call.
_NEW_PERSON_DEFAULTS = Person(key="-", language="-").model_dump(exclude={"id"})


def _new_person(insert: Any) -> Any:
    return (
        insert(Person)
        .values({name: bindparam(name) for name in _NEW_PERSON_DEFAULTS})
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Person)
    )


_NEW_PERSON = {"postgresql": _new_person(postgresql.insert), "sqlite": _new_person(sqlite.insert)}
# A new person's key and address, on the tables (nothing reads them back as objects).
_SECRETS: Table = PersonSecret.__table__  # type: ignore[attr-defined]
_ADDRESSES: Table = DeliveryAddress.__table__  # type: ignore[attr-defined]
_NEW_KEY = insert(_SECRETS).values(
    person_id=bindparam("k_person_id"), wrapped_key=bindparam("k_wrapped_key"), sealed_index=None
)
_NEW_ADDRESS = insert(_ADDRESSES).values(
    person_id=bindparam("a_person_id"),
    channel=bindparam("a_channel"),
    sealed_ref=bindparam("a_sealed_ref"),
)
# PostgreSQL: both in one statement (the address as a data-modifying WITH).
_NEW_KEY_AND_ADDRESS = _NEW_KEY.add_cte(_NEW_ADDRESS.cte("new_address"))


def get_person(*, session: Session, key: str) -> Person | None:
    return session.exec(_PERSON_BY_KEY, params={"b_key": key}).first()


def get_or_create_person(
    *, session: Session, sealer: Sealer, channel: str, user_ref: str, language: str
) -> tuple[Person, bool]:
    """The person behind a channel id; the id itself is kept only encrypted, for delivery."""
    key = sealer.person_key(channel, user_ref)
    person = get_person(session=session, key=key)
    if person is not None:
        return person, False
    # An upsert, so two workers seeing a new person's first messages at once both succeed:
    # the one whose insert lands creates the person, their key and their address; the other
    # finds them. The insert returns the whole row (no second read), and the key and the
    # address go in one statement on PostgreSQL: a new person's first turn took nine round
    # trips where a returning person's takes four.
    dialect = session.get_bind().dialect.name
    values = {**_NEW_PERSON_DEFAULTS, "state_data": {}}
    values.update(key=key, language=language, created_at=utcnow())
    created = session.scalars(_NEW_PERSON[dialect], params=values).first()
    if created is None:  # another worker's insert landed first
        person = get_person(session=session, key=key)
        assert person is not None
        return person, False
    assert created.id is not None
    person_id = created.id
    _, wrapped = new_wrapped_key(session=session, sealer=sealer, person_id=person_id)
    row_values = {
        "k_person_id": person_id,
        "k_wrapped_key": wrapped,
        "a_person_id": person_id,
        "a_channel": channel,
        # sealed with the key just made (kept for the transaction: no read)
        "a_sealed_ref": seal_address(
            session=session, sealer=sealer, person_id=person_id, user_ref=user_ref
        ),
    }
    connection = session.connection()
    if dialect == "postgresql":
        connection.execute(_NEW_KEY_AND_ADDRESS, row_values)
    else:
        connection.execute(_NEW_KEY, row_values)
        connection.execute(_NEW_ADDRESS, row_values)
    return created, True


def flag_text_purpose(flag_id: int | None) -> str:
    return "flag.sealed_text" if flag_id is None else f"flag.sealed_text:{flag_id}"


def seal_flag_text(*, session: Session, sealer: Sealer, flag: Flag, text: str) -> str:
    """A person's flag text is sealed under their own key (gone with /forget); a card's flag
    (no person) under the server key."""
    purpose = flag_text_purpose(flag.id)
    if flag.person_id is not None:
        return seal_for(
            session=session, sealer=sealer, person_id=flag.person_id, value=text, purpose=purpose
        )
    return sealer.seal(text, purpose=purpose)


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
    flag = Flag(
        person_id=person.id if person else None,
        # A flag about a card is dated by the day only: to the second it would date the card
        # (a held card's flag is raised as it is written). docs/privacy.md.
        created_at=utcnow() if person is not None else day_start(),
        case_ref="-",  # the case's random pseudonym, once filed below
        kind=kind,
        severity=severity,
        categories=categories,
        language=language,
        card_id=card_id,
    )
    session.add(flag)
    session.flush()
    if text:
        flag.sealed_text = seal_flag_text(session=session, sealer=sealer, flag=flag, text=text)
    case, _opened = file_flag(session=session, flag=flag)  # every flag opens or joins a case
    flag.case_ref = case.pseudonym
    session.add(flag)
    session.flush()
    return flag


def forget_person(
    *,
    session: Session,
    sealer: Sealer,
    person: Person,
    delete_window: timedelta = timedelta(hours=47),
) -> Withdrawal:
    """Delete everything about a person: state, key, address, flags, outbox, deliveries, their
    cards and replies (and the copies delivered into other people's chats that the channel
    may still delete, sent within `delete_window`), their check-ins, their limits' action log
    and what the learners learned about them alone (what they added to the tables learned from
    everyone stays, as sums that cannot be traced back to them). Returns the copies queued for
    deletion and kept.

    Cards are found through the person's private index (so this runs before the key goes);
    replies others wrote to those cards go too, since they only made sense as answers to a
    withdrawn card.
    """
    assert person.id is not None
    mine = own_cards(session=session, sealer=sealer, person=person, replies=True, withdrawn=True)
    removed = kept = 0
    for card in mine:  # copies in readers' chats first, while the rows that locate them exist
        if card.status == WITHDRAWN:  # its copies were dealt with when it was withdrawn
            continue
        done = withdraw_copies(
            session=session, sealer=sealer, card=card, delete_window=delete_window
        )
        removed, kept = removed + done.removed, kept + done.kept
    card_ids = [card.id for card in mine if card.id is not None]
    worded: list[int] = []  # messages, flags and cases that carry these cards' words
    if card_ids:
        reply_ids = list(
            session.exec(select(Card.id).where(col(Card.reply_to_card_id).in_(card_ids)))
        )
        worded = [i for i in (*card_ids, *reply_ids) if i is not None]
    alerted = forget_cases(session=session, person_id=person.id, card_ids=worded)
    if alerted:  # alerts about their cases not yet sent to the counsellors' chat
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.case_id).in_(alerted)))
    if worded:
        tags = [card_tag(sealer, i) for i in worded]
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.card_tag).in_(tags)))
        session.exec(delete(Flag).where(col(Flag.card_id).in_(worded)))
        session.exec(delete(CardDelivery).where(col(CardDelivery.card_id).in_(worded)))
        session.exec(delete(Card).where(col(Card.reply_to_card_id).in_(card_ids)))
        session.exec(delete(Card).where(col(Card.id).in_(card_ids)))

    forget_reader(session=session, sealer=sealer, person=person)
    forget_key(session=session, person_id=person.id)  # crypto-shredding: nothing opens now
    for table in (
        OutboxMessage,
        Flag,
        DeliveryAddress,
        CheckIn,
        LearnedValue,
        Restriction,
        ActionLog,
    ):
        session.exec(delete(table).where(col(table.person_id) == person.id))
    forget_cached_cells(session)  # cells this transaction read may be gone now
    session.delete(person)
    session.flush()
    return Withdrawal(removed=removed, kept=kept)
