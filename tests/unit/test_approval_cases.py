"""Cards waiting for approval to reach readers who are struggling (the counsellors' issue):
a low-severity case of their own, apart from report cases; approving from the console opens
the card to them and resolves the low case. And the retention timer: review text deleted once
a case has been resolved for the retention, on a controllable clock, by the console's lifespan,
by the bot's run loop and by `needtotalk cases purge`."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from bot.config import Settings
from bot.console.app import create_app
from bot.services import Services
from bot.store import cases
from bot.store.retention import Retention
from bot.store.tables import Card, Case, Flag, utcnow
from tests.support.conversation_driver import joined
from tests.unit.test_cards_flow import SAD_CARD, card_buttons, reads, ready, share
from tests.unit.test_counsellor_console import (
    CRISIS,
    act,
    client_for,
    counsellors,  # noqa: F401  (fixture)
    held_card_case,
    log_in,
)

KIND = "Walking every morning slowly helped me feel like myself again after a hard winter."


def all_cases(services: Services) -> list[Case]:
    with Session(services.engine) as session:
        return list(session.exec(select(Case).order_by(col(Case.id))))


def card_row(services: Services, card_id: int | None) -> Card:
    with Session(services.engine) as session:
        card = session.get(Card, card_id)
        assert card is not None
        return card


def test_a_new_card_opens_a_low_case_and_a_report_opens_its_own_medium_case(
    services: Services,
) -> None:
    author, reader = ready(services, "6101"), ready(services, "6102")
    share(author, KIND)
    (low,) = all_cases(services)
    assert (low.source, low.severity, low.status) == ("awaiting_approval", "low", "new")
    assert low.person_id is None and low.card_id is not None

    share(ready(services, "6103"), SAD_CARD)  # restricted: it never widens, nothing to approve
    assert len(all_cases(services)) == 1

    (report,) = [
        b.data
        for r in reader.command("/read")
        if "Walking" in r.text
        for row in r.buttons
        for b in row
        if b.data.startswith("c:report:")
    ]
    reader.presses(report)
    low_again, medium = all_cases(services)
    assert low_again.id == low.id and low_again.severity == "low"  # not raised, not joined
    assert (medium.source, medium.severity, medium.card_id) == ("report", "medium", low.card_id)
    with Session(services.engine) as session:
        kinds = {f.kind: f.case_id for f in session.exec(select(Flag))}
    assert kinds == {"report": medium.id}  # the low case has no flag: nothing harmful was found


def test_approving_from_the_console_opens_the_card_to_struggling_readers(
    services: Services,
    counsellors: dict[str, int],  # noqa: F811
) -> None:
    author = ready(services, "6201")
    vulnerable = ready(services, "6202", "vulnerable")
    share(author, KIND)
    assert not reads(vulnerable, "Walking every morning")
    (low,) = all_cases(services)
    assert low.id is not None
    with client_for(services) as client:
        log_in(client, "ana")
        page = client.get(f"/cases/{low.id}")
        act(client, low.id, "take")
        assert "Approve for readers who are struggling" in client.get(f"/cases/{low.id}").text
        assert page.status_code == 200
        assert act(client, low.id, "approve", allow_vulnerable="yes") == 303
    (resolved,) = all_cases(services)
    assert resolved.status == "resolved" and resolved.purge_text_after is not None
    card = card_row(services, low.card_id)
    assert card.approved_for_vulnerable and card.content_class == "inspirational"
    assert reads(vulnerable, "Walking every morning")


def test_keeping_it_with_readers_who_feel_good_resolves_the_case_too(
    services: Services,
    counsellors: dict[str, int],  # noqa: F811
) -> None:
    author = ready(services, "6301")
    share(author, KIND)
    (low,) = all_cases(services)
    assert low.id is not None
    with client_for(services) as client:
        log_in(client, "ana")
        act(client, low.id, "take")
        assert act(client, low.id, "approve", allow_vulnerable="no") == 303
    assert all_cases(services)[0].status == "resolved"
    card = card_row(services, low.card_id)
    assert card.restricted and not card.approved_for_vulnerable and card.status == "published"


def test_approving_a_reported_card_for_all_readers_settles_its_low_case(
    services: Services,
    counsellors: dict[str, int],  # noqa: F811
) -> None:
    author = ready(services, "6351")
    share(author, KIND)
    for n in range(2):  # policies/matching.yaml reports_to_hide
        reader = ready(services, f"636{n}")
        (report,) = card_buttons(reader.command("/read"), "report")
        reader.presses(report)
    low, medium = all_cases(services)
    assert (low.source, medium.source) == ("awaiting_approval", "report")
    assert medium.id is not None
    with client_for(services) as client:
        log_in(client, "ana")
        act(client, medium.id, "take")
        assert act(client, medium.id, "approve", allow_vulnerable="yes") == 303
    low, medium = all_cases(services)
    assert low.status == "resolved" and medium.status == "in_review"


def test_the_low_case_resolves_itself_when_readers_widen_the_card(services: Services) -> None:
    author = ready(services, "6401")
    share(author, KIND)
    for n in range(3):  # policies/matching.yaml helped_to_widen
        reader = ready(services, f"641{n}")
        (helped,) = card_buttons(reader.command("/read"), "helped")
        assert "told the author" in joined(reader.presses(helped))
    (low,) = all_cases(services)
    assert low.status == "resolved"


def test_withdrawing_the_card_resolves_its_low_case(services: Services) -> None:
    author = ready(services, "6501")
    share(author, KIND)
    withdraw = [
        d
        for r in author.command("/mycards")
        for row in r.buttons
        for b in row
        if (d := b.data).startswith("c:withdraw:")
    ]
    author.presses(withdraw[0])
    assert all_cases(services)[0].status == "resolved"


# -- retention ------------------------------------------------------------------------------
def resolved_cases(services: Services) -> tuple[Case, Case]:
    """A crisis case and a rejected card's case, both resolved now (retention 30 days)."""
    card_case = held_card_case(services, "6601")
    ready(services, "6602").says(CRISIS)
    with Session(services.engine) as session:
        crisis = session.exec(select(Case).where(Case.source == "crisis")).one()
        toxic = session.get(Case, card_case.id)
        assert toxic is not None
        card = session.get(Card, toxic.card_id)
        assert card is not None
        card.status = "rejected"
        session.add(card)
        for case in (crisis, toxic):
            cases.resolve(session=session, case=case, retention_days=30)
        session.commit()
        session.refresh(crisis)
        session.refresh(toxic)
        return crisis, toxic


