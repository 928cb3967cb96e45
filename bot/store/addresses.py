"""Where a person's messages go: their channel and their sealed channel id (for delivery only).

The channel id is sealed under the person's own key (bot/store/keys.py), so /forget makes every
copy of it unreadable at once. Its own module, below the outbox and the people repository, so
the outbox can find an address without importing everything a person owns.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.store.keys import knows_person_key, remember_wrapped_key, seal_for, unseal_for
from bot.store.sealing import Sealer, SealError
from bot.store.tables import DeliveryAddress, PersonSecret


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
_SECRETS = PersonSecret.__table__  # type: ignore[attr-defined]
# Built once: an outbox claim reads the addresses and keys of everyone it takes in one round trip.
_SEALED_REFS_AND_KEYS = (
    sa_select(_ADDRESSES.c.person_id, _ADDRESSES.c.sealed_ref, _SECRETS.c.wrapped_key)
    .select_from(_ADDRESSES.outerjoin(_SECRETS, _SECRETS.c.person_id == _ADDRESSES.c.person_id))
    .where(
        _ADDRESSES.c.person_id.in_(bindparam("b_person_ids", expanding=True)),
        _ADDRESSES.c.channel == bindparam("b_channel"),
    )
)


def delivery_refs(
    *, session: Session, sealer: Sealer, person_ids: set[int], channel: str
) -> dict[int, str]:
    """`delivery_ref` for many people in one query (addresses and wrapped keys together): the
    outbox claim runs under a lock every worker waits for, and it read them one person and one
    round trip at a time. A person missing from the result has no address here, or one that
    does not open (forgotten, or sealed under another secret): undeliverable."""
    if not person_ids:
        return {}
    session.flush()  # an address added in this session but not yet written is found too
    rows = session.connection().execute(
        _SEALED_REFS_AND_KEYS, {"b_person_ids": sorted(person_ids), "b_channel": channel}
    )
    refs: dict[int, str] = {}
    for person_id, sealed_ref, wrapped in rows:
        if person_id in refs or wrapped is None:
            continue
        opened = knows_person_key(session, person_id) or remember_wrapped_key(
            session=session, sealer=sealer, person_id=person_id, wrapped=wrapped
        )
        if not opened:
            continue
        try:
            refs[person_id] = unseal_for(
                session=session,
                sealer=sealer,
                person_id=person_id,
                token=sealed_ref,
                purpose=address_purpose(person_id),
            )
        except SealError:  # sealed under another secret: undeliverable, not a stuck queue
            continue
    return refs


def delivery_ref(*, session: Session, sealer: Sealer, person_id: int, channel: str) -> str | None:
    """One person's channel id, or None when it is not deliverable (`delivery_refs`)."""
    refs = delivery_refs(session=session, sealer=sealer, person_ids={person_id}, channel=channel)
    return refs.get(person_id)


def channel_of(*, session: Session, person_id: int) -> str | None:
    address = session.exec(
        select(DeliveryAddress).where(DeliveryAddress.person_id == person_id)
    ).first()
    return None if address is None else address.channel
