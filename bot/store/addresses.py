"""Where a person's messages go: their channel and their sealed channel id (for delivery only).

The channel id is sealed under the person's own key (bot/store/keys.py), so /forget makes every
copy of it unreadable at once. Its own module, below the outbox and the people repository, so
the outbox can find an address without importing everything a person owns.
"""

from __future__ import annotations

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


def delivery_ref(*, session: Session, sealer: Sealer, person_id: int, channel: str) -> str | None:
    address = session.exec(
        select(DeliveryAddress).where(
            DeliveryAddress.person_id == person_id, DeliveryAddress.channel == channel
        )
    ).first()
    if address is None:
        return None
    try:
        return unseal_for(
            session=session,
            sealer=sealer,
            person_id=person_id,
            token=address.sealed_ref,
            purpose=address_purpose(person_id),
        )
    except SealError:  # sealed under another secret: undeliverable, not a stuck queue
        return None


def channel_of(*, session: Session, person_id: int) -> str | None:
    address = session.exec(
        select(DeliveryAddress).where(DeliveryAddress.person_id == person_id)
    ).first()
    return None if address is None else address.channel
