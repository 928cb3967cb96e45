"""Where a person's messages go: their channel and their sealed channel id (for delivery only).

Its own module, below the outbox and the people repository, so the outbox can find an address
without importing everything a person owns (the store's import chain stays one-way).
"""

from __future__ import annotations

from sqlmodel import Session, select

from bot.store.sealing import Sealer, SealError
from bot.store.tables import DeliveryAddress


def delivery_ref(*, session: Session, sealer: Sealer, person_id: int, channel: str) -> str | None:
    address = session.exec(
        select(DeliveryAddress).where(
            DeliveryAddress.person_id == person_id, DeliveryAddress.channel == channel
        )
    ).first()
    if address is None:
        return None
    try:
        return sealer.unseal(address.sealed_ref)
    except SealError:  # sealed under another secret: undeliverable, not a stuck queue
        return None


def channel_of(*, session: Session, person_id: int) -> str | None:
    address = session.exec(
        select(DeliveryAddress).where(DeliveryAddress.person_id == person_id)
    ).first()
    return None if address is None else address.channel
