"""Per-person limits on cards, replies and reports (policies/limits.yaml): counted in the
database, so they hold across a restart; a card or reply over a limit stays a draft the person
can send later, and they are told when; a report over a limit keeps its button."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import Session, col, select

from bot.cards.limits import Limit, Limiter, LimitsPolicy, load_limits_policy
from bot.config import Settings
from bot.services import Services, build_services
from bot.store.keys import seal_for, unseal_for
from bot.store.limits import FULL, PAD_TO, actions_since, log_purpose, record_action
from bot.store.tables import ActionLog, Card, Flag, Person, utcnow
from tests.support.conversation_driver import button_data, joined, stored_person
from tests.unit.test_cards_flow import card_buttons, ready, share

POLICY = load_limits_policy(Path(__file__).resolve().parents[2] / "policies" / "limits.yaml")


def cards_of(services: Services) -> list[Card]:
    with Session(services.engine) as session:
        return list(session.exec(select(Card).where(col(Card.reply_to_card_id).is_(None))))


def open_log(services: Services, session: Session, row: ActionLog) -> list[list[str]]:
    """What only the server, through the person's own key, can read of their log."""
    plain = unseal_for(
        session=session,
        sealer=services.sealer,
        person_id=row.person_id,
        token=row.sealed,
        purpose=log_purpose(row.person_id),
    )
    entries = json.loads(plain)
    assert isinstance(entries, list)
    return entries


def time_passes(services: Services, delta: timedelta) -> None:
    """Move every counted action back in time, as a clock moving forward would (the times are
    sealed inside each person's log, so the test opens and re-seals it)."""
    with Session(services.engine) as session:
        for row in session.exec(select(ActionLog)):
            moved = [
                [what, (datetime.fromisoformat(at) - delta).isoformat()]
                for what, at in open_log(services, session, row)
            ]
            row.sealed = seal_for(
                session=session,
                sealer=services.sealer,
                person_id=row.person_id,
                value=json.dumps(moved),
                purpose=log_purpose(row.person_id),
            )
            session.add(row)
        session.commit()


def test_the_shipped_policy_allows_a_few_cards_an_hour() -> None:
    assert POLICY.cards.per_hour == 3 and POLICY.cards.per_day == 10
    assert POLICY.replies.per_hour >= POLICY.cards.per_hour
    assert POLICY.reports.per_hour >= 1


def test_the_limiter_says_when_the_next_one_may_go(services: Services) -> None:
    limiter = Limiter(
        LimitsPolicy(
            cards=Limit(per_hour=2, per_day=3),
            replies=Limit(per_hour=1, per_day=1),
            reports=Limit(per_hour=1, per_day=1),
        )
    )
    person = ready(services, "7001")
    row = stored_person(services, "7001")
    start = utcnow() - timedelta(hours=5)
    with Session(services.engine) as session:
        args = {"session": session, "sealer": services.sealer, "person": row, "what": "card"}
        assert limiter.blocked_until(**args, now=start) is None  # type: ignore[arg-type]
        record_action(**args, at=start)  # type: ignore[arg-type]
        record_action(**args, at=start + timedelta(minutes=10))  # type: ignore[arg-type]
        # Two in the hour: the third may go when the first leaves the hour.
        later = start + timedelta(minutes=20)
        assert limiter.blocked_until(**args, now=later) == start + timedelta(hours=1)  # type: ignore[arg-type]
        record_action(**args, at=start + timedelta(hours=2))  # type: ignore[arg-type]
        # Three in the day: the fourth waits for the first to leave the day.
        assert limiter.blocked_until(**args, now=start + timedelta(hours=3)) == start + timedelta(  # type: ignore[arg-type]
            days=1
        )
        # Replies are counted apart from cards.
        assert limiter.blocked_until(**{**args, "what": "reply"}, now=later) is None  # type: ignore[arg-type]
    del person


