"""The retention timer in the bot's run loop: with the real Application polling the local Bot
API server, review text of a case resolved longer ago than the retention is deleted without
anyone opening the console (SQLite and PostgreSQL; the clock is the test's)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session, col, select

from bot.config import Settings
from bot.services import Services
from bot.store import cases
from bot.store.retention import Retention
from bot.store.tables import Case, Flag, utcnow
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running, start_and_consent

FRAN = SimulatedPerson(id=8890101, first_name="Fran", username="fran_r", language_code="en")


def words_kept(services: Services) -> int:
    with Session(services.engine) as session:
        return len(session.exec(select(Flag).where(col(Flag.sealed_text).is_not(None))).all())


async def test_the_running_bot_deletes_review_text_when_its_time_is_up(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    future = Retention(
        services.engine, clock=lambda: utcnow() + timedelta(days=31), interval_seconds=0.05
    )
    services.housekeeping = future
    async with bot_running(settings, services, drain_interval=0.1):
        await start_and_consent(server, FRAN)
        server.user_sends_text(FRAN, "I want to die tonight")
        await server.wait_for_text(FRAN.id, "support from a real person")
        assert words_kept(services) == 1  # an open case keeps its text, whatever the clock
        with Session(services.engine) as session:
            (case,) = session.exec(select(Case)).all()
            cases.resolve(session=session, case=case, retention_days=30)
            session.commit()
        for _ in range(200):
            if words_kept(services) == 0:
                break
            await asyncio.sleep(0.05)
    assert words_kept(services) == 0
