"""Delivery of outbox items: messages addressed to someone other than the sender.

docs/architecture.md: a "this helped" to an author, a reply card, a counsellor's message written in
another process wait in the outbox table; the running channel drains it. Telegram's 429 puts the
item back for `retry_after` seconds, a person who blocked the bot (403) makes it undeliverable,
anything else is a failure the outbox retries later. The outbox calls are synchronous database work
and run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from telegram import Bot
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.channels.telegram.delivery import (
    delete_copies,
    report_copy,
    retry_after_seconds,
    send_outbound,
)
from bot.domain import DeliveredCopies, Outbox, OutboxItem

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_DRAIN_INTERVAL_SECONDS = 2.0


@dataclass(slots=True)
class DrainResult:
    delivered: int = 0
    retried: int = 0
    undeliverable: int = 0
    flood_wait: float = 0.0  # seconds Telegram asked the whole bot to wait


async def drain_once(
    bot: Bot, outbox: Outbox, limit: int = 50, copies: DeliveredCopies | None = None
) -> DrainResult:
    """Send what is due now and record each outcome; ids in logs are outbox ids only.

    Different recipients are served concurrently, one recipient's messages in order; when one
    of them fails, the rest of that recipient's are given back untried, so nothing overtakes
    it. An item may instead ask to delete earlier copies (a withdrawn card): done with
    deleteMessage. A sent card or reply is reported to `copies` for a later withdraw.
    """
    result = DrainResult()
    items = await asyncio.to_thread(outbox.due, CHANNEL, limit)
    groups: dict[str, list[OutboxItem]] = defaultdict(list)
    for item in items:
        groups[item.recipient_ref].append(item)
    await asyncio.gather(
        *(_drain_group(bot, outbox, group, copies, result) for group in groups.values())
    )
    return result


class _TakenOver(Exception):
    """Another worker holds the row now (this one's lease ran out)."""


async def _drain_group(
    bot: Bot,
    outbox: Outbox,
    group: list[OutboxItem],
    copies: DeliveredCopies | None,
    result: DrainResult,
) -> None:
    for index, item in enumerate(group):
        try:
            delivered = await _deliver(bot, outbox, item, copies, result)
        except _TakenOver:
            return  # the rest were taken over with it, or come back when their lease ends
        if not delivered:
            for rest in group[index + 1 :]:
                await asyncio.to_thread(outbox.release, rest.id)
            return


async def _deliver(
    bot: Bot, outbox: Outbox, item: OutboxItem, copies: DeliveredCopies | None, result: DrainResult
) -> bool:
    """Send one item and record the outcome; False when the recipient's next must wait."""
    if (
        item.lease is not None
        and await asyncio.to_thread(outbox.renew, item.id, item.lease) is None
    ):
        log.info("outbox item %d: taken over by another worker; not sent here", item.id)
        return False
    try:
        chat_id = int(item.recipient_ref)
        if item.delete_message_ids:
            await delete_copies(bot, chat_id, item.delete_message_ids)
        else:
            sent = await send_outbound(
                bot,
                chat_id,
                item.message,
                item.edit_message_id,
                skip=item.parts_sent,
                # Recorded at once, on the loop: the parts already out are not sent again if the
                # process dies before the rest.
                on_part=functools.partial(outbox.progress, item.id),
                retaken=item.retaken,
            )
            await _record_delivered(outbox, item.id)  # first, before the copy is reported
            result.delivered += 1
            await report_copy(copies, chat_id, item.message, sent)
            return True
    except RetryAfter as exc:
        wait = retry_after_seconds(exc)
        log.info("outbox item %d: flood wait %.0fs", item.id, wait)
        await asyncio.to_thread(outbox.failed, item.id, wait)
        result.retried += 1
        result.flood_wait = max(result.flood_wait, wait)
        return False
    except Forbidden:
        log.info("outbox item %d: recipient blocked the bot", item.id)
        await asyncio.to_thread(outbox.undeliverable, item.id)
        result.undeliverable += 1
        return True
    except ValueError as exc:  # not a chat id, or buttons Telegram would refuse: permanent
        log.warning("outbox item %d: cannot be sent (%s)", item.id, type(exc).__name__)
        await asyncio.to_thread(outbox.undeliverable, item.id)
        result.undeliverable += 1
        return True
    except TelegramError as exc:
        log.warning("outbox item %d: send failed (%s)", item.id, type(exc).__name__)
        await asyncio.to_thread(outbox.failed, item.id, None)
        result.retried += 1
        return False
    await _record_delivered(outbox, item.id)
    result.delivered += 1
    return True


# A process killed between Telegram's answer and the record of a delivery sends the message
# again after a restart, so that gap is kept to one short write: on a thread of its own (no wait
# behind turns for a free worker thread; on SQLite the write goes ahead of waiting turns,
# bot.store.engine.writes_first). Not on the event loop: on SQLite the write waits for
# the one writer (a turn's transaction), and the loop blocked meanwhile stopped every other
# send, poll and button answer (measured: most of the loop's time under load).
_RECORDER = ThreadPoolExecutor(1, thread_name_prefix="outbox-delivered")


class _DeliveryRecords:
    """One outbox's delivery records, written in batches: the deliveries that finish while a
    record is being written go together in the next one (one transaction, one turn of SQLite's
    one writer, instead of one each). Each caller still returns only once its own row is
    deleted, and the next batch starts as soon as the one before commits."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = weakref.ref(outbox)  # not kept alive by its own entry in _RECORDS
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, item_id: int) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item_id, done))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not done.get_loop():
            # Records left by a loop that is gone (a test's) have nobody waiting for them.
            self._waiting = [w for w in self._waiting if w[1].get_loop() is done.get_loop()]
            self._writer = asyncio.create_task(self._write_all(), name="outbox-delivered")
        await done

    async def _write_all(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            ids = [item_id for item_id, _ in batch]
            outbox = self._outbox()
            try:
                if outbox is None:
                    raise RuntimeError("the outbox is gone")
                await loop.run_in_executor(_RECORDER, outbox.delivered_many, ids)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


_RECORDS: weakref.WeakKeyDictionary[Outbox, _DeliveryRecords] = weakref.WeakKeyDictionary()


async def _record_delivered(outbox: Outbox, item_id: int) -> None:
    records = _RECORDS.get(outbox)
    if records is None:
        records = _RECORDS[outbox] = _DeliveryRecords(outbox)
    await records.record(item_id)


async def drain_forever(
    bot: Bot,
    outbox: Outbox,
    interval: float = DEFAULT_DRAIN_INTERVAL_SECONDS,
    copies: DeliveredCopies | None = None,
    wake: asyncio.Event | None = None,
) -> None:
    """Drain until cancelled: at once when `wake` is set (a turn queued replies), else every
    `interval` seconds; one bad round does not stop the loop.

    After a 429 the next round waits as long as Telegram asked, so the other items keep their
    order behind the one that was refused.
    """
    while True:
        wait = interval
        if wake is not None:
            wake.clear()
        try:
            result = await drain_once(bot, outbox, copies=copies)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end delivery for good
            log.error("outbox drain round failed: %s", type(exc).__name__)
        else:
            if result.flood_wait:
                await asyncio.sleep(result.flood_wait)
                continue
            if result.delivered or result.retried or result.undeliverable:
                log.debug(
                    "outbox: %d delivered, %d to retry, %d undeliverable",
                    result.delivered,
                    result.retried,
                    result.undeliverable,
                )
                if result.delivered and wake is not None:
                    continue  # there may be more due right now
        if wake is None:
            await asyncio.sleep(wait)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait for it to finish."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
