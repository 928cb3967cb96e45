"""The Telegram adapter against a local Bot API server, with a tiny in-test conversation.

These exercise the channel only (translation, keyboards, ordering, menu, errors): the core here is
a scripted echo so each assertion is about what the adapter did. Updates take the bot's one path
(the durable inbox and the outbox, on a SQLite file); the real core runs in test_telegram_e2e.py.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select
from telegram.error import InvalidToken

from bot.channels.telegram.application import (
    build_application,
    polling,
    serving_webhook,
    webhook_secret_token,
)
from bot.config import Settings
from bot.domain import Button, Inbound, InboundKind, Outbound, Settle
from bot.store.engine import make_engine
from bot.store.inbox import InboxStore
from bot.store.outbox import OutboxStore, enqueue_delete, enqueue_to_address
from bot.store.sealing import Sealer
from bot.store.tables import OutboxMessage
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson
from tests.support.fake_bot_api import _error as fake_error

AIKO = SimulatedPerson(id=5550001, first_name="Aiko", username="aiko_t", language_code="ja")
BEN = SimulatedPerson(id=5550002, first_name="Ben", username="ben_w", language_code="en")
CHANNEL = "telegram"


@dataclass
class ScriptedConversation:
    """Echoes what the adapter delivered, so tests can see each Inbound's kind and text; its
    replies are settled as the core's are (queued in the outbox, the update marked handled)."""

    engine: Engine
    seen: list[Inbound] = field(default_factory=list)
    slow_texts: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        return {"en": [("start", "Start")], "ja": [("start", "はじめる")]}

    def handle(
        self,
        inbound: Inbound,
        settle: Settle | None = None,
        overflow: Literal["first", "more"] | None = None,
    ) -> list[Outbound]:
        replies = self._replies(inbound)
        if settle is not None:
            with Session(self.engine) as session:
                settle(session, 0, replies, False)  # no stored person: sent to the chat
                session.commit()
        return replies

    def _replies(self, inbound: Inbound) -> list[Outbound]:
        with self.lock:
            self.seen.append(inbound)
        time.sleep(self.slow_texts.get(inbound.text, 0.0))
        if inbound.text == "/start":
            consent = (Button("I agree", "consent:yes"), Button("Not now", "consent:no"))
            return [Outbound("Welcome. Do you agree?", buttons=(consent,))]
        if inbound.text == "boom":
            raise RuntimeError("core failed while reading boom")
        if inbound.text == "card":
            return [Outbound("A peer wrote: you are not alone", protect_content=True, is_card=True)]
        if inbound.text == "long":
            return [Outbound("word " * 2000, buttons=((Button("More", "more"),),))]
        return [Outbound(f"{inbound.kind.value}:{inbound.text}")]


@dataclass
class ListCopies:
    """Where delivered cards landed, as the channel reports them (adapter tests only)."""

    sent: list[tuple[str, str, str, list[int]]] = field(default_factory=list)

    def copy_sent(
        self, token: str, channel: str, chat_ref: str, message_ids: Sequence[int]
    ) -> None:
        self.sent.append((token, channel, chat_ref, list(message_ids)))


@dataclass
class CountedHousekeeping:
    """Background work the channel runs now and then (the retention timer in the real bot)."""

    interval_seconds: float = 0.05
    runs: int = 0

    def run_once(self) -> int:
        self.runs += 1
        return 0


@dataclass
class AdapterServices:
    """The channel's services around the scripted core: the real inbox and outbox."""

    engine: Engine
    sealer: Sealer
    conversation: ScriptedConversation
    inbox: InboxStore
    outbox: OutboxStore
    copies: ListCopies = field(default_factory=ListCopies)
    housekeeping: CountedHousekeeping = field(default_factory=CountedHousekeeping)

    def queue(self, chat: str, message: Outbound) -> None:
        """A message for someone else, waiting in the outbox (a notice, a counsellor's note)."""
        with Session(self.engine) as session:
            enqueue_to_address(
                session=session, sealer=self.sealer, address=chat, channel=CHANNEL, message=message
            )
            session.commit()

    def waiting(self) -> int:
        with Session(self.engine) as session:
            return len(session.exec(select(OutboxMessage)).all())


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[AdapterServices]:
    engine = make_engine(f"sqlite:///{tmp_path / 'adapter.db'}")
    SQLModel.metadata.create_all(engine)
    sealer = Sealer("adapter-test-secret-0123456789abcdef")
    yield AdapterServices(
        engine=engine,
        sealer=sealer,
        conversation=ScriptedConversation(engine),
        inbox=InboxStore(engine, sealer),
        outbox=OutboxStore(engine, sealer),
    )
    engine.dispose()


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


