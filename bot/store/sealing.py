"""Keyed hashes and encryption (docs/privacy.md says what each protects and from whom).

Three tools, for three needs:
- a *keyed hash* (HMAC-SHA256) when we only need to recognise the same value again: the person
  key from a channel id, the tag of a delivery. A copy of the database alone cannot reverse it,
  and without the key nobody can even test a guessed Telegram id against it.
- *encryption* (AES-256-GCM from `cryptography`, a random 96-bit nonce per value) when the bot
  itself must read the value back. Unlike Fernet, a sealed value carries no timestamp: what it
  says about time is nothing. The associated data names the purpose (table, column and, where
  it matters, the row), so a sealed value copied into another column or row does not open.
- *per-person keys* (`new_person_key`, kept wrapped under the server key in `person_secret`):
  everything only one person's own conversation needs (their address, check-ins, their index
  of own cards, the text of their flags) is sealed under their key, so /forget destroys it all
  at once by deleting one row (crypto-shredding): copies left in a WAL, a table file or a
  backup taken after /forget no longer open, even with the server key.

Each use of the server secret has its own derived key (HKDF with a purpose label), so a leak
of one kind of value tells nothing about another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "g1."  # a sealed value: "g1." + base64url(nonce | ciphertext | tag)
NONCE_BYTES = 12
PERSON_KEY_BYTES = 32


class SealError(ValueError):
    """A sealed value could not be opened (wrong key, purpose or tampered); carries no value."""


def _ad(purpose: str) -> bytes:
    return b"needtotalk/" + purpose.encode("utf-8")


def seal_with(key: bytes, value: str, *, purpose: str) -> str:
    """AES-GCM under `key`; `purpose` (table.column[:row]) is bound as associated data."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, value.encode("utf-8"), _ad(purpose))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal_with(key: bytes, token: str, *, purpose: str) -> str:
    if not token.startswith(PREFIX):
        raise SealError("not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :].encode("ascii"))
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        return AESGCM(key).decrypt(nonce, sealed, _ad(purpose)).decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed value cannot be opened with this key") from exc


def tag_with(key: bytes, purpose: str, value: str) -> str:
    """A keyed hash under a given key (a person's): recognisable only with that key."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def new_person_key() -> bytes:
    return os.urandom(PERSON_KEY_BYTES)


class Sealer:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the sealing secret must not be empty")
        self._secret = secret.encode("utf-8")

    def _derive(self, purpose: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode("utf-8")
        ).derive(self._secret)

    @cached_property
    def _hash_key(self) -> bytes:
        return self._derive("needtotalk/keyed-hash/v1")

    @cached_property
    def _aead_key(self) -> bytes:
        return self._derive("needtotalk/aes-gcm/v1")

    def keyed_hash(self, purpose: str, value: str) -> str:
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def person_key(self, channel: str, user_ref: str) -> str:
        """The stable pseudonym of a person on a channel; the only key the core stores."""
        return self.keyed_hash("person", f"{channel}:{user_ref}")

    def seal(self, value: str, *, purpose: str) -> str:
        """Seal under the server key; `purpose` names the table and column (and the row where
        a value must not be movable to another row)."""
        return seal_with(self._aead_key, value, purpose=purpose)

    def unseal(self, token: str, *, purpose: str) -> str:
        return unseal_with(self._aead_key, token, purpose=purpose)

    def wrap_person_key(self, key: bytes, person_id: int) -> str:
        return self.seal(base64.b64encode(key).decode("ascii"), purpose=_wrap_purpose(person_id))

    def unwrap_person_key(self, wrapped: str, person_id: int) -> bytes:
        return base64.b64decode(self.unseal(wrapped, purpose=_wrap_purpose(person_id)))


def _wrap_purpose(person_id: int) -> str:
    return f"person_secret.wrapped_key:{person_id}"
