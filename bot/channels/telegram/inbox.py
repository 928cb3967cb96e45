"""Telegram's side of the durable inbox: receive raw updates, store them, handle them once.

bot/store/inbox.py keeps the rows; this module knows what a Telegram update looks like. Updates
arrive raw (JSON from getUpdates or the webhook) and are stored before anything parses them, so
an update python-telegram-bot cannot parse (a poison update) is set aside on its own instead of
failing its whole batch. Handling runs one lane (one chat) at a time per worker thread: parse,
hand to the core with a `settle` that marks the row handled and queues the replies in the
turn's own transaction, then wake the outbox drain that sends them.

No "typing" action unless a turn takes longer than TYPING_AFTER_SECONDS: most answers are
quicker than the action itself, and each call spends the bot's rate limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, Protocol

from telegram import Bot, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.channels.telegram.apology import core_failure_text
from bot.channels.telegram.translate import inbound_from_update
from bot.domain import Inbound, Outbound, Settle
from bot.store.inbox import DONE, MAX_ATTEMPTS, SET_ASIDE, InboxStore, NewUpdate, StoredUpdate
from bot.texts import Texts

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TYPING_AFTER_SECONDS = 1.0
# A failed turn is tried this many times (a database hiccup) before it is set aside with the
# core's fallback answer.
TURN_TRIES = 3
# One lane hands its thread back after this many updates, so a person with a long queue waits
# behind others instead of holding a worker.
FAIR_SHARE = 4
DEFAULT_LANE_THREADS = 8
NO_CHAT_LANE = "no-chat"


class DurableConversation(Protocol):
    """The core as the durable inbox calls it (bot.conversation.ConversationService)."""

    def handle(
        self,
        inbound: Inbound,
        settle: Settle | None = None,
        overflow: Literal["first", "more"] | None = None,
    ) -> list[Outbound]: ...

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """The channel's command menu (bot.domain.Conversation.command_menu)."""
        ...


def chat_of(raw: dict[str, Any]) -> str | None:
    """The chat an update belongs to, read from the raw JSON without parsing it whole."""
    for kind in ("message", "edited_message"):
        part = raw.get(kind)
        if isinstance(part, dict) and isinstance(part.get("chat"), dict):
            return str(part["chat"].get("id"))
    query = raw.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id"))
        sender = query.get("from")
        if isinstance(sender, dict):
            return str(sender.get("id"))
    return None


