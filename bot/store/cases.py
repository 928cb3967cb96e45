"""Counsellor cases: every flag opens or joins one; restrictions; text retention and /forget.

A flag about a person joins that person's case that is not yet resolved, or opens a new one; a
flag about a card (toxic, reported) joins that card's open case. A card waiting for a
counsellor's approval to reach readers who are struggling (staged exposure, policies/matching.yaml)
has a low-severity case of its own (`AWAITING_APPROVAL`), kept apart: a report on that card opens
or joins the card's medium case as any report does, never the low one, so a report is never
buried at the bottom of the queue. A new case draws a random
pseudonym, so nothing about the person (not their Telegram id, not their person key) can be
computed from it, and the same person's next case is not recognisable as theirs unless a
counsellor links the two.

Text kept for review (a flag's sealed text, messages both ways) is deleted once the case has
been resolved for `case_retention_days` (policies/safety.yaml), and at once on /forget.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from bot.store.authorship import author_id
from bot.store.cards import HIDDEN, REJECTED
from bot.store.keys import seal_for, unseal_for
from bot.store.sealing import Sealer, SealError
from bot.store.tables import Card, Case, CaseEvent, Flag, Restriction, day_start, utcnow

HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_RANK = {HIGH: 0, MEDIUM: 1, LOW: 2}
NEW, IN_REVIEW, RESOLVED = "new", "in_review", "resolved"
STATUSES = (NEW, IN_REVIEW, RESOLVED)
RESTRICTABLE = ("share", "reply")
# The flag (and case source) of a published card waiting to widen to readers who feel bad.
AWAITING_APPROVAL = "awaiting_approval"


def _new_pseudonym(session: Session) -> str:
    """Random, never derived: 32 bits of `secrets` is plenty for a queue, and a clash retries."""
    while True:
        pseudonym = "case-" + secrets.token_hex(4)
        if session.exec(select(Case.id).where(Case.pseudonym == pseudonym)).first() is None:
            return pseudonym


def _rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity, SEVERITY_RANK[MEDIUM])


def file_flag(*, session: Session, flag: Flag) -> tuple[Case, bool]:
    """Put a flag in its case; True when the flag opened the case.

    Joining never lowers a severity, and a new flag reopens nothing: a resolved case stays
    resolved and the flag starts a fresh one with a fresh pseudonym.
    """
    assert flag.id is not None
    case: Case | None = None
    open_cases = select(Case).where(Case.status != RESOLVED).order_by(col(Case.id).desc())
    if flag.person_id is not None:
        case = session.exec(open_cases.where(Case.person_id == flag.person_id)).first()
    elif flag.card_id is not None:
        case = session.exec(
            open_cases.where(
                Case.card_id == flag.card_id,
                col(Case.person_id).is_(None),
                Case.source != AWAITING_APPROVAL,  # a report never joins (or raises) the low case
            )
        ).first()
    opened = case is None
    if case is None:
        case = Case(
            pseudonym=_new_pseudonym(session),
            person_id=flag.person_id,
            card_id=flag.card_id,
            source=flag.kind,
            severity=flag.severity,
            created_at=flag.created_at,
        )
    elif _rank(flag.severity) < _rank(case.severity):
        case.severity = flag.severity
    # A card's case is dated by the day only, like the card (docs/privacy.md).
    case.updated_at = utcnow() if flag.person_id is not None else flag.created_at
    session.add(case)
    session.flush()
    assert case.id is not None
    flag.case_id = case.id
    session.add(flag)
    session.add(
        CaseEvent(
            case_id=case.id,
            kind="flag",
            flag_id=flag.id,
            created_at=flag.created_at,
            note=f"{flag.kind} ({', '.join(flag.categories) or '-'}), severity {flag.severity}",
        )
    )
    session.flush()
    return case, opened


def _case_text_purpose(case_id: int | None) -> str:
    return f"case_event.sealed_text:{case_id}"


def seal_case_text(*, session: Session, sealer: Sealer, case: Case, text: str) -> str:
    """Words in a case's history: under the person's own key when the case is about a person
    (so /forget makes every copy unreadable), else (a card's case) under the server key."""
    purpose = _case_text_purpose(case.id)
    if case.person_id is not None:
        return seal_for(
            session=session, sealer=sealer, person_id=case.person_id, value=text, purpose=purpose
        )
    return sealer.seal(text, purpose=purpose)


def open_case_text(*, session: Session, sealer: Sealer, case: Case, sealed: str) -> str:
    """Raises SealError when it cannot be opened (forgotten, or another secret)."""
    purpose = _case_text_purpose(case.id)
    if case.person_id is not None:
        try:
            return unseal_for(
                session=session,
                sealer=sealer,
                person_id=case.person_id,
                token=sealed,
                purpose=purpose,
            )
        except SealError:
            pass  # written before the case was tied to this person's key
    return sealer.unseal(sealed, purpose=purpose)


def open_flag_text(*, session: Session, sealer: Sealer, flag: Flag) -> str:
    """The text kept with a flag (bot.store.people.seal_flag_text); raises SealError."""
    purpose = f"flag.sealed_text:{flag.id}"
    if flag.sealed_text is None:
        raise SealError("no text")
    if flag.person_id is not None:
        return unseal_for(
            session=session,
            sealer=sealer,
            person_id=flag.person_id,
            token=flag.sealed_text,
            purpose=purpose,
        )
    return sealer.unseal(flag.sealed_text, purpose=purpose)


def case_of_flag(*, session: Session, flag: Flag) -> Case | None:
    return session.get(Case, flag.case_id) if flag.case_id is not None else None


def opened_by(*, session: Session, flag: Flag) -> bool:
    """Whether this flag is the one that opened its case (the alert goes out once per case)."""
    if flag.case_id is None:
        return False
    first = session.exec(
        select(CaseEvent.flag_id)
        .where(CaseEvent.case_id == flag.case_id, CaseEvent.kind == "flag")
        .order_by(col(CaseEvent.id))
    ).first()
    return first == flag.id


def record(
    *,
    session: Session,
    case: Case,
    kind: str,
    counsellor_id: int | None = None,
    note: str | None = None,
    sealed_text: str | None = None,
) -> CaseEvent:
    assert case.id is not None
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        counsellor_id=counsellor_id,
        note=note,
        sealed_text=sealed_text,
    )
    case.updated_at = utcnow()
    session.add(case)
    session.add(event)
    session.flush()
    return event


