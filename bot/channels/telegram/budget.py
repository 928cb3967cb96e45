"""One send budget for the bot token across every worker (PostgreSQL).

Telegram counts calls per bot token, not per process: two workers each keeping 30 calls/s would
send 60. So before a call goes through python-telegram-bot's AIORateLimiter (which also waits out
Telegram's 429), it takes a token from a bucket kept in one database row (`send_budget`): one
UPDATE ... RETURNING per call refills the bucket for the time elapsed and takes one token; a
negative balance is a reservation, and the call waits until its token has accrued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from telegram.ext import AIORateLimiter, BaseRateLimiter

BUCKET = "telegram"
RATE_PER_SECOND = 30.0
BURST = 30.0
# Not messages: answering a button press stops its spinner and is not part of the broadcast cap.
UNBUDGETED = frozenset({"answerCallbackQuery", "getMe", "setMyCommands", "deleteWebhook"})

_TAKE = text(
    """
    UPDATE send_budget
    SET tokens = LEAST(:burst, tokens + EXTRACT(EPOCH FROM (clock_timestamp() - updated_at))
                 * :rate) - 1,
        updated_at = clock_timestamp()
    WHERE name = :name
    RETURNING tokens
    """
)
_CREATE = text(
    "INSERT INTO send_budget (name, tokens, updated_at) VALUES (:name, :burst, clock_timestamp()) "
    "ON CONFLICT (name) DO NOTHING"
)


class SharedSendBudget(BaseRateLimiter[int]):
    """A database token bucket in front of AIORateLimiter."""

    def __init__(
        self, engine: Engine, inner: AIORateLimiter, rate: float = RATE_PER_SECOND
    ) -> None:
        self._engine = engine
        self._inner = inner
        self._rate = rate

    async def initialize(self) -> None:
        await self._inner.initialize()
        await asyncio.to_thread(self._create)

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    def _create(self) -> None:
        with self._engine.begin() as connection:
            connection.execute(_CREATE, {"name": BUCKET, "burst": BURST})

    def take(self) -> float:
        """Take one token; returns how long to wait for it (0 when one was there)."""
        with self._engine.begin() as connection:
            balance = connection.execute(
                _TAKE, {"name": BUCKET, "burst": BURST, "rate": self._rate}
            ).scalar()
        if balance is None or balance >= 0:
            return 0.0
        return float(-balance) / self._rate

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint not in UNBUDGETED:
            wait = await asyncio.to_thread(self.take)
            if wait > 0:
                await asyncio.sleep(wait)
        return await self._inner.process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