def test_a_card_over_the_limit_stays_a_draft_and_goes_later(
    services: Services, settings: Settings
) -> None:
    author = ready(services, "7002")
    for n in range(POLICY.cards.per_hour):
        assert "out there now" in joined(
            share(
                author,
                f"Card number {n}: walking every morning slowly helped me feel like myself again.",
            )
        )
    over = share(author, "One more: a warm drink and a short walk helped me through the evening.")
    said = joined(over)
    assert "isn't lost" in said and "minute" in said
    assert "c:publish" in button_data(over)  # the draft waits, with its buttons
    assert len(cards_of(services)) == POLICY.cards.per_hour
    assert stored_person(services, "7002").state == "cards.confirming"

    # A restart (a new process on the same database) still counts what was sent.
    again = build_services(settings, channel="telegram")
    try:
        from tests.support.conversation_driver import Person as Someone

        same = Someone(again, "7002")
        assert "isn't lost" in joined(same.presses("c:publish"))
        time_passes(services, timedelta(minutes=61))
        assert "out there now" in joined(same.presses("c:publish"))
    finally:
        again.close()
    texts = [c.text for c in cards_of(services)]
    assert any("warm drink" in t for t in texts) and len(texts) == POLICY.cards.per_hour + 1


def test_the_day_limit_says_hours(services: Services) -> None:
    author = ready(services, "7003")
    for n in range(POLICY.cards.per_day):
        share(author, f"Card number {n}: walking every morning slowly helped me feel better.")
        time_passes(services, timedelta(minutes=70))  # never more than the hourly limit
    over = joined(share(author, "Another card: a warm drink helped me through the evening."))
    assert "isn't lost" in over and "hour" in over
    assert len(cards_of(services)) == POLICY.cards.per_day


def test_a_report_over_the_limit_keeps_its_button(services: Services) -> None:
    reader = ready(services, "7004")
    authors = [ready(services, f"71{n:02d}") for n in range(POLICY.reports.per_hour + 1)]
    for n, author in enumerate(authors):
        share(author, f"Card {n}: walking every morning slowly helped me feel like myself again.")
    reports: list[str] = []
    while len(reports) <= POLICY.reports.per_hour:
        found = card_buttons(reader.command("/read"), "report")
        assert found, "the feed ran dry"
        reports += found
    for data in reports[: POLICY.reports.per_hour]:
        assert "won't see that card again" in joined(reader.presses(data))
    last = reports[POLICY.reports.per_hour]
    over = reader.presses(last)
    assert "isn't with our team yet" in joined(over)
    assert button_data(over) == [last]  # the same button, to press again later
    with Session(services.engine) as session:
        assert len(session.exec(select(Flag).where(Flag.kind == "report")).all()) == (
            POLICY.reports.per_hour
        )
    time_passes(services, timedelta(minutes=61))
    assert "won't see that card again" in joined(reader.presses(last))


def test_forget_deletes_what_was_counted(services: Services) -> None:
    author = ready(services, "7005")
    share(author)
    with Session(services.engine) as session:
        rows = session.exec(select(ActionLog)).all()
        assert len(rows) == 1 and [e[0] for e in open_log(services, session, rows[0])] == ["card"]
    author.command("/forget")
    author.presses("forget:yes")
    with Session(services.engine) as session:
        assert session.exec(select(ActionLog)).all() == []


