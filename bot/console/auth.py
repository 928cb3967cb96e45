"""Counsellor accounts, logins and server-side sessions for the console.

Passwords are kept only as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommendation). A login cookie carries a random token; the database keeps its SHA-256, so a
copy of the database is no way in. Each session has its own CSRF token, compared on every form.
After `max_failed_logins` failures in a row an account is locked for `lockout_minutes`, and the
lock holds even for the right password, so guessing stays slow.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from bot.console.policy import ConsolePolicy
from bot.store.tables import ConsoleSession, Counsellor, utcnow

_HASHER = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
MAX_NAME_CHARS = 64


class AccountError(ValueError):
    """A counsellor account cannot be created as asked (the message says why)."""


class LoginOutcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # unknown name or wrong password: the console says the same for both
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    counsellor_id: int | None = None


def aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every one we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_counsellor(
    *, session: Session, name: str, password: str, policy: ConsolePolicy
) -> Counsellor:
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise AccountError(f"a name is 1 to {MAX_NAME_CHARS} printable characters")
    if len(password) < policy.min_password_chars:
        raise AccountError(f"a password needs at least {policy.min_password_chars} characters")
    if session.exec(select(Counsellor).where(Counsellor.name == name)).first() is not None:
        raise AccountError(f"a counsellor called {name!r} already exists")
    counsellor = Counsellor(name=name, password_hash=_HASHER.hash(password))
    session.add(counsellor)
    session.flush()
    return counsellor


def authenticate(
    *, session: Session, name: str, password: str, policy: ConsolePolicy
) -> LoginResult:
    counsellor = session.exec(select(Counsellor).where(Counsellor.name == name.strip())).first()
    if counsellor is None:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY_HASH, password)
        return LoginResult(LoginOutcome.WRONG)
    now = utcnow()
    if counsellor.locked_until is not None and aware(counsellor.locked_until) > now:
        return LoginResult(LoginOutcome.LOCKED)
    try:
        _HASHER.verify(counsellor.password_hash, password)
    except (VerificationError, InvalidHashError):
        counsellor.failed_logins += 1
        locked = counsellor.failed_logins >= policy.max_failed_logins
        if locked:
            counsellor.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            counsellor.failed_logins = 0
        session.add(counsellor)
        return LoginResult(LoginOutcome.LOCKED if locked else LoginOutcome.WRONG)
    counsellor.failed_logins = 0
    counsellor.locked_until = None
    if _HASHER.check_needs_rehash(counsellor.password_hash):
        counsellor.password_hash = _HASHER.hash(password)
    session.add(counsellor)
    return LoginResult(LoginOutcome.OK, counsellor.id)


def start_session(
    *, session: Session, counsellor_id: int, policy: ConsolePolicy
) -> tuple[str, ConsoleSession]:
    """A new login: the token for the cookie, and the row (with its CSRF token)."""
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=_token_hash(token),
        counsellor_id=counsellor_id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=policy.session_hours),
    )
    session.add(row)
    session.flush()
    return token, row


def session_for(*, session: Session, token: str | None) -> tuple[ConsoleSession, Counsellor] | None:
    if not token:
        return None
    row = session.exec(
        select(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    if aware(row.expires_at) <= utcnow():
        session.delete(row)
        return None
    counsellor = session.get(Counsellor, row.counsellor_id)
    return None if counsellor is None else (row, counsellor)


def end_session(*, session: Session, token: str | None) -> None:
    found = session_for(session=session, token=token)
    if found is not None:
        session.delete(found[0])


def csrf_ok(expected: str, given: object) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(expected, given)