class TelegramInbox:
    """Stores raw updates and handles them, lane by lane, in worker threads."""

    def __init__(
        self,
        bot: Bot,
        store: InboxStore,
        conversation: DurableConversation,
        *,
        texts: Texts,
        wake_outbox: Callable[[], None] = lambda: None,
        quick_bot: Bot | None = None,
        lane_threads: int = DEFAULT_LANE_THREADS,
    ) -> None:
        self._bot = bot
        self._quick_bot = quick_bot or bot  # answerCallbackQuery: not a message, not budgeted
        self._store = store
        self._conversation = conversation
        self._texts = texts  # the apology when the core itself raised (`core_failure_text`)
        self._wake_outbox = wake_outbox
        self._pool = ThreadPoolExecutor(lane_threads, thread_name_prefix="inbox-lane")
        self._scheduled: set[str] = set()
        self._again: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._loop_tasks: set[asyncio.Future[None]] = set()
        # What lane threads hand to the loop (see `_on_loop`).
        self._posted: list[Callable[[], None]] = []
        self._posted_guard = threading.Lock()
        self._post_pending = False

    # -- receiving ----------------------------------------------------------------------------
    async def receive(self, raw_updates: Sequence[dict[str, Any]]) -> int:
        """Store a batch (one transaction), then schedule its lanes. Raises if the store
        fails, so the caller does not acknowledge. Returns how many were new."""
        batch: list[NewUpdate] = []
        for raw in raw_updates:
            update_id = raw.get("update_id")
            if not isinstance(update_id, int):
                log.warning("an update without an update_id was ignored")
                continue
            chat = chat_of(raw)
            lane = self._store.lane_of(CHANNEL, chat) if chat is not None else NO_CHAT_LANE
            # ASCII escapes: a lone surrogate in a person's text ("\ud800", valid JSON from
            # Telegram, not encodable as UTF-8) must not make the whole batch unstorable, which
            # would stop the bot for everyone; the core replaces it when it reads the text.
            batch.append(NewUpdate(update_id, lane, json.dumps(raw, ensure_ascii=True)))
        new = await asyncio.to_thread(self._store.store, CHANNEL, batch)
        for lane in dict.fromkeys(item.lane for item in batch):
            self.schedule(lane)
        return new

    async def first_offset(self) -> int | None:
        """Where polling starts: after the newest update already stored (see
        InboxStore.last_update_id), None on a first start."""
        newest = await asyncio.to_thread(self._store.last_update_id, CHANNEL)
        return None if newest is None else newest + 1

    # -- scheduling ---------------------------------------------------------------------------
    def schedule(self, lane: str) -> None:
        """Handle `lane` soon in a worker thread (once at a time per process)."""
        if self._closed:
            return
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        if lane in self._scheduled:
            self._again.add(lane)  # rows may have landed after that run's last look
            return
        self._scheduled.add(lane)
        self._busy += 1
        self._idle.clear()
        future = loop.run_in_executor(self._pool, self._drain_lane, lane)
        future.add_done_callback(functools.partial(self._lane_done, lane))

    def _lane_done(self, lane: str, future: asyncio.Future[bool]) -> None:
        self._scheduled.discard(lane)
        self._busy -= 1
        again = lane in self._again
        self._again.discard(lane)
        more = False
        if future.cancelled():
            pass
        elif (exc := future.exception()) is not None:
            log.error("an inbox lane failed: %s", type(exc).__name__)
        else:
            more = future.result()
        if again or more:
            self.schedule(lane)
        if self._busy == 0:
            self._idle.set()

    async def sweep(self) -> None:
        """Schedule every lane with waiting rows (on start, and now and then: rows another
        worker stored and could not finish, a lane whose lock was held elsewhere), and write
        the side work of a turn whose process died between its commits."""
        lanes = await asyncio.to_thread(self._store.lanes_waiting, CHANNEL)
        for lane in lanes:
            self.schedule(lane)
        await asyncio.to_thread(self._store.prune, CHANNEL)
        await asyncio.to_thread(self._store.recover_side_work)

    async def sweep_forever(self, interval: float) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not end the sweeps
                log.error("inbox sweep failed: %s", type(exc).__name__)
            await asyncio.sleep(interval)

    async def wait_idle(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until no lane is being handled (for a clean stop)."""
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- handling (worker threads) ------------------------------------------------------------
    def _drain_lane(self, lane: str) -> bool:
        """Handle the lane's rows in order; True when it gave its thread back with rows left.

        The fair share counts every row of this visit, across the lets-go and takes-again of
        a lane whose next row arrived mid-turn: a person writing one message per turn must
        still give the thread back after FAIR_SHARE rows, or their lane keeps it for good."""
        handled = 0
        while True:
            with self._store.holding_lane(CHANNEL, lane) as held:
                if held is None:
                    return False  # another worker holds it and looks again when it lets go
                while handled < FAIR_SHARE and not self._closed:
                    row = held.next()
                    if row is None:
                        break
                    self._handle_row(row)
                    handled += 1
                    self._wake_outbox_threadsafe()
                    if not held.more:  # rows stored since are seen once it lets go
                        break
                # Rows stored before this point are seen once it lets go (`waiting_after`):
                # a schedule asked for meanwhile needs no visit of its own after this one.
                self._again.discard(lane)
            if self._closed or not held.waiting_after:
                return False
            if handled >= FAIR_SHARE:
                return True

    def _on_loop(self, action: Callable[[], None]) -> None:
        """Run `action` on the loop soon, after everything posted before it (from any lane
        thread). Each row posts several (answer the button, arm and cancel "typing", wake
        the outbox), and waking the loop is a system call and a thread switch each time: the
        actions posted while the loop has not yet run the earlier ones ride on one wake."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._posted_guard:
            self._posted.append(action)
            if self._post_pending:
                return
            self._post_pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to run
            loop.call_soon_threadsafe(self._run_posted)

    def _run_posted(self) -> None:
        with self._posted_guard:
            actions, self._posted = self._posted, []
            self._post_pending = False
        for action in actions:
            try:
                action()
            except Exception as exc:  # one failed action must not drop the others
                log.error("a lane's action on the loop failed: %s", type(exc).__name__)

    def _wake_outbox_threadsafe(self) -> None:
        self._on_loop(self._wake_outbox)

    def _handle_row(self, row: StoredUpdate) -> None:
        if row.attempts > MAX_ATTEMPTS:
            self._set_aside(row, "TooManyAttempts")
            return
        if row.payload is None:
            self._set_aside(row, "SealError")
            return
        try:
            update = Update.de_json(json.loads(row.payload), self._bot)
            inbound = inbound_from_update(update)
        except Exception as exc:  # a poison update: its type only, never its contents
            self._set_aside(row, type(exc).__name__)
            return
        if inbound is None:
            self._store.finish(row, status=DONE, channel=CHANNEL)
            return
        edit_message_id = self._answer_query(update)
        overflow: Literal["first", "more"] | None = None
        if row.over_cap:
            overflow = "first" if self._store.overflow_is_first(row) else "more"
        cancel_typing = self._typing_later(int(inbound.user_ref))
        try:
            replies = self._turn(row, inbound, edit_message_id, overflow)
        finally:
            cancel_typing()
        if replies is not None:  # every try failed: the fallback goes out, the row is set aside
            log.error("update %d set aside after %d failed turns", row.update_id, TURN_TRIES)
            self._store.finish(
                row,
                status=SET_ASIDE,
                channel=CHANNEL,
                error="TurnFailed",
                address=inbound.user_ref,
                replies=replies,
            )

    def _turn(
        self,
        row: StoredUpdate,
        inbound: Inbound,
        edit_message_id: int | None,
        overflow: Literal["first", "more"] | None,
    ) -> list[Outbound] | None:
        """Run the core until it settles the row; None when it did, else the last fallback."""
        fallback: list[Outbound] = []
        for attempt in range(TURN_TRIES):
            settle, settled = self._store.settler(
                row, CHANNEL, address=inbound.user_ref, edit_message_id=edit_message_id
            )
            try:
                fallback = self._conversation.handle(inbound, settle, overflow)
            except Exception as exc:
                log.error("conversation turn raised: %s", type(exc).__name__)
                apology = core_failure_text(self._texts, inbound.language_hint)
                fallback = [Outbound(text=apology)]
            if settled[0]:
                return None
            time.sleep(0.2 * (attempt + 1))
        return fallback

    def _set_aside(self, row: StoredUpdate, error: str) -> None:
        log.warning("update %d set aside (%s)", row.update_id, error)
        self._store.finish(row, status=SET_ASIDE, channel=CHANNEL, error=error)

    def _answer_query(self, update: Update) -> int | None:
        """Stop a pressed button's spinner (not waited for), and say which message the answer
        may replace: the pressed one, unless it carries someone's words (a protected card)."""
        query = update.callback_query
        if query is None:
            return None
        self._answer_soon(query.id)
        message = query.message
        if message is None or not message.is_accessible:
            return None
        if getattr(message, "has_protected_content", None):
            return None
        return int(message.message_id)

    def _answer_soon(self, query_id: str) -> None:
        bot = self._quick_bot

        async def answer() -> None:
            with contextlib.suppress(TelegramError):  # a query too old to answer is fine
                await bot.answer_callback_query(query_id)

        self._on_loop(lambda: self._keep(answer()))

    def _keep(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` as a task of the loop, kept referenced until it ends."""
        task = asyncio.ensure_future(coroutine)
        self._loop_tasks.add(task)
        task.add_done_callback(self._loop_tasks.discard)

    def _typing_later(self, chat_id: int) -> Callable[[], None]:
        """Show "typing" if the turn is still running after TYPING_AFTER_SECONDS; returns what
        cancels it. Both run on the loop, in order, so the cancel always follows the timer."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return lambda: None
        timers: list[asyncio.TimerHandle] = []

        def arm() -> None:
            timers.append(loop.call_later(TYPING_AFTER_SECONDS, self._typing_now, chat_id))

        def cancel() -> None:
            for timer in timers:
                timer.cancel()

        self._on_loop(arm)
        return functools.partial(self._on_loop, cancel)

    def _typing_now(self, chat_id: int) -> None:
        async def typing() -> None:
            with contextlib.suppress(TelegramError):
                await self._bot.send_chat_action(chat_id, ChatAction.TYPING)

        self._keep(typing())
