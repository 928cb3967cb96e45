"""What a person sent to others, and when: the counts behind policies/limits.yaml.

Counted in the database, not in memory, so a limit holds across a restart and across workers
sharing one database. But a row per action, even under a keyed hash of the sender, would let a
copy of the database group one person's cards, replies and reports and time each to the second
(docs/privacy.md). So each person's recent actions live in one row of their own, `action_log`,
as a list of (what, when) sealed under the person's own key (bot/store/keys.py), bound to their
person id, padded to a fixed size so its length does not count them either. It is written only
in the person's own transaction (the turn's `session`), never beside a card or a reaction.
Entries older than the longest window (a day) are dropped whenever the log is written; /forget
deletes the row, and deleting the person's key makes any surviving copy unreadable.

A log that does not open (the person's key is gone or the value is damaged) fails closed: it
counts as a full day of every kind from the moment it was found, and is replaced by a marker
saying so. Reading it as "nothing sent" would let anyone whose log broke flood others; refusing
the turn would silence someone who may need to talk. The person waits one day to share (their
draft is kept), talking and crisis help are untouched, and the day after they start afresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.store.keys import seal_for, unseal_for
from bot.store.sealing import Sealer, SealError
from bot.store.tables import ActionLog, Person, utcnow

log = logging.getLogger(__name__)

KEPT_FOR = timedelta(days=1)  # the longest window a limit counts over
# The plain log is padded to a multiple of this many characters before sealing. The shipped
# policy allows at most 80 actions a day (about 45 characters each), so every log in normal
# use seals to the same length.
PAD_TO = 4096
# An unreadable log counts as this many actions of every kind at the moment it was found: at
# least any limit the policy schema allows (bot/cards/limits.py: per_day <= 10000).
UNREADABLE = "unreadable"
FULL = 10_000

Entry = tuple[str, datetime]


def log_purpose(person_id: int) -> str:
    """Binds a sealed log to its row's person: copied to another person's row, it won't open."""
    return f"action_log.sealed:{person_id}"


def _person_id(person: Person) -> int:
    if person.id is None:
        raise ValueError("a person is counted only once stored")
    return person.id


def _row(session: Session, person_id: int, *, fresh: bool = False) -> ActionLog | None:
    query = select(ActionLog).where(ActionLog.person_id == person_id)
    if fresh:  # what is committed now, not what this session read earlier in the turn
        query = query.execution_options(populate_existing=True)
    return session.exec(query).first()


def _lock(session: Session, person_id: int) -> None:
    """Take the person's row lock (PostgreSQL; SQLite has one writer at a time) until the
    transaction ends, so two workers counting for the same person read and rewrite the log one
    after the other instead of both rewriting what they read and losing one count. The person
    row, not the log's: it exists before the first count, the log row does not."""
    session.exec(select(Person.id).where(Person.id == person_id).with_for_update())


def _decode(plain: str) -> list[Entry]:
    raw = json.loads(plain)
    if not isinstance(raw, list):
        raise ValueError("an action log is a list")
    entries: list[Entry] = []
    for item in raw:
        what, at = item
        entries.append((str(what), datetime.fromisoformat(str(at))))
    return entries


def _encode(entries: list[Entry]) -> str:
    plain = json.dumps([[what, at.isoformat()] for what, at in entries], separators=(",", ":"))
    return plain + " " * (-len(plain) % PAD_TO)  # JSON allows trailing whitespace


def _write(session: Session, sealer: Sealer, person_id: int, entries: list[Entry]) -> None:
    sealed = seal_for(
        session=session,
        sealer=sealer,
        person_id=person_id,
        value=_encode(sorted(entries, key=lambda e: e[1])),
        purpose=log_purpose(person_id),
    )
    row = _row(session, person_id) or ActionLog(person_id=person_id, sealed=sealed)
    row.sealed = sealed
    session.add(row)
    session.flush()


def _read(session: Session, sealer: Sealer, person_id: int, *, fresh: bool = False) -> list[Entry]:
    """The person's log; an unreadable one is replaced by the fail-closed marker (above)."""
    row = _row(session, person_id, fresh=fresh)
    if row is None:
        return []
    try:
        plain = unseal_for(
            session=session,
            sealer=sealer,
            person_id=person_id,
            token=row.sealed,
            purpose=log_purpose(person_id),
        )
        return _decode(plain)
    except (SealError, ValueError, TypeError):
        log.warning("an action log did not open: counted as full for a day")
        marker = [(UNREADABLE, utcnow())]
        _write(session, sealer, person_id, marker)
        return marker


def record_action(
    *, session: Session, sealer: Sealer, person: Person, what: str, at: datetime | None = None
) -> None:
    """Count one card, reply or report sent now; drop what no window needs any more.

    A read-modify-write of one row: under the person's row lock, re-read as committed (the
    inbox's lane lock already keeps one person's turns apart across workers; this keeps the
    count right for any other caller too)."""
    moment = at or utcnow()
    person_id = _person_id(person)
    _lock(session, person_id)
    kept = [e for e in _read(session, sealer, person_id, fresh=True) if e[1] >= moment - KEPT_FOR]
    _write(session, sealer, person_id, [*kept, (what, moment)])


def actions_since(
    *, session: Session, sealer: Sealer, person: Person, what: str, since: datetime
) -> Sequence[datetime]:
    """When this person sent `what` since a moment, oldest first (an unreadable log: FULL
    actions at the moment it was found)."""
    moments: list[datetime] = []
    for kind, at in _read(session, sealer, _person_id(person)):
        if at < since:
            continue
        if kind == what:
            moments.append(at)
        elif kind == UNREADABLE:
            moments += [at] * FULL
    return sorted(moments)
