"""What a counsellor can do to a case, each one written to the case's history and the audit log.

Rules that keep counsellors from acting as one another: a case is taken by one counsellor, and
only its assignee may act on it (resolve, message, approve, reject, hide, restrict). Nothing
here takes a counsellor from a form: the caller passes the one the login session belongs to.

Card review goes through the cards store: approving publishes a held card or one hidden by
reports (`approve_card`) with the content class the counsellor read in it: "allow vulnerable
readers" makes it inspirational and skips the staged exposure of policies/matching.yaml;
otherwise it is vulnerable content, for readers who feel good only.
Rejecting or hiding sets a status that no feed query shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from bot.domain import Button, ContentClass, Outbound
from bot.store import cases
from bot.store.addresses import channel_of
from bot.store.authorship import author_id
from bot.store.cards import (
    HELD,
    HIDDEN,
    PUBLISHED,
    REJECTED,
    UNDER_REVIEW,
    DeliveryKind,
    approve_card,
    deliver,
)
from bot.store.outbox import enqueue
from bot.store.sealing import Sealer
from bot.store.tables import AuditEntry, Card, Case, Counsellor, Person, utcnow
from bot.texts import Texts, ui_language


class ActionRefused(Exception):
    """The action is not allowed for this counsellor on this case now; the message says why
    (shown to the counsellor; it never carries text or ids of a person)."""


@dataclass(frozen=True, slots=True)
class Context:
    """What every action needs besides the case: the database session and the bot's parts."""

    session: Session
    sealer: Sealer
    texts: Texts
    counsellor: Counsellor
    retention_days: int
    preview_chars: int  # policies/cards.yaml: how much of a card a reply notice quotes

    @property
    def counsellor_id(self) -> int:
        assert self.counsellor.id is not None
        return self.counsellor.id


def audit(
    session: Session, counsellor_id: int | None, action: str, case: Case | None, detail: str = ""
) -> None:
    session.add(
        AuditEntry(
            counsellor_id=counsellor_id,
            action=action,
            case_id=case.id if case is not None else None,
            detail=detail[:200],
        )
    )
    session.flush()


def _done(
    ctx: Context, case: Case, kind: str, note: str | None = None, text: str | None = None
) -> None:
    cases.record(
        session=ctx.session,
        case=case,
        kind=kind,
        counsellor_id=ctx.counsellor_id,
        note=note,
        sealed_text=cases.seal_case_text(
            session=ctx.session, sealer=ctx.sealer, case=case, text=text
        )
        if text
        else None,
    )
    audit(ctx.session, ctx.counsellor_id, kind, case, note or "")


def _require_mine(ctx: Context, case: Case) -> None:
    if case.status == cases.RESOLVED:
        raise ActionRefused("This case is resolved.")
    if case.assignee_id != ctx.counsellor_id:
        raise ActionRefused("Take this case first; only its assignee can act on it.")


def viewed(ctx: Context, case: Case) -> None:
    audit(ctx.session, ctx.counsellor_id, "view_case", case)


def take(ctx: Context, case: Case) -> None:
    if case.status == cases.RESOLVED:
        raise ActionRefused("This case is resolved.")
    if case.assignee_id is not None and case.assignee_id != ctx.counsellor_id:
        raise ActionRefused("Another counsellor has taken this case.")
    case.assignee_id = ctx.counsellor_id
    case.status = cases.IN_REVIEW
    _done(ctx, case, "taken")


def resolve(ctx: Context, case: Case, note: str) -> None:
    _require_mine(ctx, case)
    if not note.strip():
        raise ActionRefused("Write a short note on how the case was resolved.")
    cases.resolve(session=ctx.session, case=case, retention_days=ctx.retention_days)
    _done(ctx, case, "resolved", text=note.strip())


def _recipient(ctx: Context, case: Case) -> Person:
    person_id = cases.recipient_of(session=ctx.session, sealer=ctx.sealer, case=case)
    person = ctx.session.get(Person, person_id) if person_id is not None else None
    if person is None:
        raise ActionRefused("Nobody can be reached through this case (the person left).")
    return person


def message(ctx: Context, case: Case, text: str) -> None:
    """Queue the counsellor's words for the person, from the bot, with a button to answer."""
    _require_mine(ctx, case)
    text = text.strip()
    if not text:
        raise ActionRefused("The message is empty.")
    person = _recipient(ctx, case)
    assert person.id is not None and case.id is not None
    language = ui_language(person.language)
    outbound = Outbound(
        text=ctx.texts.get(language, "counsellor_message", text=text),
        buttons=((Button(ctx.texts.get(language, "counsellor_reply_button"), f"cr:{case.id}"),),),
        protect_content=True,
    )
    channel = channel_of(session=ctx.session, person_id=person.id)
    if channel is None:
        raise ActionRefused("Nobody can be reached through this case (no address).")
    enqueue(
        session=ctx.session,
        sealer=ctx.sealer,
        person_id=person.id,
        channel=channel,
        message=outbound,
    )
    _done(ctx, case, "message_out", text=text)


def _card(ctx: Context, case: Case) -> Card:
    card = ctx.session.get(Card, case.card_id) if case.card_id is not None else None
    if card is None:
        raise ActionRefused("This case has no card (or the card was withdrawn).")
    return card


