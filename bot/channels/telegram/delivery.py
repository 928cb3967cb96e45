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
from telegram.error import BadRequest, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.translate import message_parts
from bot.domain import DeliveredCopies, Outbound

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# How often a reply to someone waiting in the chat is retried after Telegram's 429.
REPLY_FLOOD_RETRIES = 2


async def send_outbound(
    bot: Bot, chat_id: int, outbound: Outbound, flood_retries: int = 0
) -> list[int]:
    """Send one Outbound (one or more messages) and return their message ids; errors propagate.

    On Telegram's 429 a part is retried up to `flood_retries` times after the wait it asks for;
    parts already sent are not sent again. A picture goes first, with a short caption.
    """
    if outbound.image_png is not None:
        return await _send_photo(bot, chat_id, outbound, flood_retries)
    sent: list[int] = []
    for part in message_parts(outbound):
        if not part.text.strip():
            log.warning("skipped an outbound message with empty text")
            continue
        for attempt in range(flood_retries + 1):
            try:
                message = await bot.send_message(
                    chat_id=chat_id,
                    text=part.text,
                    reply_markup=part.reply_markup,
                    protect_content=part.protect_content,
                )
                sent.append(message.message_id)
                break
            except RetryAfter as exc:
                if attempt == flood_retries:
                    raise
                await asyncio.sleep(retry_after_seconds(exc))
    return sent


# Telegram's limit on a photo caption; a longer text follows the picture as messages.
CAPTION_LIMIT = 1024


async def _send_photo(bot: Bot, chat_id: int, outbound: Outbound, flood_retries: int) -> list[int]:
    assert outbound.image_png is not None
    sent: list[int] = []
    caption = outbound.text if len(outbound.text) <= CAPTION_LIMIT else None
    for attempt in range(flood_retries + 1):
        try:
            message = await bot.send_photo(
                chat_id=chat_id,
                photo=outbound.image_png,
                caption=caption,
                protect_content=outbound.protect_content,
            )
            sent.append(message.message_id)
            break
        except RetryAfter as exc:
            if attempt == flood_retries:
                raise
            await asyncio.sleep(retry_after_seconds(exc))
    if caption is None:
        text_only = Outbound(
            text=outbound.text, buttons=outbound.buttons, protect_content=outbound.protect_content
        )
        sent += await send_outbound(bot, chat_id, text_only, flood_retries)
    return sent


async def send_replies(
    bot: Bot,
    chat_id: int,
    outbounds: Sequence[Outbound],
    flood_retries: int = REPLY_FLOOD_RETRIES,
    copies: DeliveredCopies | None = None,
) -> None:
    """Send the core's replies in order, waiting out Telegram's 429 a few times.

    The person is waiting in the chat, so a reply is not given up at the first flood wait; the
    caller holds this person's turn meanwhile, so nothing overtakes it. A delivered card is
    reported to `copies`, so withdrawing it can delete it later.
    """
    for outbound in outbounds:
        sent = await send_outbound(bot, chat_id, outbound, flood_retries)
        await report_copy(copies, chat_id, outbound, sent)


async def report_copy(
    copies: DeliveredCopies | None, chat_id: int, outbound: Outbound, message_ids: list[int]
) -> None:
    """Tell the core where a delivered card landed; a failure here never stops delivery."""
    if copies is None or outbound.delivery_token is None or not message_ids:
        return
    try:
        await asyncio.to_thread(
            copies.copy_sent, outbound.delivery_token, CHANNEL, str(chat_id), message_ids
        )
    except Exception as exc:  # the card was delivered; only a later withdraw loses this copy
        log.error("recording a delivered copy failed: %s", type(exc).__name__)


async def delete_copies(bot: Bot, chat_id: int, message_ids: Sequence[int]) -> int:
    """Delete earlier copies (a withdrawn card); returns how many Telegram deleted. A copy
    Telegram no longer allows deleting (older than 48 hours, or already gone) stays as it is."""
    deleted = 0
    for message_id in message_ids:
        try:
            if await bot.delete_message(chat_id=chat_id, message_id=message_id):
                deleted += 1
        except BadRequest as exc:
            log.info("a withdrawn copy could not be deleted (%s)", type(exc).__name__)
    return deleted


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait, whether this PTB version gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
