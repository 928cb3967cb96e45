"""Where a person's messages go: their channel and their sealed channel id (for delivery only).

The channel id is sealed under the person's own key (bot/store/keys.py), so /forget makes every
copy of it unreadable at once. Its own module, below the outbox and the people repository, so
the outbox can find an address without importing everything a person owns.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.store.keys import seal_for, unseal_for
from bot.store.sealing import Sealer, SealError
from bot.store.tables import DeliveryAddress


def address_purpose(person_id: int) -> str:
    return f"delivery_address.sealed_ref:{person_id}"


def seal_address(*, session: Session, sealer: Sealer, person_id: int, user_ref: str) -> str:
    return seal_for(
        session=session,
        sealer=sealer,
        person_id=person_id,
        value=user_ref,
        purpose=address_purpose(person_id),
    )


_ADDRESSES = DeliveryAddress.__table__  # type: ignore[attr-defined]
# Built once: every outbox row delivered reads its address.
_SEALED_REF = (
    sa_select(_ADDRESSES.c.sealed_ref)
    .where(
        _ADDRESSES.c.person_id == bindparam("b_person_id"),
        _ADDRESSES.c.channel == bindparam("b_channel"),
    )
    .limit(1)
)


def delivery_ref(*, session: Session, sealer: Sealer, person_id: int, channel: str) -> str | None:
    session.flush()  # an address added in this session but not yet written is found too
    sealed_ref = (
        session.connection()
        .execute(_SEALED_REF, {"b_person_id": person_id, "b_channel": channel})
        .scalar()
    )
    if sealed_ref is None:
        return None
    try:
        return unseal_for(
            session=session,
            sealer=sealer,
            person_id=person_id,
            token=sealed_ref,
            purpose=address_purpose(person_id),
        )
    except SealError:  # sealed under another secret: undeliverable, not a stuck queue
        return None


def channel_of(*, session: Session, person_id: int) -> str | None:
    address = session.exec(
        select(DeliveryAddress).where(DeliveryAddress.person_id == person_id)
    ).first()
    return None if address is None else address.channel
