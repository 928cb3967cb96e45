"""Counsellors and a person on Telegram, end to end, without a browser: the real Application
long-polls the local Bot API server, the console app answers over HTTP (Starlette's TestClient),
and both share one database. The alert reaches the counsellors' chat with a link and nothing
else; the counsellor's message reaches the person from the bot; the answer lands in the case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from bot.config import Settings
from bot.console.app import create_app
from bot.console.auth import add_counsellor
from bot.console.policy import load_console_policy
from bot.services import build_services
from bot.store.tables import Case
from tests.conftest import make_settings
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

COUNSELLORS_CHAT = -1009876
PASSWORD = "a long counsellor password"
NOOR = SimulatedPerson(id=7772001, first_name="Noor", username="noor_h_7", language_code="en")


@pytest.fixture
def settings(server: FakeBotApi, database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        TELEGRAM_BOT_TOKEN=server.token,
        TELEGRAM_API_BASE_URL=server.base_url,
        COUNSELLOR_CHAT_ID=COUNSELLORS_CHAT,
        COUNSELLOR_CONSOLE_URL="https://care.example.org",
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_alert_message_and_answer_through_telegram(
    server: FakeBotApi, settings: Settings
) -> None:
    services = build_services(settings, channel="telegram")
    policy = load_console_policy(settings.policies_dir / "console.yaml")
    with Session(services.engine) as session:
        add_counsellor(session=session, name="lee", password=PASSWORD, policy=policy)
        session.commit()
    console = TestClient(
        create_app(settings, engine=services.engine),
        base_url="https://testserver",
        follow_redirects=False,
    )
    try:
        async with bot_running(settings, services, drain_interval=0.1):
            await start_and_consent(server, NOOR)
            server.user_sends_text(NOOR, "I keep thinking about ending my life")
            await server.wait_for_text(NOOR.id, "findahelpline.com")
            [alert] = await server.wait_for_messages(COUNSELLORS_CHAT)
            with Session(services.engine) as session:
                case = session.exec(select(Case)).one()
            assert case.pseudonym in alert.text and "high" in alert.text
            assert f"https://care.example.org/cases/{case.id}" in alert.text
            for leak in (*NOOR.identifiers, "ending my life"):
                assert leak not in alert.text

            token = csrf_of(console.get("/login").text)
            console.post("/login", data={"name": "lee", "password": PASSWORD, "csrf": token})
            page = console.get(f"/cases/{case.id}").text
            console.post(f"/cases/{case.id}/take", data={"csrf": csrf_of(page)})
            console.post(
                f"/cases/{case.id}/message",
                data={"csrf": csrf_of(page), "text": "I'm here. Would you like to talk?"},
            )
            delivered = (await server.wait_for_text(NOOR.id, "A NeedToTalk counsellor"))[-1]
            assert "Would you like to talk?" in delivered.text and delivered.protect_content
            server.user_presses_button(NOOR, f"cr:{case.id}", delivered)
            await server.wait_for_text(NOOR.id, "Only they will read it")
            server.user_sends_text(NOOR, "Maybe. It helps that someone wrote.")
            await server.wait_for_text(NOOR.id, "will read your answer")

            page = console.get(f"/cases/{case.id}").text
            assert "It helps that someone wrote." in page
            for identifier in NOOR.identifiers:
                assert identifier not in page
            assert len(server.sent_messages(COUNSELLORS_CHAT)) == 1  # one alert per case
    finally:
        console.close()
        services.close()
