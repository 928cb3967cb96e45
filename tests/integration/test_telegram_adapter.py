"""The Telegram adapter against a local Bot API server, with a tiny in-test conversation.

These exercise the channel only (translation, keyboards, ordering, menu, errors): the core here is
a scripted echo so each assertion is about what the adapter did. The real core runs in
test_telegram_e2e.py.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from telegram.error import InvalidToken

from bot.channels.telegram.application import (
    build_application,
    polling,
    serving_webhook,
    webhook_secret_token,
)
from bot.config import Settings
from bot.domain import Button, Inbound, InboundKind, Outbound, OutboxItem
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson

AIKO = SimulatedPerson(id=5550001, first_name="Aiko", username="aiko_t", language_code="ja")
BEN = SimulatedPerson(id=5550002, first_name="Ben", username="ben_w", language_code="en")


@dataclass
class ScriptedConversation:
    """Echoes what the adapter delivered, so tests can see each Inbound's kind and text."""

    seen: list[Inbound] = field(default_factory=list)
    slow_texts: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        return {"en": [("start", "Start")], "ja": [("start", "はじめる")]}

    def handle(self, inbound: Inbound) -> list[Outbound]:
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
class ListOutbox:
    """An in-memory outbox with the store's semantics, for adapter tests only."""

    items: list[OutboxItem] = field(default_factory=list)
    not_before: dict[int, float] = field(default_factory=dict)
    outcomes: list[tuple[str, int, float | None]] = field(default_factory=list)

    def due(self, channel: str, limit: int = 50) -> list[OutboxItem]:
        now = time.monotonic()
        done = {item_id for outcome, item_id, _ in self.outcomes if outcome != "failed"}
        ready = [
            i for i in self.items if i.id not in done and self.not_before.get(i.id, 0.0) <= now
        ]
        return ready[:limit]

    def delivered(self, item_id: int) -> None:
        self.outcomes.append(("delivered", item_id, None))

    def failed(self, item_id: int, retry_after_seconds: float | None = None) -> None:
        self.outcomes.append(("failed", item_id, retry_after_seconds))
        self.not_before[item_id] = time.monotonic() + (retry_after_seconds or 0.2)

    def undeliverable(self, item_id: int) -> None:
        self.outcomes.append(("undeliverable", item_id, None))

    def release(self, item_id: int) -> None:
        """Given back untried: due again at once."""

    def renew(self, item_id: int, lease: datetime | None) -> datetime | None:
        return lease  # one process, no leases here


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
    conversation: ScriptedConversation = field(default_factory=ScriptedConversation)
    outbox: ListOutbox = field(default_factory=ListOutbox)
    copies: ListCopies = field(default_factory=ListCopies)
    housekeeping: CountedHousekeeping = field(default_factory=CountedHousekeeping)


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


def settings_for(server: FakeBotApi, token: str | None = None) -> Settings:
    return Settings(
        telegram_bot_token=token or server.token,
        telegram_api_base_url=server.base_url,
        environment="test",
    )


async def test_updates_reach_the_core_as_inbounds_of_the_right_kind(server: FakeBotApi) -> None:
    services = AdapterServices()
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        server.user_sends_command(AIKO, "/start@needtotalk_test_bot")
        welcome = (await server.wait_for_messages(AIKO.id, 1))[0]
        assert welcome.buttons == [("I agree", "consent:yes"), ("Not now", "consent:no")]

        server.user_presses_button(AIKO, welcome.callback_data_for("agree"), welcome)
        assert (await server.wait_for_messages(AIKO.id, 1))[0].text == "choice:consent:yes"
        assert len(server.callback_answers) == 1
        assert welcome.reply_markup is None  # the spent keyboard was removed

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


async def test_command_menu_is_set_in_english_and_japanese(server: FakeBotApi) -> None:
    app = build_application(settings_for(server), AdapterServices())
    async with polling(app, poll_timeout=1):
        pass
    # The core's menu (ScriptedConversation.command_menu here; the real one is tested in
    # tests/unit/test_command_menu.py) reaches Telegram: English as the default, Japanese by code.
    assert server.commands[""] == [{"command": "start", "description": "Start"}]
    assert server.commands["ja"] == [{"command": "start", "description": "はじめる"}]


async def test_each_persons_updates_stay_in_order_while_others_go_ahead(
    server: FakeBotApi,
) -> None:
    services = AdapterServices()
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


async def test_protect_content_and_long_texts_are_passed_on(server: FakeBotApi) -> None:
    app = build_application(settings_for(server), AdapterServices())
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
    server: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_application(settings_for(server), AdapterServices())
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


async def test_a_rate_limited_reply_is_sent_after_the_wait(server: FakeBotApi) -> None:
    app = build_application(settings_for(server), AdapterServices())
    async with polling(app, poll_timeout=1):
        server.flood_wait_next(retry_after=1)
        started = time.monotonic()
        server.user_sends_text(BEN, "are you there")
        reply = (await server.wait_for_messages(BEN.id, 1))[0]
    assert reply.text == "text:are you there"
    assert time.monotonic() - started >= 1.0
    assert len(server.calls_to("sendMessage")) == 2


