"""The retention timer: text kept for counsellors' review is deleted once its case has been
resolved for `case_retention_days` (policies/safety.yaml), whether or not anyone opens the
console that day.

`purge_due` is one pass (also `needtotalk cases purge`); `purge_periodically` runs it in the
background of a long-running process: the bot's run loop and the counsellor console both start
it, so the promise holds with either one running. Each pass is one short transaction, safe to
run from several processes at once (a second pass finds nothing left to purge).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.store.cases import purge_expired_text
from bot.store.tables import utcnow

log = logging.getLogger(__name__)

# Often enough that text never outlives its retention by more than an hour; a pass that finds
# nothing is one indexed query.
PURGE_INTERVAL_SECONDS = 3600.0

Clock = Callable[[], datetime]


class Retention:
    """Purges on one database; `clock` says what time it is (tests move it forward). It is the
    bot's `Housekeeping` (bot.domain): the Telegram channel runs it every `interval_seconds`."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock = utcnow,
        interval_seconds: float = PURGE_INTERVAL_SECONDS,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.interval_seconds = interval_seconds

    def run_once(self) -> int:
        return self.purge_due()

    def purge_due(self) -> int:
        """One pass: how many cases lost their text."""
        with Session(self._engine) as session:
            purged = purge_expired_text(session=session, now=self._clock())
            session.commit()
        if purged:
            log.info("retention: review text of %d resolved case(s) deleted", purged)
        return purged


async def purge_periodically(retention: Retention) -> None:
    """A pass now, then one every `interval_seconds`, until cancelled. A failing pass (the
    database away for a moment) is logged by type only and tried again at the next tick."""
    while True:
        try:
            await asyncio.to_thread(retention.purge_due)
        except Exception as exc:  # keep the timer alive; the next pass catches up
            log.error("retention purge failed: %s", type(exc).__name__)
        await asyncio.sleep(retention.interval_seconds)


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a timer task and wait until it has ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
