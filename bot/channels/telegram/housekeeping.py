"""The bot's background housekeeping while it runs (bot.domain.Housekeeping): today, deleting
text kept for counsellors' review once its retention has ended (bot/store/retention.py).

An asyncio task beside the outbox drain rather than python-telegram-bot's JobQueue, which this
Application does not install (`job_queue(None)`): one mechanism for every background loop here.
"""

from __future__ import annotations

import asyncio
import logging

from bot.domain import Housekeeping

log = logging.getLogger(__name__)


async def housekeeping_forever(work: Housekeeping) -> None:
    """`work.run_once()` now and then every `work.interval_seconds`, in a worker thread, until
    cancelled; a failing pass is logged by type only and the next one tries again."""
    while True:
        try:
            await asyncio.to_thread(work.run_once)
        except Exception as exc:
            log.error("housekeeping failed: %s", type(exc).__name__)
        await asyncio.sleep(work.interval_seconds)
