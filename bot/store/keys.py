"""Per-person keys and the private index of a person's own cards (docs/privacy.md).

Each person has a random key, kept in `person_secret` wrapped under the server key. What only
that person's conversation needs is sealed under it: their delivery address, check-ins, the
text of their flags and their index of own cards (the random `author_ref` of each card they
wrote). /forget deletes the row, and with it every way to open those values (crypto-shredding).

The index replaces a per-author keyed hash on cards, which grouped one author's cards in any
copy of the database. A card now carries only its own random reference; which cards are one
person's is known only inside that person's sealed index.

Its own module at the bottom of the store, so cards, cases, people and learning can all seal
under a person's key without importing each other.

A key once read is kept in the session's `info` until its transaction ends (one turn, one
check-in): a turn seals and opens several values under the same key, and each read was a query
and an AES-GCM unwrap. Never longer: another process's /forget must take effect at the next
transaction, and a key created in a rolled-back one does not exist. Deleting the key here drops
it at once.
"""

from __future__ import annotations

import json

from sqlalchemy import bindparam, event
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from bot.store.sealing import Sealer, SealError, new_person_key, seal_with, tag_with, unseal_with
from bot.store.tables import PersonSecret

INDEX_LIMIT = 2000  # own cards remembered per person (a card's reference is 32 characters)


_CACHE = "needtotalk.person_keys"


def _cache(session: Session) -> dict[int, bytes]:
    cache: dict[int, bytes] = session.info.setdefault(_CACHE, {})
    return cache


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _forget_cached_keys(session: OrmSession) -> None:
    session.info.pop(_CACHE, None)


_SECRETS = PersonSecret.__table__  # type: ignore[attr-defined]
# Built once: the key's read is on every turn's path, and building the query cost more than
# running it.
_WRAPPED_KEY = sa_select(_SECRETS.c.wrapped_key).where(
    _SECRETS.c.person_id == bindparam("b_person_id")
)


def _row(session: Session, person_id: int) -> PersonSecret | None:
    return session.exec(select(PersonSecret).where(PersonSecret.person_id == person_id)).first()


def create_person_key(*, session: Session, sealer: Sealer, person_id: int) -> bytes:
    """A new person's key (a returning person after /forget is a new person: a new key)."""
    key, wrapped = new_wrapped_key(session=session, sealer=sealer, person_id=person_id)
    session.add(PersonSecret(person_id=person_id, wrapped_key=wrapped))
    session.flush()
    return key


def new_wrapped_key(*, session: Session, sealer: Sealer, person_id: int) -> tuple[bytes, str]:
    """A new person's key and its wrapped form, kept for the transaction, for a caller that
    writes the `person_secret` row itself (a new person's key and address in one statement,
    bot/store/people.py)."""
    key = new_person_key()
    _cache(session)[person_id] = key
    return key, sealer.wrap_person_key(key, person_id)


def person_key(*, session: Session, sealer: Sealer, person_id: int) -> bytes | None:
    """The person's key, or None when there is none (forgotten) or it does not open here."""
    cached = _cache(session).get(person_id)
    if cached is not None:
        return cached
    session.flush()  # a key row added but not yet written is found too
    wrapped = (
        session.connection().execute(_WRAPPED_KEY, {"b_person_id": person_id}).scalar_one_or_none()
    )
    if wrapped is None:
        return None
    return remember_wrapped_key(
        session=session, sealer=sealer, person_id=person_id, wrapped=wrapped
    )


def knows_person_key(session: Session, person_id: int) -> bool:
    """Whether this transaction has already read (or made) the person's key."""
    return person_id in _cache(session)


# The wrapped key as a row of another query (id, kind, created_at, value), so that a caller
# reading the person's sealed rows gets their key in the same round trip (bot/learning/store.py).
WRAPPED_KEY_KIND = "~person_key"


def remember_wrapped_key(
    *, session: Session, sealer: Sealer, person_id: int, wrapped: str
) -> bytes | None:
    """Open a wrapped key read by another query and keep it for the transaction, as
    `person_key` would have; None when it does not open here."""
    try:
        key = sealer.unwrap_person_key(wrapped, person_id)
    except (SealError, ValueError):
        return None
    _cache(session)[person_id] = key
    return key


def ensure_person_key(*, session: Session, sealer: Sealer, person_id: int) -> bytes:
    key = person_key(session=session, sealer=sealer, person_id=person_id)
    if key is not None:
        return key
    row = _row(session, person_id)
    if row is not None:  # wrapped under another secret: unusable, start afresh
        session.delete(row)
        session.flush()
    return create_person_key(session=session, sealer=sealer, person_id=person_id)


def seal_for(*, session: Session, sealer: Sealer, person_id: int, value: str, purpose: str) -> str:
    key = ensure_person_key(session=session, sealer=sealer, person_id=person_id)
    return seal_with(key, value, purpose=purpose)


def unseal_for(
    *, session: Session, sealer: Sealer, person_id: int, token: str, purpose: str
) -> str:
    """Raises SealError when the person's key is gone (/forget) or the value is not theirs."""
    key = person_key(session=session, sealer=sealer, person_id=person_id)
    if key is None:
        raise SealError("no key for this person")
    return unseal_with(key, token, purpose=purpose)


def person_tag(
    *, session: Session, sealer: Sealer, person_id: int, purpose: str, value: str
) -> str:
    """A keyed hash under the person's key: a different, unlinkable value for every `value`."""
    key = ensure_person_key(session=session, sealer=sealer, person_id=person_id)
    return tag_with(key, purpose, value)


# -- the private index of own cards ------------------------------------------------------------
def _index_purpose(person_id: int) -> str:
    return f"person_secret.sealed_index:{person_id}"


def own_refs(*, session: Session, sealer: Sealer, person_id: int) -> list[str]:
    """The `author_ref`s of the person's own cards and replies, oldest first."""
    row = _row(session, person_id)
    if row is None or not row.sealed_index:
        return []
    key = person_key(session=session, sealer=sealer, person_id=person_id)
    if key is None:
        return []
    try:
        refs = json.loads(unseal_with(key, row.sealed_index, purpose=_index_purpose(person_id)))
    except (SealError, ValueError):
        return []
    return [str(r) for r in refs] if isinstance(refs, list) else []


def _write_index(session: Session, sealer: Sealer, person_id: int, refs: list[str]) -> None:
    key = ensure_person_key(session=session, sealer=sealer, person_id=person_id)
    row = _row(session, person_id)
    assert row is not None
    row.sealed_index = seal_with(
        key, json.dumps(refs[-INDEX_LIMIT:]), purpose=_index_purpose(person_id)
    )
    session.add(row)
    session.flush()


def add_own_ref(*, session: Session, sealer: Sealer, person_id: int, ref: str) -> None:
    refs = own_refs(session=session, sealer=sealer, person_id=person_id)
    if ref not in refs:
        _write_index(session, sealer, person_id, [*refs, ref])


def remove_own_refs(*, session: Session, sealer: Sealer, person_id: int, refs: list[str]) -> None:
    gone = set(refs)
    kept = [
        r for r in own_refs(session=session, sealer=sealer, person_id=person_id) if r not in gone
    ]
    _write_index(session, sealer, person_id, kept)


def forget_key(*, session: Session, person_id: int) -> None:
    """Crypto-shred: the person's key goes, and everything sealed under it stops opening."""
    _cache(session).pop(person_id, None)
    row = _row(session, person_id)
    if row is not None:
        session.delete(row)
        session.flush()