def test_the_log_is_one_sealed_row_per_person_of_one_size(services: Services) -> None:
    """A copy of the database sees one row per person who acted, whose length does not grow
    with what they did, and no time or kind of action in the clear."""
    ready(services, "7006")
    ready(services, "7007")
    one, many = stored_person(services, "7006"), stored_person(services, "7007")
    start = utcnow() - timedelta(hours=20)
    with Session(services.engine) as session:
        record_action(session=session, sealer=services.sealer, person=one, what="card")
        busiest = POLICY.cards.per_day + POLICY.replies.per_day + POLICY.reports.per_day
        for n in range(busiest):
            what = "card" if n < 10 else "reply" if n < 50 else "report"
            at = start + timedelta(minutes=13 * n)
            record_action(session=session, sealer=services.sealer, person=many, what=what, at=at)
        session.commit()
    with Session(services.engine) as session:
        rows = {r.person_id: r for r in session.exec(select(ActionLog))}
        assert set(rows) == {one.id, many.id}
        assert len(rows[one.id or 0].sealed) == len(rows[many.id or 0].sealed)
        assert len(open_log(services, session, rows[many.id or 0])) == busiest
        for row in rows.values():
            # one sealed token and nothing beside it: no separator, kind or date in the clear
            # (checking the base64 text for "card" would fail by chance now and then)
            assert re.fullmatch(r"g1\.[A-Za-z0-9_-]+=*", row.sealed)
            raw = base64.urlsafe_b64decode(row.sealed.removeprefix("g1."))
            assert b'"card"' not in raw and f'"{start.year}'.encode() not in raw
        # bound to its person: copied onto another person's row, it does not open
        rows[one.id or 0].sealed = rows[many.id or 0].sealed
        session.add(rows[one.id or 0])
        session.flush()
        counted = actions_since(
            session=session, sealer=services.sealer, person=one, what="card", since=start
        )
        assert len(counted) == FULL  # unreadable: counted as full (next test)
    # the shipped policy's busiest day fitted one padded size (equal lengths above)
    assert busiest * 45 < PAD_TO
    # FULL outweighs any limit the policy schema accepts
    with pytest.raises(ValidationError):
        Limit(per_hour=1, per_day=FULL + 1)


def test_a_log_that_does_not_open_blocks_for_a_day_and_then_lets_go(
    services: Services,
) -> None:
    """Fail closed without breaking the turn: the person is told when they can share, their
    draft waits, and a day later the limit counts afresh."""
    author = ready(services, "7008")
    share(author)
    with Session(services.engine) as session:
        row = session.exec(select(ActionLog)).one()
        row.sealed = row.sealed[:-8] + ("A" * 8 if not row.sealed.endswith("A" * 8) else "B" * 8)
        session.add(row)
        session.commit()
    over = share(author, "Another card: a warm drink and a short walk helped me in the evening.")
    said = joined(over)
    assert "isn't lost" in said and "hour" in said
    assert "c:publish" in button_data(over)
    assert len(cards_of(services)) == 1
    with Session(services.engine) as session:
        person = session.exec(select(Person)).one()
        for what in ("card", "reply", "report"):
            assert POLICY.limit_for(what).per_day <= len(  # type: ignore[arg-type]
                actions_since(
                    session=session,
                    sealer=services.sealer,
                    person=person,
                    what=what,
                    since=utcnow() - timedelta(days=1),
                )
            )
    time_passes(services, timedelta(days=1, minutes=1))
    assert "out there now" in joined(author.presses("c:publish"))
    assert len(cards_of(services)) == 2


def test_two_workers_counting_for_one_person_lose_no_count(services: Services) -> None:
    """Two transactions (two workers) each read the person's log, then both count: one waits
    for the other's commit and counts on top of it. Without the row lock both rewrote what
    they had read, and one count was lost (PostgreSQL; SQLite has one writer at a time)."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("two concurrent writers need PostgreSQL")
    import threading

    ready(services, "7010")
    person_id = stored_person(services, "7010").id
    rounds = 10
    both_read = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(rounds):
                with Session(services.engine) as session:
                    person = session.get(Person, person_id)
                    assert person is not None
                    actions_since(  # the limit check reads the log first, as a turn does
                        session=session,
                        sealer=services.sealer,
                        person=person,
                        what="report",
                        since=utcnow() - timedelta(hours=1),
                    )
                    both_read.wait(timeout=10)
                    record_action(
                        session=session, sealer=services.sealer, person=person, what="report"
                    )
                    session.commit()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)
            both_read.abort()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    with Session(services.engine) as session:
        person = session.get(Person, person_id)
        assert person is not None
        counted = actions_since(
            session=session,
            sealer=services.sealer,
            person=person,
            what="report",
            since=utcnow() - timedelta(hours=1),
        )
    assert len(counted) == 2 * rounds
