"""The durable inbox end to end: nothing lost, nothing twice, a poison update set aside.

The real Application, core and database (SQLite and PostgreSQL) against the local Bot API server
(tests/support/fake_bot_api.py). A process killed mid-run is a real `needtotalk run` subprocess
sent SIGKILL; a turn cut off mid-way is the state such a kill leaves (the update stored, its
attempt counted, nothing settled); two workers are two Applications on one PostgreSQL schema,
each with its own engine and webhook, fed as a load balancer would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from aiohttp import ClientSession
from sqlmodel import Session, select

from bot.channels.telegram.application import (
    build_application,
    serving_webhook,
    webhook_secret_token,
)
from bot.channels.telegram.delivery import send_outbound
from bot.channels.telegram.inbox import CHANNEL, chat_of
from bot.config import Settings
from bot.domain import Button, Outbound
from bot.services import Services, build_services
from bot.store.inbox import NewUpdate
from bot.store.outbox import enqueue
from bot.store.tables import Card, InboxUpdate, OutboxMessage, Person
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.telegram_harness import bot_running

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EMI = SimulatedPerson(id=6660001, first_name="Emiko", username="emi_k", language_code="en")
FIN = SimulatedPerson(id=6660002, first_name="Finnegan", username="finn_o", language_code="en")
SECRET_QUESTION = "should I tell my sister about the debt"


def inbox_rows(services: Services) -> list[InboxUpdate]:
    with Session(services.engine) as session:
        return list(session.exec(select(InboxUpdate).order_by(InboxUpdate.update_id)).all())


async def test_a_poison_update_between_two_good_ones_is_set_aside_without_its_contents(
    server: FakeBotApi,
    settings: Settings,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        async with bot_running(settings, services):
            server.user_sends_command(EMI, "/start")
            server.user_sends_old_style_poll(EMI, SECRET_QUESTION)
            server.user_sends_command(EMI, "/help")
            await server.wait_for_button(EMI.id, "consent:yes")
            await server.wait_for_text(EMI.id, "Here's what I can do")  # /help, after the poison
            server.user_sends_command(FIN, "/start")  # and the bot still answers everyone
            await server.wait_for_button(FIN.id, "consent:yes")
            await server.wait_until_consumed()

    rows = inbox_rows(services)
    assert [(r.status, r.error) for r in rows][:3] == [
        ("done", None),
        ("set_aside", "TypeError"),
        ("done", None),
    ]
    assert all(r.sealed_payload is None for r in rows)  # nothing of it is kept
    # getUpdates moved past the poison: it was asked for once, not re-polled in a loop
    assert len(server.calls_to("getUpdates")) < 30
    logged = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("set aside (TypeError)" in line for line in logged)
    for line in logged:
        for secret in (SECRET_QUESTION, *EMI.identifiers, server.token):
            assert secret not in line, line


async def test_the_library_logs_no_update_contents_above_debug(
    caplog: pytest.LogCaptureFixture, settings: Settings, services: Services
) -> None:
    """Whatever python-telegram-bot logs (here: the exception it raises for the poison batch,
    logged at CRITICAL with the data, as its updater does), only types reach INFO and above."""
    from telegram import Update

    from bot.channels.telegram.logfilter import install_log_filter

    install_log_filter()
    library = logging.getLogger("telegram.ext.Updater")
    batch = [{"update_id": 1, "message": {"text": SECRET_QUESTION, "chat": {"id": EMI.id}}}]
    with caplog.at_level(logging.DEBUG):
        try:
            Update.de_list(batch, None)  # type: ignore[arg-type]
        except Exception as exc:
            library.critical("Error while processing %s", batch, exc_info=exc)
            library.debug("Error while processing %s", batch)
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and r.name == library.name]
    assert critical and debug
    assert SECRET_QUESTION not in critical[0].getMessage()
    assert str(EMI.id) not in critical[0].getMessage()
    assert critical[0].exc_info is None
    assert SECRET_QUESTION in debug[0].getMessage()  # DEBUG stays whole, on one's own machine


async def test_a_turn_cut_off_mid_way_is_answered_once_after_the_restart(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    """What a SIGKILL mid-turn leaves: the update stored (and, Telegram not having had its
    offset confirmed, still queued there too), its attempt counted, no answer. The next start
    handles it once: the stored row is the one, the redelivered copy is recognised."""
    update = server.user_sends_command(EMI, "/start")
    chat = chat_of(update)
    assert chat is not None
    lane = services.inbox.lane_of(CHANNEL, chat)
    services.inbox.store(CHANNEL, [NewUpdate(update["update_id"], lane, json.dumps(update))])
    taken = services.inbox.next_in_lane(CHANNEL, lane)  # the worker started, then died
    assert taken is not None and taken.attempts == 1

    async with bot_running(settings, services):
        await server.wait_for_button(EMI.id, "consent:yes")
        await server.wait_until_consumed()
        await asyncio.sleep(1.5)  # a sweep and a drain round: nothing more may come
    welcomes = [m for m in server.sent_messages(EMI.id) if "consent:yes" in str(m.buttons)]
    assert len(welcomes) == 1
    [row] = inbox_rows(services)
    assert (row.status, row.attempts) == ("done", 2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_sigkill_mid_run_loses_nothing(server: FakeBotApi, tmp_path: Path) -> None:
    """A real `needtotalk run` killed with SIGKILL while people write, then started again."""
    people = [SimulatedPerson(id=6670000 + i, first_name=f"P{i}") for i in range(40)]
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "NEEDTOTALK_ENV": "test",
        "NEEDTOTALK_SECRET_KEY": "durable-inbox-test-secret-0123456789",
    }

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    first = await start()
    try:
        for who in people:
            server.user_sends_command(who, "/start")
            server.user_sends_command(who, "/help")
        await server.wait_for_reply(people[0].id, quiet=0.0, timeout=240)
        # Somewhere in the middle of the run, not in step with a send: a kill in the few
        # milliseconds between Telegram's answer and the outbox's record of it repeats that
        # one message after the restart (at least once; README "Many workers").
        await asyncio.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
    answered_before = len(server.sent_messages())
    second = await start()
    try:
        for who in people:  # a start loads the models: slow on a busy machine
            await server.wait_for_message(
                who.id, lambda m: m.text.startswith("Here's what I can do"), timeout=240
            )
        await asyncio.sleep(2.0)
    finally:
        second.send_signal(signal.SIGINT)
        await asyncio.wait_for(second.wait(), 30)
    assert answered_before < 2 * len(people)  # the kill did land mid-run
    for who in people:
        texts = [m.text for m in server.sent_messages(who.id)]
        welcomes = [t for t in texts if t.startswith("Hi, and welcome")]
        helps = [t for t in texts if t.startswith("Here's what I can do")]
        assert len(welcomes) >= 1 and len(helps) >= 1, texts  # nothing lost
        assert len(texts) == len(welcomes) + len(helps), texts
        # Every update was handled once (the inbox); a message Telegram had accepted in the
        # few milliseconds before the kill, not yet recorded, goes again (at least once,
        # README). A person's next message waits for the record of the one before
        # (outbox_drain), so at most one of theirs was in flight: repeated at most once.
        assert len(texts) <= 3, texts


# -- two workers on one PostgreSQL ---------------------------------------------------------


async def _post(port: int, secret: str, update: dict[str, object]) -> int:
    async with (
        ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        ) as response,
    ):
        return response.status


async def _two_workers(
    stack: AsyncExitStack, settings: Settings
) -> tuple[list[Services], list[int], str]:
    built = [build_services(settings, channel="telegram") for _ in range(2)]
    for services in built:
        stack.callback(services.close)
    ports = [_free_port(), _free_port()]
    secret = webhook_secret_token(settings)
    for index, (services, port) in enumerate(zip(built, ports, strict=True)):
        app = build_application(settings, services, drain_interval=0.2)
        await stack.enter_async_context(
            serving_webhook(
                app,
                webhook_url=f"http://127.0.0.1:{ports[0]}/telegram",
                secret_token=secret,
                port=port,
                url_path="telegram",
                register=index == 0,
            )
        )
    return built, ports, secret


@pytest.fixture
async def postgres_only(database_url: str) -> AsyncIterator[None]:
    if not database_url.startswith("postgresql"):
        pytest.skip("two workers share PostgreSQL; SQLite runs one process")
    yield


@pytest.mark.usefixtures("postgres_only")
async def test_two_workers_a_double_tapped_share_makes_one_card_and_one_answer_each(
    server: FakeBotApi, settings: Settings
) -> None:
    async with AsyncExitStack() as stack:
        (one, _), ports, secret = await _two_workers(stack, settings)

        async def send(update: dict[str, object], worker: int) -> None:
            server._updates.clear()  # the load balancer delivers; nothing is polled
            assert await _post(ports[worker], secret, update) == 200

        # the same new person's first messages reach both workers at once (an upsert)
        await asyncio.gather(
            send(server.user_sends_command(EMI, "/start"), 0),
            send(server.user_sends_command(EMI, "/help"), 1),
        )
        welcome = await server.wait_for_button(EMI.id, "consent:yes")
        await send(server.user_presses_button(EMI, "consent:yes", welcome), 1)
        await server.wait_for_button_prefix(EMI.id, "a:")
        with Session(one.engine) as session:
            person = session.exec(select(Person)).one()
            person.state, person.state_data = "idle", {}
            session.add(person)
            session.commit()
        await send(server.user_sends_command(EMI, "/share"), 0)
        await server.wait_for_text(EMI.id, "Write your card")
        await send(server.user_sends_text(EMI, "Walking every morning helped me."), 1)
        confirm = await server.wait_for_button(EMI.id, "c:publish")
        await asyncio.gather(  # the double tap, one press to each worker
            send(server.user_presses_button(EMI, "c:publish", confirm), 0),
            send(server.user_presses_button(EMI, "c:publish", confirm), 1),
        )
        await server.wait_for_text(EMI.id, "out there now")
        await asyncio.sleep(2.0)
        with Session(one.engine) as session:
            cards = session.exec(select(Card)).all()
            people = session.exec(select(Person)).all()
    assert len(cards) == 1
    assert len(people) == 1
    # the confirmation was said once (the second tap's answer may then replace it in the chat)
    texts = [m.text for m in server.sent_messages(EMI.id)]
    assert sum("out there now" in t for t in texts) == 1


@pytest.mark.usefixtures("postgres_only")
async def test_two_workers_drain_one_outbox_each_message_once_in_order(
    server: FakeBotApi, settings: Settings
) -> None:
    people = [SimulatedPerson(id=6680000 + i, first_name=f"Q{i}") for i in range(8)]
    async with AsyncExitStack() as stack:
        (one, _), ports, secret = await _two_workers(stack, settings)
        for who in people:
            server._updates.clear()
            assert (
                await _post(ports[who.id % 2], secret, server.user_sends_command(who, "/start"))
                == 200
            )
        for who in people:
            await server.wait_for_button(who.id, "consent:yes")
        with Session(one.engine) as session:
            ids = {p.id for p in session.exec(select(Person)).all()}
            for number in range(25):
                for person_id in sorted(i for i in ids if i is not None):
                    enqueue(
                        session=session,
                        sealer=one.sealer,
                        person_id=person_id,
                        channel=CHANNEL,
                        message=Outbound(f"note {number}"),
                    )
            session.commit()
        for who in people:
            await server.wait_for_text(who.id, "note 24")
        await asyncio.sleep(1.0)
        with Session(one.engine) as session:
            statuses = Counter(r.status for r in session.exec(select(OutboxMessage)).all())
    assert statuses == {}  # every row delivered, and a delivered row is deleted (privacy)
    for who in people:
        notes = [m.text for m in server.sent_messages(who.id) if m.text.startswith("note ")]
        assert notes == [f"note {n}" for n in range(25)]  # each once, in order


async def test_the_next_question_replaces_the_pressed_message(
    server: FakeBotApi, settings: Settings, services: Services
) -> None:
    """One call for a press answered by a question: the pressed message is edited into the
    answer (no keyboard removal, no new message); the spinner is stopped with
    answerCallbackQuery. Only the first reply can replace it; more replies are new messages."""
    async with bot_running(settings, services):
        server.user_sends_command(FIN, "/start")
        welcome = await server.wait_for_button(FIN.id, "consent:yes")
        server.user_presses_button(FIN, "consent:yes", welcome)
        question = await server.wait_for_button_prefix(FIN.id, "a:")
        sends_before = len(server.calls_to("sendMessage"))
        option = next(d for _, d in question.buttons if d.startswith("a:"))
        server.user_presses_button(FIN, option, question)
        following = await server.wait_for_reply(FIN.id)
        await server.wait_for_call("answerCallbackQuery", 2)
    assert welcome.superseded  # the first reply to "I agree" took the welcome's place
    assert question.superseded and following[0].message_id == question.message_id
    assert server.calls_to("editMessageReplyMarkup") == []
    assert len(server.calls_to("sendMessage")) - sends_before == len(following) - 1


async def test_an_edit_already_made_before_a_kill_is_not_sent_again_as_new(
    server: FakeBotApi,
) -> None:
    """A worker killed after Telegram applied an edit, before the outbox recorded it, makes
    the edit again after the restart (the row is retaken). Telegram answers "message is not
    modified": the answer is already there, so it is done, not sent a second time as a new
    message. The same answer to a first press is sent as new (the person sees an answer)."""
    from telegram import Bot

    bot = Bot(server.token, base_url=server.base_url)
    async with bot:
        pressed = await bot.send_message(EMI.id, "Do you agree?")
        answer = Outbound("First question", buttons=((Button("Yes", "a:0"),),))
        first = await send_outbound(bot, EMI.id, answer, edit_message_id=pressed.message_id)
        again = await send_outbound(
            bot, EMI.id, answer, edit_message_id=pressed.message_id, retaken=True
        )
        assert first == again == [pressed.message_id]
        assert len(server.calls_to("sendMessage")) == 1  # only the pressed message itself
        assert [m.text for m in server.sent_messages(EMI.id)] == [
            "Do you agree?",
            "First question",
        ]
        pressed_again = await send_outbound(  # a first press answered with what it reads
            bot, EMI.id, answer, edit_message_id=pressed.message_id
        )
    assert pressed_again != [pressed.message_id]
    assert [m.text for m in server.sent_messages(EMI.id)][-1] == "First question"