async def test_outbox_items_are_delivered_retried_after_429_and_protected(
    server: FakeBotApi,
) -> None:
    services = AdapterServices()
    relayed = Outbound("Someone found your card helpful", protect_content=True)
    services.outbox.items = [
        OutboxItem(1, str(AIKO.id), relayed),
        OutboxItem(2, str(BEN.id), Outbound("A counsellor wrote to you")),
    ]
    server.flood_wait_next(retry_after=1)
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        aiko = (await server.wait_for_messages(AIKO.id, 1, timeout=6))[0]
        ben = (await server.wait_for_messages(BEN.id, 1, timeout=6))[0]
        # The server has the message before the drain records the outcome (after the HTTP
        # response): wait for the record, or leaving the block may cancel it (a flaky failure).
        for _ in range(50):  # each poll of getUpdates is a tick of the bot's loop
            if len(services.outbox.outcomes) >= 2:
                break
            await server.wait_for_call("getUpdates", len(server.calls_to("getUpdates")) + 1)
    outcomes = services.outbox.outcomes
    # AIORateLimiter(max_retries=...) waited Telegram's retry_after out within the attempt
    assert sorted(outcomes) == [("delivered", 1, None), ("delivered", 2, None)]
    send_times = [c.at for c in server.calls_to("sendMessage") if c.params["chat_id"] == AIKO.id]
    assert send_times[1] - send_times[0] >= 1.0  # not retried before retry_after
    assert aiko.protect_content and aiko.text == relayed.text
    assert not ben.protect_content


async def test_outbox_item_for_someone_who_blocked_the_bot_is_undeliverable(
    server: FakeBotApi,
) -> None:
    services = AdapterServices()
    services.outbox.items = [
        OutboxItem(7, str(BEN.id), Outbound("hello")),
        OutboxItem(8, "not-a-chat-id", Outbound("hello")),
    ]
    server.block_bot(BEN)
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        await server.wait_for_call("sendMessage")
        for _ in range(50):
            if len(services.outbox.outcomes) == 2:
                break
            await server.wait_for_call("getUpdates", len(server.calls_to("getUpdates")) + 1)
    # recipients are served concurrently, so either may be recorded first
    assert sorted(services.outbox.outcomes) == [
        ("undeliverable", 7, None),
        ("undeliverable", 8, None),
    ]


async def test_delivered_cards_are_reported_and_withdrawn_copies_deleted_within_48_hours(
    server: FakeBotApi,
) -> None:
    """A card relayed through the outbox reports where it landed; a "delete" item removes
    copies with deleteMessage where Telegram allows it (younger than 48 hours)."""
    services = AdapterServices()
    card = Outbound("Someone replied to your card", protect_content=True, delivery_token="tok")
    services.outbox.items = [OutboxItem(1, str(AIKO.id), card)]
    app = build_application(settings_for(server), services, drain_interval=0.1)
    async with polling(app, poll_timeout=1):
        (first,) = await server.wait_for_messages(AIKO.id, 1)
        server.user_sends_text(AIKO, "hi")
        (second,) = await server.wait_for_messages(AIKO.id, 1)
        server.age_message(second, 49 * 3600)
        delete = OutboxItem(
            2, str(AIKO.id), Outbound(""), delete_message_ids=(first.message_id, second.message_id)
        )
        services.outbox.items.append(delete)
        await server.wait_for_call("deleteMessage", 2)
        for _ in range(50):
            if ("delivered", 2, None) in services.outbox.outcomes:
                break
            await server.wait_for_call("getUpdates", len(server.calls_to("getUpdates")) + 1)
    assert services.copies.sent == [("tok", "telegram", str(AIKO.id), [first.message_id])]
    assert first.deleted and not second.deleted  # the older copy stays, as on Telegram
    assert ("delivered", 2, None) in services.outbox.outcomes


async def test_a_wrong_token_is_refused_at_start(server: FakeBotApi) -> None:
    app = build_application(settings_for(server, token="42:wrong"), AdapterServices())
    with pytest.raises(InvalidToken):
        async with polling(app, poll_timeout=1):
            pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_accepts_only_telegrams_secret_token(server: FakeBotApi) -> None:
    settings = settings_for(server)
    port = free_port()
    secret = webhook_secret_token(settings)
    app = build_application(settings, AdapterServices())
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


async def test_a_press_on_an_expired_query_still_reaches_the_core(server: FakeBotApi) -> None:
    services = AdapterServices()
    app = build_application(settings_for(server), services)
    async with polling(app, poll_timeout=1):
        server.user_sends_command(BEN, "/start")
        welcome = (await server.wait_for_messages(BEN.id, 1))[0]
        server.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old")
        server.user_presses_button(BEN, "consent:no", welcome)
        reply = (await server.wait_for_messages(BEN.id, 1))[0]
    assert reply.text == "choice:consent:no"
