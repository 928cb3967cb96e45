"""Keyed hashes and encryption with the server secret (docs/architecture.md, anonymity rules).

Two kinds of seal, for two needs:
- a *keyed hash* (HMAC-SHA256) when we only need to recognise the same person again: the person
  key from a channel id, and the author seal on a card. A copy of the database alone cannot
  reverse it, and without the secret nobody can even test a guessed Telegram id against it.
- *encryption* (Fernet: AES-128-CBC + HMAC, from `cryptography`) when the bot itself must read
  the value back: the chat id it delivers to, the link from a card to its author for relaying
  replies, the text behind a counsellor flag.

Each use has its own derived key (HKDF with a purpose label), so a leak of one kind of token
tells nothing about another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cached_property

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(ValueError):
    """A sealed value could not be opened (wrong secret or tampered); carries no value."""


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
    def _fernet(self) -> Fernet:
        return Fernet(base64.urlsafe_b64encode(self._derive("needtotalk/encryption/v1")))

    def keyed_hash(self, purpose: str, value: str) -> str:
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def person_key(self, channel: str, user_ref: str) -> str:
        """The stable pseudonym of a person on a channel; the only key the core stores."""
        return self.keyed_hash("person", f"{channel}:{user_ref}")

    def author_seal(self, person_key: str) -> str:
        """What a card stores instead of its author: recognisable for /forget and own-card
        filtering, meaningless without the secret."""
        return self.keyed_hash("author", person_key)

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SealError("sealed value cannot be opened with this secret") from exc