def kept_text(services: Services) -> tuple[int, str]:
    with Session(services.engine) as session:
        flags = session.exec(select(Flag).where(col(Flag.sealed_text).is_not(None))).all()
        card = session.exec(select(Card)).one()
        return len(flags), card.text


def test_the_timer_deletes_review_text_after_the_retention_and_not_before(
    services: Services,
) -> None:
    resolved_cases(services)
    before = kept_text(services)
    assert before[0] >= 1 and before[1]
    assert Retention(services.engine, clock=lambda: utcnow() + timedelta(days=29)).purge_due() == 0
    assert kept_text(services) == before
    later = Retention(services.engine, clock=lambda: utcnow() + timedelta(days=31))
    assert later.purge_due() == 2
    assert kept_text(services) == (0, "")  # flags' words and the rejected card's text
    assert later.purge_due() == 0  # nothing twice


def test_the_console_runs_the_timer_while_it_is_up(services: Services) -> None:
    resolved_cases(services)
    clock = Retention(
        services.engine, clock=lambda: utcnow() + timedelta(days=31), interval_seconds=0.05
    )
    app = create_app(services.settings, engine=services.engine, retention=clock)
    from starlette.testclient import TestClient

    with TestClient(app, base_url="https://testserver"):  # the lifespan runs; no request made
        for _ in range(100):
            if kept_text(services) == (0, ""):
                break
            time.sleep(0.05)
    assert kept_text(services) == (0, "")


def test_needtotalk_cases_purge(services: Services, settings: Settings) -> None:
    resolved_cases(services)
    with Session(services.engine) as session:  # the retention has run out
        for case in session.exec(select(Case)):
            case.purge_text_after = utcnow() - timedelta(minutes=1)
            session.add(case)
        session.commit()
    env = {
        "DATABASE_URL": settings.database_url,
        "NEEDTOTALK_ENV": "test",
        "NEEDTOTALK_SECRET_KEY": settings.secret_key.get_secret_value(),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "cases", "purge"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 resolved case(s)" in done.stdout
    assert kept_text(services) == (0, "")