def resolve(*, session: Session, case: Case, retention_days: int) -> None:
    now = utcnow()
    case.status = RESOLVED
    case.resolved_at = now
    case.purge_text_after = now + timedelta(days=retention_days)
    session.add(case)


def open_approval_case(*, session: Session, card_id: int) -> Case:
    """The low-severity case of a published card waiting to widen to readers who feel bad.
    No flag: nothing harmful was found, and nothing but the card itself is kept for review."""
    # Dated by the day only, like the card: to the second it would date the card's publishing
    # and so its author's turn (docs/privacy.md).
    day = day_start()
    case = Case(
        pseudonym=_new_pseudonym(session),
        card_id=card_id,
        source=AWAITING_APPROVAL,
        severity=LOW,
        created_at=day,
        updated_at=day,
    )
    session.add(case)
    session.flush()
    assert case.id is not None
    session.add(
        CaseEvent(
            case_id=case.id,
            kind="opened",
            created_at=day,
            note="published to readers who feel good; waiting to reach readers who are struggling",
        )
    )
    session.flush()
    return case


def awaiting_approval(*, session: Session, card_id: int) -> Case | None:
    """The open low-severity case of a card waiting to widen, if there is one."""
    return session.exec(
        select(Case).where(
            Case.card_id == card_id,
            Case.source == AWAITING_APPROVAL,
            Case.status != RESOLVED,
        )
    ).first()


def settle_approval(*, session: Session, card_id: int, why: str, retention_days: int) -> bool:
    """Resolve a card's waiting-for-approval case once nothing is left to approve (readers'
    "helped" widened it, its author withdrew it); True when there was one."""
    case = awaiting_approval(session=session, card_id=card_id)
    if case is None:
        return False
    resolve(session=session, case=case, retention_days=retention_days)
    record(session=session, case=case, kind="resolved", note=why)
    return True


