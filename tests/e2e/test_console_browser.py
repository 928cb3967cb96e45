"""The counsellor console in a real browser, end to end.

Debian's Chromium, driven by Playwright for Python (no browser download), opens the console
served by uvicorn; the bot runs as `needtotalk run` builds it against the local Bot API server
(tests/support/telegram_harness.py). A simulated person in crisis opens a case; a counsellor
logs in, opens it and writes; the person receives the message from the bot, answers, and the
answer appears in the case. Nothing on the pages names the person.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Page, async_playwright, expect
from sqlmodel import Session
from starlette.applications import Starlette

from bot.config import Settings
from bot.console.app import create_app
from bot.console.auth import add_counsellor
from bot.console.policy import load_console_policy
from bot.services import Services, build_services
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long counsellor password"
MIRA = SimulatedPerson(id=7771234, first_name="Mirabel", username="mira_k_99", language_code="en")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def console_serving(app: Starlette) -> Iterator[str]:
    """uvicorn in a thread of its own, as `needtotalk console` runs it; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def add_counsellor_account(services: Services, name: str) -> None:
    policy = load_console_policy(services.settings.policies_dir / "console.yaml")
    with Session(services.engine) as session:
        add_counsellor(session=session, name=name, password=PASSWORD, policy=policy)
        session.commit()


async def page_shows_nobody(page: Page) -> None:
    html = await page.content()
    for identifier in MIRA.identifiers:
        assert identifier not in html


async def test_a_counsellor_reaches_a_person_in_crisis_and_reads_the_answer(
    server: FakeBotApi, settings: Settings, screenshots: Path
) -> None:
    assert os.access(CHROMIUM, os.X_OK), "the browser test needs Debian's `chromium` (apt-get)"
    services = build_services(settings, channel="telegram")
    add_counsellor_account(services, "Sam (counsellor)")
    app = create_app(settings, engine=services.engine)
    try:
        async with bot_running(settings, services, drain_interval=0.1), async_playwright() as pw:
            await start_and_consent(server, MIRA)
            server.user_sends_text(MIRA, "I want to die, I can't do this anymore")
            await server.wait_for_text(MIRA.id, "findahelpline.com")

            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            with console_serving(app) as base:
                page = await browser.new_page(viewport={"width": 1100, "height": 760})
                await page.goto(f"{base}/")
                await expect(page).to_have_url(f"{base}/login")  # no page without a login
                await page.get_by_label("Name").fill("Sam (counsellor)")
                await page.get_by_label("Password").fill(PASSWORD)
                await page.get_by_role("button", name="Sign in").click()
                await expect(page.get_by_text("Signed in as Sam (counsellor)")).to_be_visible()
                await expect(page.get_by_text("1 new")).to_be_visible()
                await page_shows_nobody(page)
                await page.screenshot(path=str(screenshots / "console-queue.png"))

                await page.get_by_role("link", name="case-").click()
                await expect(
                    page.get_by_text("I want to die, I can't do this anymore")
                ).to_be_visible()
                await page.get_by_role("button", name="Take this case").click()
                await page.get_by_label("Message to the person").fill(
                    "Hi, I'm one of the NeedToTalk counsellors. I read what you wrote. "
                    "Are you somewhere safe right now?"
                )
                await page.get_by_role("button", name="Send message").click()

                delivered = await server.wait_for_text(MIRA.id, "A NeedToTalk counsellor")
                message = delivered[-1]
                assert "somewhere safe" in message.text and message.protect_content
                server.user_presses_button(
                    MIRA, message.callback_data_for("Reply to the counsellor"), message
                )
                await server.wait_for_text(MIRA.id, "Only they will read it")
                server.user_sends_text(MIRA, "Yes. I'm at my sister's place, thank you for asking.")
                await server.wait_for_text(MIRA.id, "will read your answer")

                await page.reload()
                await expect(page.get_by_text("at my sister's place")).to_be_visible()
                await page_shows_nobody(page)
                await page.screenshot(path=str(screenshots / "console-case.png"), full_page=True)
            await browser.close()
    finally:
        services.close()
