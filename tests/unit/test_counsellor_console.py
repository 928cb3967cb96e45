"""The counsellor console over HTTP: Starlette's TestClient against the real app, the real core
and the real database (SQLite and PostgreSQL). Access control, CSRF, lock-out, every action,
the person's answer landing in the case, and what a case page never shows."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.console.app import create_app
from bot.console.auth import add_counsellor
from bot.console.policy import load_console_policy
from bot.services import Services
from bot.store import cases
from bot.store.tables import AuditEntry, Card, Case, Counsellor, Flag, OutboxMessage, utcnow
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person

PASSWORD = "correct horse battery"
CRISIS = "I want to die tonight"
TOXIC_CARD = "You are all pathetic losers and I hate every single one of you idiots."
KIND_CARD = "Walking every morning slowly helped me feel like myself again after a hard winter."


@pytest.fixture
def counsellors(services: Services) -> dict[str, int]:
    policy = load_console_policy(services.settings.policies_dir / "console.yaml")
    ids: dict[str, int] = {}
    with Session(services.engine) as session:
        for name in ("ana", "ben"):
            row = add_counsellor(session=session, name=name, password=PASSWORD, policy=policy)
            assert row.id is not None
            ids[name] = row.id
        session.commit()
    return ids


def client_for(services: Services) -> TestClient:
    app = create_app(services.settings, engine=services.engine)
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def client(services: Services, counsellors: dict[str, int]) -> Iterator[TestClient]:
    with client_for(services) as built:
        yield built


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> int:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": name, "password": password, "csrf": token})
    return response.status_code


def crisis_case(services: Services, ref: str = "5550101") -> Case:
    person = Someone(services, ref)
    person.consents()
    person.says(CRISIS)
    with Session(services.engine) as session:
        return session.exec(select(Case).where(Case.source == "crisis")).one()


def act(client: TestClient, case_id: int, action: str, **fields: str) -> int:
    token = csrf_of(client.get(f"/cases/{case_id}").text)
    return client.post(f"/cases/{case_id}/{action}", data={"csrf": token, **fields}).status_code


def case_row(services: Services, case_id: int) -> Case:
    with Session(services.engine) as session:
        row = session.get(Case, case_id)
        assert row is not None
        return row


# -- access control ------------------------------------------------------------------------------


def test_no_page_but_login_without_a_session(services: Services, client: TestClient) -> None:
    case = crisis_case(services)
    for path in ("/", f"/cases/{case.id}", "/audit"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.post(f"/cases/{case.id}/take", data={"csrf": "x"}).status_code == 303
    assert case_row(services, case.id or 0).assignee_id is None
    assert client.get("/login").status_code == 200


def test_login_sets_hardened_cookies_and_logout_ends_the_session(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf": token})
    assert response.status_code == 303
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "ntt_console" in v
    )
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    queue = client.get("/")
    assert queue.status_code == 200 and "Signed in as ana" in queue.text
    assert queue.headers["x-frame-options"] == "DENY"
    old_cookie = client.cookies.get("ntt_console")
    client.post("/logout", data={"csrf": csrf_of(queue.text)})
    assert old_cookie and client.cookies.get("ntt_console") is None
    client.cookies.set("ntt_console", old_cookie)  # the old token is worth nothing now
    assert client.get("/").status_code == 303


def test_a_form_without_its_csrf_token_is_refused(services: Services, client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"name": "ana", "password": PASSWORD})
    assert refused.status_code == 403 and "ntt_console" not in refused.headers.get("set-cookie", "")
    wrong = client.post("/login", data={"name": "ana", "password": PASSWORD, "csrf": token + "x"})
    assert wrong.status_code == 403
    assert log_in(client, "ana") == 303
    case = crisis_case(services)
    assert client.post(f"/cases/{case.id}/take").status_code == 403
    assert client.post(f"/cases/{case.id}/take", data={"csrf": "forged"}).status_code == 403
    assert case_row(services, case.id or 0).assignee_id is None


def test_the_lock_out_holds_even_for_the_right_password(
    services: Services, client: TestClient
) -> None:
    policy = load_console_policy(services.settings.policies_dir / "console.yaml")
    statuses = [log_in(client, "ana", "wrong password!") for _ in range(policy.max_failed_logins)]
    assert statuses[:-1] == [401] * (policy.max_failed_logins - 1) and statuses[-1] == 429
    assert log_in(client, "ana") == 429  # the right password, still locked
    assert log_in(client, "ben") == 303  # another account is not affected
    with Session(services.engine) as session:
        ana = session.exec(select(Counsellor).where(Counsellor.name == "ana")).one()
        ana.locked_until = utcnow() - timedelta(seconds=1)  # the lock-out time has passed
        session.add(ana)
        session.commit()
    assert log_in(client, "ana") == 303


def test_one_counsellor_cannot_act_as_another(
    services: Services, counsellors: dict[str, int]
) -> None:
    case = crisis_case(services)
    assert case.id is not None
    with client_for(services) as ana, client_for(services) as ben:
        log_in(ana, "ana")
        log_in(ben, "ben")
        ana_token = csrf_of(ana.get(f"/cases/{case.id}").text)
        # Ben's session with Ana's CSRF token: refused, nothing happens.
        assert ben.post(f"/cases/{case.id}/take", data={"csrf": ana_token}).status_code == 403
        # A counsellor field in the form is ignored: the session decides who acts.
        forged = {"csrf": ana_token, "counsellor_id": str(counsellors["ben"])}
        assert ana.post(f"/cases/{case.id}/take", data=forged).status_code == 303
        assert case_row(services, case.id).assignee_id == counsellors["ana"]
        # Ben can neither take Ana's case nor act on it.
        assert act(ben, case.id, "take") == 409
        assert act(ben, case.id, "resolve", text="closing it") == 409
        assert act(ben, case.id, "message", text="hello") == 409
    row = case_row(services, case.id)
    assert row.assignee_id == counsellors["ana"] and row.status == cases.IN_REVIEW
    with Session(services.engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


# -- what a page shows ---------------------------------------------------------------------------


def test_the_queue_shows_cases_by_severity_with_counts(
    services: Services, client: TestClient
) -> None:
    writer = Someone(services, "5550201")
    writer.consents()
    writer.command("/share")
    writer.says(TOXIC_CARD)
    writer.presses("c:publish")
    case = crisis_case(services)
    log_in(client, "ana")
    page = client.get("/").text
    assert "<strong>2</strong> new" in page
    assert page.index(case.pseudonym) < page.index("toxic card")


def test_a_case_page_carries_no_id_name_or_key_of_the_person(
    services: Services, client: TestClient
) -> None:
    case = crisis_case(services, ref="5550987")
    person = stored_person(services, "5550987")
    log_in(client, "ana")
    page = client.get(f"/cases/{case.id}").text
    assert case.pseudonym in page and CRISIS in page  # the text kept for review
    assert "Mood level" in page
    for secret in ("5550987", person.key, person.key[:12]):
        assert secret not in page


def test_a_case_page_names_the_flags_categories_in_words(
    services: Services, client: TestClient
) -> None:
    """Counsellors read the packs' labels ("suicidal thoughts"), not the policy's ids."""
    case = crisis_case(services)
    with Session(services.engine) as session:
        flag = session.exec(select(Flag).where(Flag.case_id == case.id)).one()
    assert flag.categories
    log_in(client, "ana")
    page = client.get(f"/cases/{case.id}").text
    words = ", ".join(services.screen.label(c, "en") for c in flag.categories)
    assert f"<td>{html.escape(words, quote=False)}</td>" in page  # the flags table's cell
    assert f"<td>{', '.join(flag.categories)}</td>" not in page


# -- actions -------------------------------------------------------------------------------------


def test_a_message_reaches_the_person_and_their_answer_lands_in_the_case(
    services: Services, client: TestClient
) -> None:
    case = crisis_case(services)
    assert case.id is not None
    log_in(client, "ana")
    assert act(client, case.id, "take") == 303
    assert act(client, case.id, "message", text="I read your message. How are you now?") == 303
    due = [i for i in services.outbox.due("telegram") if i.recipient_ref == "5550101"]
    assert len(due) == 1
    sent = due[0].message
    assert "A NeedToTalk counsellor" in sent.text and "How are you now?" in sent.text
    assert sent.protect_content and button_data([sent]) == [f"cr:{case.id}"]
    person = Someone(services, "5550101")
    outsider = Someone(services, "5550999")
    outsider.consents()
    assert "ended" in joined(outsider.presses(f"cr:{case.id}"))  # not their case
    assert "Only they will read it" in joined(person.presses(f"cr:{case.id}"))
    assert "will read your answer" in joined(person.says("A bit better, thank you."))
    page = client.get(f"/cases/{case.id}").text
    assert "A bit better, thank you." in page and "message in" in page


def test_take_and_resolve_with_a_note(services: Services, client: TestClient) -> None:
    case = crisis_case(services)
    assert case.id is not None
    log_in(client, "ana")
    assert act(client, case.id, "resolve", text="too early") == 409  # not taken yet
    act(client, case.id, "take")
    assert act(client, case.id, "resolve", text="   ") == 409  # a note is required
    assert act(client, case.id, "resolve", text="Talked it through; safe for now.") == 303
    row = case_row(services, case.id)
    assert row.status == cases.RESOLVED and row.purge_text_after is not None
    page = client.get(f"/cases/{case.id}").text
    assert "Talked it through; safe for now." in page and "Take this case" not in page
    assert case.pseudonym not in client.get("/").text  # gone from the open queue


def held_card_case(services: Services, ref: str) -> Case:
    writer = Someone(services, ref)
    writer.consents()
    writer.command("/share")
    writer.says(TOXIC_CARD)
    writer.presses("c:publish")
    with Session(services.engine) as session:
        return session.exec(select(Case).where(Case.source == "toxic_card")).one()


def card_of(services: Services, case: Case) -> Card:
    with Session(services.engine) as session:
        card = session.get(Card, case.card_id)
        assert card is not None
        return card


@pytest.mark.parametrize(
    ("fields", "content_class"),
    [({"allow_vulnerable": "yes"}, "inspirational"), ({}, "vulnerable")],
)
def test_approving_a_held_card_publishes_it_to_the_chosen_readers(
    services: Services, client: TestClient, fields: dict[str, str], content_class: str
) -> None:
    case = held_card_case(services, "5550301")
    assert case.id is not None
    log_in(client, "ana")
    act(client, case.id, "take")
    assert act(client, case.id, "approve", **fields) == 303
    card = card_of(services, case)
    assert card.status == "published" and card.content_class == content_class
    assert act(client, case.id, "approve") == 409  # no longer held


def test_rejecting_a_held_card_and_hiding_a_published_one(
    services: Services, client: TestClient
) -> None:
    case = held_card_case(services, "5550401")
    assert case.id is not None
    log_in(client, "ana")
    act(client, case.id, "take")
    assert act(client, case.id, "hide") == 409  # held, not published
    assert act(client, case.id, "reject") == 303
    assert card_of(services, case).status == "rejected"

    author, reader = Someone(services, "5550402"), Someone(services, "5550403")
    for who in (author, reader):
        who.consents()
        row = stored_person(services, who.ref)
        with Session(services.engine) as session:
            row.user_class, row.mood_level, row.state, row.state_data = "normal", 1, "idle", {}
            session.add(row)
            session.commit()
    author.command("/share")
    author.says(KIND_CARD)
    author.presses("c:publish")
    card_id = next(d for d in button_data(reader.command("/read")) if d.startswith("c:report:"))
    reader.presses(card_id)
    with Session(services.engine) as session:
        report_case = session.exec(select(Case).where(Case.source == "report")).one()
    assert report_case.id is not None
    act(client, report_case.id, "take")
    assert act(client, report_case.id, "hide") == 303
    assert card_of(services, report_case).status == "hidden"


def test_restricting_the_writer_of_a_held_card(services: Services, client: TestClient) -> None:
    case = held_card_case(services, "5550501")
    assert case.id is not None
    log_in(client, "ana")
    act(client, case.id, "take")
    assert act(client, case.id, "restrict", what="share", days="999") == 409  # not offered
    assert act(client, case.id, "restrict", what="share", days="7") == 303
    writer_id = stored_person(services, "5550501").id
    assert writer_id is not None
    with Session(services.engine) as session:
        assert cases.is_restricted(session, writer_id, "share")
        assert not cases.is_restricted(session, writer_id, "reply")


def test_every_view_and_action_is_in_the_audit_log_which_cannot_be_edited(
    services: Services, client: TestClient, counsellors: dict[str, int]
) -> None:
    case = crisis_case(services)
    assert case.id is not None
    log_in(client, "ana")
    act(client, case.id, "take")
    act(client, case.id, "message", text="hello")
    with Session(services.engine) as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    assert [e.action for e in entries] == [
        "login",
        "view_case",
        "taken",
        "view_case",
        "message_out",
    ]
    assert {e.counsellor_id for e in entries} == {counsellors["ana"]}
    assert all(e.case_id == case.id for e in entries[1:])
    page = client.get("/audit").text
    assert "message out" in page and case.pseudonym in page and "hello" not in page
    token = csrf_of(page)
    for method in ("post", "put", "delete"):
        response = client.request(method, "/audit", data={"csrf": token})
        assert response.status_code == 405


def test_linking_two_cases_notes_each_in_the_other_and_nothing_more(
    services: Services, client: TestClient
) -> None:
    first = crisis_case(services, ref="5550601")
    Someone(services, "5550602").says(CRISIS)
    with Session(services.engine) as session:
        second = session.exec(select(Case).where(Case.id != first.id)).one()
    assert first.id is not None and second.id is not None
    log_in(client, "ana")
    act(client, first.id, "take")
    assert act(client, first.id, "link", text="case-00000000") == 409  # no such case
    assert act(client, first.id, "link", text=first.pseudonym) == 409  # not itself
    assert act(client, first.id, "link", text=second.pseudonym.upper()) == 303
    assert f"linked to {second.pseudonym}" in client.get(f"/cases/{first.id}").text
    assert f"linked to {first.pseudonym}" in client.get(f"/cases/{second.id}").text
    assert case_row(services, second.id).pseudonym == second.pseudonym  # pseudonyms stay apart


def test_an_approved_held_reply_reaches_the_writer_of_the_card_it_answers(
    services: Services, client: TestClient
) -> None:
    author, reader = Someone(services, "5550701"), Someone(services, "5550702")
    for who in (author, reader):
        who.consents()
        row = stored_person(services, who.ref)
        with Session(services.engine) as session:
            row.user_class, row.mood_level, row.state, row.state_data = "normal", 1, "idle", {}
            session.add(row)
            session.commit()
    author.command("/share")
    author.says(KIND_CARD)
    author.presses("c:publish")
    reply_button = next(d for d in button_data(reader.command("/read")) if d.startswith("c:reply:"))
    reader.presses(reply_button)
    reader.says(TOXIC_CARD)  # the preview
    assert "read it first" in joined(reader.presses("c:publish"))  # held, nothing relayed yet
    assert services.outbox.due("telegram") == []
    with Session(services.engine) as session:
        case = session.exec(select(Case).where(Case.source == "toxic_reply")).one()
    assert case.id is not None
    log_in(client, "ana")
    act(client, case.id, "take")
    assert act(client, case.id, "approve") == 303
    [notice] = services.outbox.due("telegram")
    assert notice.recipient_ref == "5550701" and TOXIC_CARD in notice.message.text


def test_a_case_shows_the_persons_check_in_chart_once_there_are_check_ins(
    services: Services, client: TestClient
) -> None:
    person = Someone(services, "5550901")
    person.consents()
    person.command("/checkin")
    person.presses("ck:f:3")  # one check-in before the crisis that opens the case
    person.says(CRISIS)
    with Session(services.engine) as session:
        case = session.exec(select(Case).where(Case.source == "crisis")).one()
    assert case.id is not None
    anonymous = client.get(f"/cases/{case.id}/progress.png")  # no session: the login page
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    log_in(client, "ana")
    assert f"/cases/{case.id}/progress.png" in client.get(f"/cases/{case.id}").text
    chart = client.get(f"/cases/{case.id}/progress.png")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG")
    with Session(services.engine) as session:
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.case_id == case.id))
        assert "viewed_chart" in list(actions)


def test_a_case_without_check_ins_has_no_chart(services: Services, client: TestClient) -> None:
    case = crisis_case(services, "5551001")
    log_in(client, "ana")
    assert "no chart" in client.get(f"/cases/{case.id}").text
    assert client.get(f"/cases/{case.id}/progress.png").status_code == 404
