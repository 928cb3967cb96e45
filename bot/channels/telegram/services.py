"""What the Telegram channel keeps in `bot_data`: one typed object, built in one place.

python-telegram-bot's contexttypesbot example (docs/architecture.md): the channel never imports
an engine or builds a client; it reads `bot_data.services`. The Application creates
`ChannelData()` itself (ContextTypes needs a no-argument factory), and `build_application` fills in
the services.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from telegram import Bot
from telegram.ext import CallbackContext, ExtBot

if TYPE_CHECKING:
    from bot.channels.telegram.inbox import DurableConversation, TelegramInbox

from bot.domain import DeliveredCopies, Housekeeping, Outbox
from bot.store.inbox import InboxStore
from bot.texts import Texts


class ChannelServices(Protocol):
    """The part of the services object (bot.services) that the Telegram channel uses."""

    @property
    def conversation(self) -> DurableConversation: ...

    @property
    def inbox(self) -> InboxStore: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def copies(self) -> DeliveredCopies: ...

    @property
    def housekeeping(self) -> Housekeeping: ...


class ChannelData:
    """`context.bot_data`: the core's services plus the channel's own background task."""

    __slots__ = (
        "_services",
        "_texts",
        "drain_task",
        "housekeeping_task",
        "inbox",
        "quick_bot",
        "sweep_task",
        "wake",
    )

    def __init__(self) -> None:
        self._services: ChannelServices | None = None
        self.drain_task: asyncio.Task[None] | None = None
        self.housekeeping_task: asyncio.Task[None] | None = None
        self.sweep_task: asyncio.Task[None] | None = None
        self.wake: asyncio.Event | None = None
        self.inbox: TelegramInbox | None = None
        self.quick_bot: Bot | None = None
        self._texts: Texts | None = None

    @property
    def services(self) -> ChannelServices:
        if self._services is None:
            raise RuntimeError("the Telegram Application was built without services")
        return self._services

    @services.setter
    def services(self, services: ChannelServices) -> None:
        self._services = services

    @property
    def texts(self) -> Texts:
        """The channel's own words (the apology of bot/channels/telegram/apology.py)."""
        if self._texts is None:
            raise RuntimeError("the Telegram Application was built without its texts")
        return self._texts

    @texts.setter
    def texts(self, texts: Texts) -> None:
        self._texts = texts


ChannelContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], ChannelData]
