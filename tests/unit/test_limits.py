"""Per-person limits on cards, replies and reports (policies/limits.yaml): counted in the
database, so they hold across a restart; a card or reply over a limit stays a draft the person
can send later, and they are told when; a report over a limit keeps its button."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from bot.cards.limits import Limit, Limiter, LimitsPolicy, load_limits_policy
from bot.config import Settings
from bot.services import Services, build_services
from bot.store.limits import record_action
from bot.store.tables import ActionEvent, Card, Flag, utcnow
from tests.support.conversation_driver import button_data, joined, stored_person
from tests.unit.test_cards_flow import card_buttons, ready, share

POLICY = load_limits_policy(Path(__file__).resolve().parents[2] / "policies" / "limits.yaml")


def cards_of(services: Services) -> list[Card]:
    with Session(services.engine) as session:
        return list(session.exec(select(Card).where(col(Card.reply_to_card_id).is_(None))))


def time_passes(services: Services, delta: timedelta) -> None:
    """Move every counted action back in time, as a clock moving forward would."""
    with Session(services.engine) as session:
        for event in session.exec(select(ActionEvent)):
            event.at = event.at - delta
            session.add(event)
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
    assert stored_person(services, "7002").state == "confirming_card"

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
        assert len(session.exec(select(ActionEvent)).all()) == 1
    author.command("/forget")
    author.presses("forget:yes")
    with Session(services.engine) as session:
        assert session.exec(select(ActionEvent)).all() == []
