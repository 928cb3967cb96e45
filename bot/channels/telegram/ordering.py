"""Updates from different people run concurrently; one person's updates run in order.

The core is synchronous (database and model work) and runs in a worker thread, so processing
updates one at a time would make everyone wait for the slowest person. Processing them all
concurrently could answer someone's second message before their first. This update processor
gives each chat a FIFO lock: python-telegram-bot starts update tasks in arrival order, and
`asyncio.Lock` wakes waiters in the order they came, so a person's updates are handled, and
their replies sent, in the order they were written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

DEFAULT_MAX_CONCURRENT_UPDATES = 64


def ordering_key(update: object) -> int | None:
    """Whose turn an update belongs to: the chat, else the user; None for anything else."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential within a chat."""

    def __init__(self, max_concurrent_updates: int = DEFAULT_MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._holders[key] = self._holders.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._holders[key] -= 1
            if self._holders[key] == 0:  # forget idle chats so the dict does not grow forever
                del self._holders[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to allocate: locks are made per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to free."""