def _wipe_text(session: Session, case_ids: Sequence[int]) -> None:
    if not case_ids:
        return
    session.exec(
        update(CaseEvent).where(col(CaseEvent.case_id).in_(case_ids)).values(sealed_text=None)
    )
    session.exec(update(Flag).where(col(Flag.case_id).in_(case_ids)).values(sealed_text=None))


def purge_expired_text(*, session: Session, now: datetime | None = None) -> int:
    """Delete the review text of cases resolved longer ago than the retention (the flags' and
    messages' sealed words, and the text of a card rejected or hidden in such a case); returns
    how many cases lost their text. `now` is the clock (tests move it).

    A case reopened meanwhile (a new flag opens a new case, so this is only a manual reopen)
    has no purge date and keeps its text.
    """
    moment = now or utcnow()
    due = list(
        session.exec(
            select(Case).where(
                col(Case.purge_text_after).is_not(None),
                col(Case.purge_text_after) <= moment,
                Case.status == RESOLVED,
            )
        )
    )
    ids = [case.id for case in due if case.id is not None]
    _wipe_text(session, ids)
    # A card a counsellor rejected or hid was kept only for their review: its words go too.
    card_ids = [case.card_id for case in due if case.card_id is not None]
    if card_ids:
        session.exec(
            update(Card)
            .where(col(Card.id).in_(card_ids), col(Card.status).in_([REJECTED, HIDDEN]))
            .values(text="", embedding=None)
        )
    for case in due:
        case.purge_text_after = None
        session.add(case)
        record(session=session, case=case, kind="text_deleted", note="retention ended")
    session.flush()
    return len(ids)


def forget_cases(*, session: Session, person_id: int, card_ids: Sequence[int]) -> list[int]:
    """/forget: the person's cases and their cards' cases lose every word at once, and the
    link to the person; the history of what counsellors did stays, with no text. Returns the
    cases' ids (their alerts still waiting in the outbox go too)."""
    about = col(Case.person_id) == person_id
    if card_ids:
        about = or_(about, col(Case.card_id).in_(card_ids))
    cases = list(session.exec(select(Case).where(about)))
    _wipe_text(session, [c.id for c in cases if c.id is not None])
    for case in cases:
        case.person_id = None
        record(session=session, case=case, kind="forgotten", note="the person used /forget")
    session.flush()
    return [c.id for c in cases if c.id is not None]


def restrict(
    *, session: Session, person_id: int, what: str, until: datetime, case_id: int | None
) -> Restriction:
    if what not in RESTRICTABLE:
        raise ValueError(f"cannot restrict {what!r}; one of {RESTRICTABLE}")
    row = Restriction(person_id=person_id, what=what, until=until, case_id=case_id)
    session.add(row)
    session.flush()
    return row


def is_restricted(session: Session, person_id: int, what: str) -> bool:
    """Whether a counsellor has paused this person's `share` or `reply` right now. The cards
    flow asks before it accepts a new card or reply."""
    found = session.exec(
        select(Restriction.id).where(
            Restriction.person_id == person_id,
            Restriction.what == what,
            Restriction.until > utcnow(),
        )
    ).first()
    return found is not None


def queue(*, session: Session, include_resolved: bool = False) -> list[Case]:
    """Open cases, most severe first, then oldest first (the one waiting longest)."""
    query = select(Case)
    if not include_resolved:
        query = query.where(Case.status != RESOLVED)
    cases = list(session.exec(query))
    return sorted(cases, key=lambda c: (_rank(c.severity), c.created_at, c.id or 0))


def counts(*, session: Session) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for status in session.exec(select(Case.status)):
        result[status] = result.get(status, 0) + 1
    return result


def recipient_of(*, session: Session, sealer: Sealer, case: Case) -> int | None:
    """The person a counsellor reaches through this case: the person it is about, or the
    writer of its card (found through the card's sealed author link, at the moment of use)."""
    if case.person_id is not None:
        return case.person_id
    if case.card_id is None:
        return None
    card = session.get(Card, case.card_id)
    return None if card is None else author_id(sealer=sealer, card=card)
