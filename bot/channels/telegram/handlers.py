"""Handlers: translate an update, run the core in a worker thread, send what it returns.

One `async def` per kind of update, all registered in `register_handlers` (docs/architecture.md).
None of them decides anything about the conversation; they only move data between Telegram and
`Conversation.handle`. Only private chats are handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.channels.telegram.delivery import send_replies
from bot.channels.telegram.services import ChannelContext
from bot.channels.telegram.translate import inbound_from_update
from bot.domain import Inbound
from bot.texts import core_failure_apology

log = logging.getLogger(__name__)


async def relay_to_core(update: Update, context: ChannelContext) -> None:
    """Any message, command or edit: hand it to the core and send the replies."""
    inbound = inbound_from_update(update)
    if inbound is None:
        return
    await _converse(inbound, context)


async def relay_choice(update: Update, context: ChannelContext) -> None:
    """A button press: stop the spinner, retire the keyboard, hand the choice to the core."""
    query = update.callback_query
    if query is None:
        return
    with contextlib.suppress(TelegramError):  # a query older than Telegram keeps can't be answered
        await query.answer()
    inbound = inbound_from_update(update)
    if inbound is None:
        return
    if query.message is not None and query.message.is_accessible:
        # A pressed keyboard is spent: removing it stops a second press of a stale choice.
        with contextlib.suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
    await _converse(inbound, context)


async def _converse(inbound: Inbound, context: ChannelContext) -> None:
    chat_id = int(inbound.user_ref)
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    services = context.bot_data.services
    conversation = services.conversation
    try:
        replies = await asyncio.to_thread(conversation.handle, inbound)
    except Exception:
        # Said when the core itself failed, so a person in distress is not met with silence.
        apology = core_failure_apology(inbound.language_hint)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat_id, apology)
        raise
    await send_replies(context.bot, chat_id, replies, copies=services.copies)


async def log_error(update: object, context: ChannelContext) -> None:
    """Log what failed and where, never the message text, ids or the exception's message."""
    error = context.error
    if error is None:
        return
    kind = _update_kind(update)
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames))
    log.error("handling a %s update failed: %s at %s", kind, type(error).__name__, where or "?")


def _update_kind(update: object) -> str:
    if not isinstance(update, Update):
        return "non-update"
    for kind in ("callback_query", "edited_message", "message"):
        if getattr(update, kind) is not None:
            return kind
    return "other"


def register_handlers(app: Application[Any, ChannelContext, Any, Any, Any, Any]) -> None:
    """All of the channel's handlers, in one place."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CallbackQueryHandler(relay_choice))
    app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, relay_to_core))
    app.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, relay_to_core
        )
    )
    app.add_error_handler(log_error)
