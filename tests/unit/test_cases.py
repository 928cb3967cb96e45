"""Counsellor cases from the core's flags: opening and joining, pseudonyms, alerts, retention,
/forget and restrictions, against the real core on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.services import Services, build_services
from bot.store import cases
from bot.store.tables import Case, CaseEvent, Flag, utcnow
from tests.conftest import make_settings
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import joined, stored_person

CRISIS = "I want to die"
TOXIC_CARD = "You are all pathetic losers and I hate every single one of you idiots."


def all_cases(services: Services) -> list[Case]:
    with Session(services.engine) as session:
        return list(session.exec(select(Case).order_by(Case.id)))  # type: ignore[arg-type]


def test_a_crisis_opens_a_high_case_and_the_next_flag_joins_it(services: Services) -> None:
    person = Someone(services, "4100123")
    person.consents()
    person.says(CRISIS)
    person.says("I have been cutting myself again")
    [case] = all_cases(services)
    assert case.severity == cases.HIGH and case.status == cases.NEW and case.source == "crisis"
    assert case.person_id == stored_person(services, "4100123").id
    assert case.pseudonym.startswith("case-") and "4100123" not in case.pseudonym
    with Session(services.engine) as session:
        flags = session.exec(select(Flag)).all()
        events = session.exec(select(CaseEvent).where(CaseEvent.kind == "flag")).all()
    assert {f.case_id for f in flags} == {case.id} and len(events) == 2


def test_pseudonyms_are_random_per_case_not_per_person(services: Services) -> None:
    """The same person's second case (after the first is resolved) gets another pseudonym,
    and two people never share a case."""
    ana, bo = Someone(services, "4200001"), Someone(services, "4200002")
    ana.says(CRISIS)
    bo.says(CRISIS)
    first, second = all_cases(services)
    assert first.pseudonym != second.pseudonym and first.person_id != second.person_id
    with Session(services.engine) as session:
        row = session.get(Case, first.id)
        assert row is not None
        cases.resolve(session=session, case=row, retention_days=30)
        session.commit()
    ana.says(CRISIS)
    third = all_cases(services)[2]
    assert third.person_id == first.person_id and third.pseudonym != first.pseudonym
    # Not a function of the person: the same secret and person give another pseudonym.
    assert services.sealer.person_key("telegram", "4200001")[:8] not in third.pseudonym


def test_a_toxic_card_opens_a_medium_case_about_the_card_not_its_writer(
    services: Services,
) -> None:
    writer = Someone(services, "4300001")
    writer.consents()
    writer.command("/share")
    writer.says(TOXIC_CARD)
    assert "review" in joined(writer.presses("c:publish"))
    [case] = all_cases(services)
    assert case.severity == cases.MEDIUM and case.source == "toxic_card"
    assert case.person_id is None and case.card_id is not None
    # The writer can still be reached for a message, through the card's sealed link.
    with Session(services.engine) as session:
        reached = cases.recipient_of(session=session, sealer=services.sealer, case=case)
    assert reached == stored_person(services, "4300001").id


def test_an_alert_goes_out_once_per_new_high_case_with_a_link_and_no_text(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        COUNSELLOR_CHAT_ID=-100777,
        COUNSELLOR_CONSOLE_URL="https://console.example.org/",
    )
    built = build_services(settings, channel="telegram")
    try:
        person = Someone(built, "4400001")
        person.says("I have been cutting myself again")
        person.says(CRISIS)  # joins the open case: no second alert
        alerts = [i for i in built.outbox.due("telegram") if i.recipient_ref == "-100777"]
        [case] = all_cases(built)
        assert len(alerts) == 1
        text = alerts[0].message.text
        assert case.pseudonym in text and "high" in text
        assert f"https://console.example.org/cases/{case.id}" in text
        assert "cutting" not in text and "4400001" not in text and "self_harm" not in text
    finally:
        built.close()


def test_review_text_is_deleted_after_the_retention_and_not_before(services: Services) -> None:
    Someone(services, "4500001").says(CRISIS)
    [case] = all_cases(services)
    with Session(services.engine) as session:
        row = session.get(Case, case.id)
        assert row is not None
        cases.resolve(session=session, case=row, retention_days=30)
        session.commit()
        assert cases.purge_expired_text(session=session, now=utcnow() + timedelta(days=29)) == 0
        session.commit()
        flag = session.exec(select(Flag)).one()
        assert flag.sealed_text is not None
        assert cases.purge_expired_text(session=session, now=utcnow() + timedelta(days=31)) == 1
        session.commit()
        session.refresh(flag)
        assert flag.sealed_text is None
        kinds = [e.kind for e in session.exec(select(CaseEvent).order_by(CaseEvent.id))]  # type: ignore[arg-type]
    assert kinds[-1] == "text_deleted"


def test_forget_deletes_case_text_at_once_and_keeps_what_counsellors_did(
    services: Services,
) -> None:
    person = Someone(services, "4600001")
    person.consents()
    person.says(CRISIS)
    [case] = all_cases(services)
    with Session(services.engine) as session:
        row = session.get(Case, case.id)
        assert row is not None
        sealed = services.sealer.seal("hi", purpose="x")
        cases.record(session=session, case=row, kind="message_in", sealed_text=sealed)
        session.commit()
    person.command("/forget")
    person.presses("forget:yes")
    with Session(services.engine) as session:
        row = session.get(Case, case.id)
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert row is not None and row.person_id is None
    assert all(e.sealed_text is None for e in events)
    assert [e.kind for e in events][-1] == "forgotten"


def test_a_restriction_holds_until_its_time(services: Services) -> None:
    Someone(services, "4700001").consents()
    person_id = stored_person(services, "4700001").id
    assert person_id is not None
    with Session(services.engine) as session:
        assert not cases.is_restricted(session, person_id, "share")
        cases.restrict(
            session=session,
            person_id=person_id,
            what="share",
            until=utcnow() + timedelta(days=1),
            case_id=None,
        )
        cases.restrict(
            session=session,
            person_id=person_id,
            what="reply",
            until=utcnow() - timedelta(minutes=1),
            case_id=None,
        )
        session.commit()
        assert cases.is_restricted(session, person_id, "share")
        assert not cases.is_restricted(session, person_id, "reply")  # already over


def test_the_queue_puts_severity_first_then_age(services: Services) -> None:
    writer = Someone(services, "4800001")
    writer.consents()
    writer.command("/share")
    writer.says(TOXIC_CARD)
    writer.presses("c:publish")  # medium, older
    Someone(services, "4800002").says(CRISIS)  # high, newer
    Someone(services, "4800003").says(CRISIS)  # high, newest
    with Session(services.engine) as session:
        ordered = cases.queue(session=session)
        assert [c.severity for c in ordered] == ["high", "high", "medium"]
        assert ordered[0].created_at <= ordered[1].created_at
        assert cases.counts(session=session) == {"new": 3, "in_review": 0, "resolved": 0}