async def delivered(server: FakeBotApi, services: AdapterServices) -> None:
    """Wait until the outbox is empty (each row deleted once its outcome is recorded)."""
    for _ in range(100):
        if services.waiting() == 0:
            return
        await server.wait_for_call("getUpdates", len(server.calls_to("getUpdates")) + 1)
    raise AssertionError("the outbox did not empty")


def settings_for(server: FakeBotApi, token: str | None = None) -> Settings:
    return Settings(
        telegram_bot_token=token or server.token,
        telegram_api_base_url=server.base_url,
        environment="test",
    )


async def test_updates_reach_the_core_as_inbounds_of_the_right_kind(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    services = adapter
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        server.user_sends_command(AIKO, "/start@needtotalk_test_bot")
        welcome = (await server.wait_for_messages(AIKO.id, 1))[0]
        assert welcome.buttons == [("I agree", "consent:yes"), ("Not now", "consent:no")]

        server.user_presses_button(AIKO, welcome.callback_data_for("agree"), welcome)
        assert (await server.wait_for_messages(AIKO.id, 1))[0].text == "choice:consent:yes"
        await server.wait_for_call("answerCallbackQuery")  # the button's spinner stopped

        sent = server.user_sends_text(AIKO, "hello there")
        assert (await server.wait_for_messages(AIKO.id, 1))[0].text == "text:hello there"
        server.user_edits_message(AIKO, sent, "hello again")
        assert (await server.wait_for_messages(AIKO.id, 1))[0].text == "edited:hello again"
        server.user_sends_sticker(AIKO)
        assert (await server.wait_for_messages(AIKO.id, 1))[0].text == "unsupported:"
        server.user_sends_photo(AIKO, caption="my address is 1 Main St")
        reply = (await server.wait_for_messages(AIKO.id, 1))[0].text
        assert reply == "unsupported:my address is 1 Main St"  # captions reach the crisis screen

    kinds = [(i.kind, i.text) for i in services.conversation.seen]
    assert kinds == [
        (InboundKind.COMMAND, "/start"),
        (InboundKind.CHOICE, "consent:yes"),
        (InboundKind.TEXT, "hello there"),
        (InboundKind.EDITED, "hello again"),
        (InboundKind.UNSUPPORTED, ""),
        (InboundKind.UNSUPPORTED, "my address is 1 Main St"),
    ]
    assert {i.user_ref for i in services.conversation.seen} == {str(AIKO.id)}
    assert {i.language_hint for i in services.conversation.seen} == {"ja"}


async def test_command_menu_is_set_in_english_and_japanese(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    app = build_application(settings_for(server), adapter)
    async with polling(app, poll_timeout=1):
        pass
    # The core's menu (ScriptedConversation.command_menu here; the real one is tested in
    # tests/unit/test_command_menu.py) reaches Telegram: English as the default, Japanese by code.
    assert server.commands[""] == [{"command": "start", "description": "Start"}]
    assert server.commands["ja"] == [{"command": "start", "description": "はじめる"}]


async def test_each_persons_updates_stay_in_order_while_others_go_ahead(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    services = adapter
    services.conversation.slow_texts = {"a1": 1.5, "a3": 0.3}
    app = build_application(settings_for(server), services)
    async with polling(app, poll_timeout=1):
        for text in ("a1", "a2", "a3", "a4"):
            server.user_sends_text(AIKO, text)
        server.user_sends_text(BEN, "b1")
        ben = await server.wait_for_messages(BEN.id, 1, timeout=5)
        aiko_so_far = server.sent_messages(AIKO.id)
        aiko = await server.wait_for_messages(AIKO.id, 4, timeout=10)
    assert ben[0].text == "text:b1"
    assert aiko_so_far == []  # Ben was answered while Aiko's slow first message still ran
    assert [m.text for m in aiko] == ["text:a1", "text:a2", "text:a3", "text:a4"]


async def test_protect_content_and_long_texts_are_passed_on(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    app = build_application(settings_for(server), adapter)
    async with polling(app, poll_timeout=1):
        server.user_sends_text(BEN, "card")
        card = (await server.wait_for_messages(BEN.id, 1))[0]
        server.user_sends_text(BEN, "hi")
        plain = (await server.wait_for_messages(BEN.id, 1))[0]
        server.user_sends_text(BEN, "long")
        parts = await server.wait_for_messages(BEN.id, 3)
    assert card.protect_content and not plain.protect_content
    assert [len(p.text) <= 4096 for p in parts] == [True, True, True]
    assert " ".join(p.text for p in parts).split() == ["word"] * 2000
    assert [bool(p.buttons) for p in parts] == [False, False, True]


async def test_core_failure_apologises_and_logs_no_text_or_ids(
    server: FakeBotApi, adapter: AdapterServices, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_application(settings_for(server), adapter)
    with caplog.at_level(logging.DEBUG, logger="bot"):
        async with polling(app, poll_timeout=1):
            server.user_sends_text(AIKO, "boom")
            apology = (await server.wait_for_messages(AIKO.id, 1))[0]
            server.user_sends_text(AIKO, "still there?")
            after = (await server.wait_for_messages(AIKO.id, 1))[0]
    assert "申し訳" in apology.text  # in the person's language
    assert after.text == "text:still there?"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("RuntimeError" in e for e in errors)
    for line in errors:
        assert "boom" not in line and str(AIKO.id) not in line and "aiko" not in line.lower()


async def test_a_rate_limited_reply_is_sent_after_the_wait(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    app = build_application(settings_for(server), adapter)
    async with polling(app, poll_timeout=1):
        server.flood_wait_next(retry_after=1)
        started = time.monotonic()
        server.user_sends_text(BEN, "are you there")
        reply = (await server.wait_for_messages(BEN.id, 1))[0]
    assert reply.text == "text:are you there"
    assert time.monotonic() - started >= 1.0
    assert len(server.calls_to("sendMessage")) == 2


async def test_outbox_items_are_delivered_retried_after_429_and_protected(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    services = adapter
    relayed = Outbound("Someone found your card helpful", protect_content=True)
    services.queue(str(AIKO.id), relayed)
    services.queue(str(BEN.id), Outbound("A counsellor wrote to you"))
    server.flood_wait_next(retry_after=1)
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        aiko = (await server.wait_for_messages(AIKO.id, 1, timeout=6))[0]
        ben = (await server.wait_for_messages(BEN.id, 1, timeout=6))[0]
        # The server has the message before the drain records the outcome (after the HTTP
        # response): wait for the record, or leaving the block may cancel it (a flaky failure).
        await delivered(server, services)
    # AIORateLimiter(max_retries=...) waited Telegram's retry_after out within the attempt
    # (the two chats are served concurrently: either one may have met the 429)
    tries: dict[int, list[float]] = {}
    for call in server.calls_to("sendMessage"):
        tries.setdefault(int(call.params["chat_id"]), []).append(call.at)
    assert sorted(len(times) for times in tries.values()) == [1, 2]
    (retried,) = [times for times in tries.values() if len(times) == 2]
    assert retried[1] - retried[0] >= 1.0  # not retried before retry_after
    assert aiko.protect_content and aiko.text == relayed.text
    assert not ben.protect_content
    assert [m.text for m in server.sent_messages()].count(relayed.text) == 1


async def test_outbox_item_for_someone_who_blocked_the_bot_is_undeliverable(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    services = adapter
    services.queue(str(BEN.id), Outbound("hello"))
    services.queue("not-a-chat-id", Outbound("hello"))
    server.block_bot(BEN)
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        await server.wait_for_call("sendMessage")
        await delivered(server, services)  # both given up at once: nothing is kept
    assert server.sent_messages() == []
    assert len(server.calls_to("sendMessage")) == 1  # the blocked chat was tried once


async def test_delivered_cards_are_reported_and_withdrawn_copies_deleted_within_48_hours(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    """A card relayed through the outbox reports where it landed; a "delete" item removes
    copies with deleteMessage where Telegram allows it (younger than 48 hours)."""
    services = adapter
    card = Outbound("Someone replied to your card", protect_content=True, delivery_token="tok")
    services.queue(str(AIKO.id), card)
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        (first,) = await server.wait_for_messages(AIKO.id, 1)
        server.user_sends_text(AIKO, "hi")
        (second,) = await server.wait_for_messages(AIKO.id, 1)
        server.age_message(second, 49 * 3600)
        with Session(services.engine) as session:
            enqueue_delete(
                session=session,
                sealer=services.sealer,
                address=str(AIKO.id),
                channel=CHANNEL,
                message_ids=[first.message_id, second.message_id],
            )
            session.commit()
        await server.wait_for_call("deleteMessage", 2)
        await delivered(server, services)
    assert services.copies.sent == [("tok", "telegram", str(AIKO.id), [first.message_id])]
    assert first.deleted and not second.deleted  # the older copy stays, as on Telegram


async def test_a_wrong_token_is_refused_at_start(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    app = build_application(settings_for(server, token="42:wrong"), adapter)
    with pytest.raises(InvalidToken):
        async with polling(app, poll_timeout=1):
            pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_accepts_only_telegrams_secret_token(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    settings = settings_for(server)
    port = free_port()
    secret = webhook_secret_token(settings)
    app = build_application(settings, adapter)
    async with serving_webhook(
        app,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        secret_token=secret,
        port=port,
        url_path="telegram",
    ):
        assert server.webhook["secret_token"] == secret
        assert server.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]
        server.user_sends_text(BEN, "via webhook")
        assert await server.deliver_to_webhook(secret_token="forged") == [403]
        assert await server.deliver_to_webhook() == [200]
        reply = (await server.wait_for_messages(BEN.id, 1))[0]
    assert reply.text == "text:via webhook"


async def test_a_press_on_an_expired_query_still_reaches_the_core(
    server: FakeBotApi, adapter: AdapterServices
) -> None:
    services = adapter
    app = build_application(settings_for(server), services)
    async with polling(app, poll_timeout=1):
        server.user_sends_command(BEN, "/start")
        welcome = (await server.wait_for_messages(BEN.id, 1))[0]
        server.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old")
        server.user_presses_button(BEN, "consent:no", welcome)
        reply = (await server.wait_for_messages(BEN.id, 1))[0]
    assert reply.text == "choice:consent:no"


class FailsTheSecondMessage(FakeBotApi):
    """Telegram failing one sendMessage in the middle of a long answer (a 500)."""

    def __init__(self) -> None:
        super().__init__()
        self.sends = 0

    async def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        self.sends += 1
        if self.sends == 2:
            return fake_error(500, "Internal Server Error")
        return await super()._api_sendmessage(params)


async def test_a_long_answer_cut_off_midway_sends_only_the_rest_on_its_retry(
    adapter: AdapterServices,
) -> None:
    """Its first part is recorded as sent as soon as it went out, so the retry (or a restart
    after a kill at that moment) sends the second and third only, each once."""
    async with FailsTheSecondMessage() as server:
        adapter.queue(str(BEN.id), Outbound("word " * 2000, buttons=((Button("More", "more"),),)))
        app = build_application(settings_for(server), adapter, drain_interval=0.1)
        async with polling(app, poll_timeout=1):
            parts = await server.wait_for_messages(BEN.id, 3, timeout=20)
            await delivered(server, adapter)
        assert server.sends == 4  # three parts, one of them tried twice
        assert " ".join(p.text for p in parts).split() == ["word"] * 2000
        assert len(server.sent_messages(BEN.id)) == 3