def approve(ctx: Context, case: Case, *, allow_vulnerable: bool) -> None:
    _require_mine(ctx, case)
    card = _card(ctx, case)
    if case.source == cases.AWAITING_APPROVAL:
        _decide_widening(ctx, case, card, allow_vulnerable=allow_vulnerable)
        return
    if card.status not in (HELD, UNDER_REVIEW):
        raise ActionRefused("Only a held or reported card or reply can be approved.")
    assert card.id is not None
    # The counsellor's reading replaces the model's: a held card may have been read as toxic.
    card.content_class = (
        ContentClass.INSPIRATIONAL.value if allow_vulnerable else ContentClass.VULNERABLE.value
    )
    approve_card(session=ctx.session, card_id=card.id, allow_vulnerable=allow_vulnerable)
    if card.reply_to_card_id is not None:
        _deliver_reply(ctx, card)
    readers = "all readers" if allow_vulnerable else "readers who are feeling good"
    _done(ctx, case, "approved", note=f"published to {readers}")
    if allow_vulnerable:  # its low case, if it had one, has nothing left to decide
        cases.settle_approval(
            session=ctx.session,
            card_id=card.id,
            why=f"approved for all readers in {case.pseudonym}",
            retention_days=ctx.retention_days,
        )


def _decide_widening(ctx: Context, case: Case, card: Card, *, allow_vulnerable: bool) -> None:
    """A published card waiting to reach readers who are struggling (a low case): approving
    opens it to them now (as far as its content class allows); not approving keeps it with
    readers who feel good for good. Either way the case is done and resolves."""
    if card.status != PUBLISHED:
        raise ActionRefused("Only a published card can be opened to more readers.")
    assert card.id is not None
    if allow_vulnerable:
        approve_card(session=ctx.session, card_id=card.id, allow_vulnerable=True)
        note = "approved for readers who are struggling"
    else:
        card.restricted = True
        card.reviewed_at = utcnow()
        ctx.session.add(card)
        note = "kept with readers who are feeling good"
    _done(ctx, case, "approved" if allow_vulnerable else "kept_first_readers", note=note)
    cases.resolve(session=ctx.session, case=case, retention_days=ctx.retention_days)
    _done(ctx, case, "resolved", note=note)


def _deliver_reply(ctx: Context, reply: Card) -> None:
    """An approved reply reaches the author of the card it answers, as an unheld one would."""
    parent = ctx.session.get(Card, reply.reply_to_card_id)
    author = author_id(sealer=ctx.sealer, card=parent) if parent is not None else None
    if parent is None or author is None:
        return
    channel = channel_of(session=ctx.session, person_id=author)
    reader = ctx.session.get(Person, author)
    if channel is None or reader is None:
        return
    token = deliver(
        session=ctx.session, sealer=ctx.sealer, card=reply, reader=reader, kind=DeliveryKind.REPLY
    ).token
    limit = ctx.preview_chars
    preview = parent.text if len(parent.text) <= limit else parent.text[: limit - 1] + "…"
    notice = ctx.texts.get(parent.language, "reply_notice", preview=preview, reply=reply.text)
    report = Button(ctx.texts.get(parent.language, "card_report"), f"c:report:{token}")
    enqueue(
        session=ctx.session,
        sealer=ctx.sealer,
        person_id=author,
        channel=channel,
        message=Outbound(
            text=notice,
            buttons=((report,),),
            protect_content=True,
            is_card=True,
            delivery_token=token,
        ),
        card_id=reply.id,
    )


def reject(ctx: Context, case: Case) -> None:
    _require_mine(ctx, case)
    card = _card(ctx, case)
    if card.status != HELD:
        raise ActionRefused("Only a held card or reply can be rejected.")
    card.status = REJECTED
    ctx.session.add(card)
    _done(ctx, case, "rejected")


def hide(ctx: Context, case: Case) -> None:
    _require_mine(ctx, case)
    card = _card(ctx, case)
    if card.status != PUBLISHED:
        raise ActionRefused("Only a published card can be hidden.")
    card.status = HIDDEN
    ctx.session.add(card)
    _done(ctx, case, "hidden")


def link(ctx: Context, case: Case, other_pseudonym: str) -> Case:
    """Record a counsellor's judgement that two cases concern the same person. Nothing about
    the person is compared or copied: pseudonyms stay separate, each case notes the other."""
    _require_mine(ctx, case)
    other = ctx.session.exec(
        select(Case).where(Case.pseudonym == other_pseudonym.strip().lower())
    ).first()
    if other is None or other.id == case.id:
        raise ActionRefused("There is no other case with that pseudonym.")
    _done(ctx, case, "linked", note=f"linked to {other.pseudonym}")
    _done(ctx, other, "linked", note=f"linked to {case.pseudonym}")
    return other


def restrict(ctx: Context, case: Case, *, what: str, days: int, allowed_days: list[int]) -> None:
    _require_mine(ctx, case)
    if what not in cases.RESTRICTABLE or days not in allowed_days:
        raise ActionRefused("Choose what to restrict and for how long from the lists.")
    person = _recipient(ctx, case)
    assert person.id is not None
    until = utcnow() + timedelta(days=days)
    cases.restrict(
        session=ctx.session, person_id=person.id, what=what, until=until, case_id=case.id
    )
    _done(ctx, case, "restricted", note=f"{what} paused until {until:%Y-%m-%d %H:%M} UTC")
