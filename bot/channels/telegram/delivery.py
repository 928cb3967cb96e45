"""Sending Outbounds through the Bot API: one place that calls sendMessage.

Everything that relays another person's words has `protect_content` set by the core; this module
passes it on for every part of the message, so Telegram forbids forwarding and saving it
(docs/architecture.md, anonymity rules). Texts are sent without a parse mode: they may hold
people's words, and no markup in them may change how they look.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.translate import message_parts
from bot.domain import Outbound

log = logging.getLogger(__name__)

# How often a reply to someone waiting in the chat is retried after Telegram's 429.
REPLY_FLOOD_RETRIES = 2


async def send_outbound(bot: Bot, chat_id: int, outbound: Outbound, flood_retries: int = 0) -> None:
    """Send one Outbound (one or more messages); errors propagate to the caller.

    On Telegram's 429 a part is retried up to `flood_retries` times after the wait it asks for;
    parts already sent are not sent again. A picture goes first, with a short caption.
    """
    if outbound.image_png is not None:
        await _send_photo(bot, chat_id, outbound, flood_retries)
        return
    for part in message_parts(outbound):
        if not part.text.strip():
            log.warning("skipped an outbound message with empty text")
            continue
        for attempt in range(flood_retries + 1):
            try:
                await bot.send_message(
                    chat_id=chat_id,
                    text=part.text,
                    reply_markup=part.reply_markup,
                    protect_content=part.protect_content,
                )
                break
            except RetryAfter as exc:
                if attempt == flood_retries:
                    raise
                await asyncio.sleep(retry_after_seconds(exc))


# Telegram's limit on a photo caption; a longer text follows the picture as messages.
CAPTION_LIMIT = 1024


async def _send_photo(bot: Bot, chat_id: int, outbound: Outbound, flood_retries: int) -> None:
    assert outbound.image_png is not None
    caption = outbound.text if len(outbound.text) <= CAPTION_LIMIT else None
    for attempt in range(flood_retries + 1):
        try:
            await bot.send_photo(
                chat_id=chat_id,
                photo=outbound.image_png,
                caption=caption,
                protect_content=outbound.protect_content,
            )
            break
        except RetryAfter as exc:
            if attempt == flood_retries:
                raise
            await asyncio.sleep(retry_after_seconds(exc))
    if caption is None:
        text_only = Outbound(
            text=outbound.text, buttons=outbound.buttons, protect_content=outbound.protect_content
        )
        await send_outbound(bot, chat_id, text_only, flood_retries)


async def send_replies(
    bot: Bot, chat_id: int, outbounds: Sequence[Outbound], flood_retries: int = REPLY_FLOOD_RETRIES
) -> None:
    """Send the core's replies in order, waiting out Telegram's 429 a few times.

    The person is waiting in the chat, so a reply is not given up at the first flood wait; the
    caller holds this person's turn meanwhile, so nothing overtakes it.
    """
    for outbound in outbounds:
        await send_outbound(bot, chat_id, outbound, flood_retries)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait, whether this PTB version gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
