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
import logging
from dataclasses import dataclass

from telegram import Bot
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.channels.telegram.delivery import retry_after_seconds, send_outbound
from bot.domain import Outbox

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_DRAIN_INTERVAL_SECONDS = 2.0


@dataclass(slots=True)
class DrainResult:
    delivered: int = 0
    retried: int = 0
    undeliverable: int = 0
    flood_wait: float = 0.0  # seconds Telegram asked the whole bot to wait


async def drain_once(bot: Bot, outbox: Outbox, limit: int = 50) -> DrainResult:
    """Send what is due now and record each outcome; ids in logs are outbox ids only."""
    result = DrainResult()
    items = await asyncio.to_thread(outbox.due, CHANNEL, limit)
    for item in items:
        try:
            chat_id = int(item.recipient_ref)
            await send_outbound(bot, chat_id, item.message)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            log.info("outbox item %d: flood wait %.0fs", item.id, wait)
            await asyncio.to_thread(outbox.failed, item.id, wait)
            result.retried += 1
            result.flood_wait = wait
            break  # Telegram asked the whole bot to wait; the rest would fail the same way
        except Forbidden:
            log.info("outbox item %d: recipient blocked the bot", item.id)
            await asyncio.to_thread(outbox.undeliverable, item.id)
            result.undeliverable += 1
        except ValueError as exc:  # not a chat id, or buttons Telegram would refuse: permanent
            log.warning("outbox item %d: cannot be sent (%s)", item.id, type(exc).__name__)
            await asyncio.to_thread(outbox.undeliverable, item.id)
            result.undeliverable += 1
        except TelegramError as exc:
            log.warning("outbox item %d: send failed (%s)", item.id, type(exc).__name__)
            await asyncio.to_thread(outbox.failed, item.id, None)
            result.retried += 1
        else:
            await asyncio.to_thread(outbox.delivered, item.id)
            result.delivered += 1
    return result


async def drain_forever(
    bot: Bot, outbox: Outbox, interval: float = DEFAULT_DRAIN_INTERVAL_SECONDS
) -> None:
    """Drain every `interval` seconds until cancelled; one bad round does not stop the loop.

    After a 429 the next round waits as long as Telegram asked, so the other items keep their
    order behind the one that was refused.
    """
    while True:
        wait = interval
        try:
            result = await drain_once(bot, outbox)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end delivery for good
            log.error("outbox drain round failed: %s", type(exc).__name__)
        else:
            wait = max(interval, result.flood_wait)
            if result.delivered or result.retried or result.undeliverable:
                log.info(
                    "outbox: %d delivered, %d to retry, %d undeliverable",
                    result.delivered,
                    result.retried,
                    result.undeliverable,
                )
        await asyncio.sleep(wait)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait for it to finish."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
