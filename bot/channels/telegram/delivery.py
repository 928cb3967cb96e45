"""Sending Outbounds through the Bot API: one place that calls sendMessage.

Everything that relays another person's words has `protect_content` set by the core; this module
passes it on for every part of the message, so Telegram forbids forwarding and saving it
(docs/architecture.md, anonymity rules). Texts are sent without a parse mode: they may hold
people's words, and no markup in them may change how they look.

Telegram's 429 is waited out by python-telegram-bot's AIORateLimiter (`max_retries`, set where
the Application is built); a 429 that outlasts those retries reaches the caller (the outbox
puts the message back for as long as Telegram asked).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.channels.telegram.translate import keyboard_for, message_parts
from bot.domain import DeliveredCopies, Outbound

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# How often AIORateLimiter waits out Telegram's 429 before a send gives up.
FLOOD_RETRIES = 2
# Telegram's answer to an edit that changes nothing ("Bad Request: message is not modified").
NOT_MODIFIED = "message is not modified"


async def send_outbound(
    bot: Bot,
    chat_id: int,
    outbound: Outbound,
    edit_message_id: int | None = None,
    *,
    skip: int = 0,
    on_part: Callable[[int], None] | None = None,
    retaken: bool = False,
) -> list[int]:
    """Send one Outbound (one or more messages) and return their message ids; errors propagate.

    `edit_message_id`: the message whose button was pressed; a one-part answer without a
    picture or protected words replaces it (editMessageText: one call instead of removing its
    keyboard and sending a new message). If Telegram refuses the edit (too old, gone), it is
    sent as new. An edit that changes nothing is done when the row was `retaken` (a worker
    died after Telegram applied it, before the outbox recorded it: sending it as new would say
    it twice); otherwise the answer happens to read as the pressed message already does, and
    is sent as new, so the person sees their press answered. A picture goes first, with a
    short caption.

    An answer in several messages (a long text's parts, a picture and then its text): `skip`
    is how many went out in an earlier attempt (not sent again), and `on_part(n)` is called
    as soon as the n-th has gone out while more follow, so its caller can record it.
    """
    if outbound.image_png is not None:
        return await _send_photo(bot, chat_id, outbound, skip, on_part)
    parts = message_parts(outbound)
    editable = len(parts) == 1 and not outbound.protect_content and parts[0].text.strip()
    if edit_message_id is not None and editable:
        try:
            await _post(
                bot,
                "editMessageText",
                {
                    "text": parts[0].text,
                    "chat_id": chat_id,
                    "message_id": edit_message_id,
                    "reply_markup": keyboard_for(outbound),
                },
            )
            return [edit_message_id]
        except BadRequest as exc:
            if retaken and NOT_MODIFIED in str(exc).lower():
                return [edit_message_id]  # made before the worker that sent it died
            log.info("an answer could not replace the pressed message (%s)", type(exc).__name__)
    sent: list[int] = []
    for number, part in enumerate(parts, start=1):
        if number <= skip:
            continue
        if not part.text.strip():
            log.warning("skipped an outbound message with empty text")
            continue
        message = await _post(
            bot,
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": part.text,
                "protect_content": part.protect_content,
                "reply_markup": part.reply_markup,
            },
        )
        sent.append(int(message["message_id"]))
        if on_part is not None and number < len(parts):
            on_part(number)
    return sent


async def _post(bot: Bot, endpoint: str, data: dict[str, Any]) -> Any:
    """One Bot API call with exactly the parameters `bot.send_message` / `bot.edit_message_text`
    send for these arguments (None dropped, as they drop it; tests/unit/test_telegram_delivery.py
    compares the two), through the same path: its rate limiter and its error mapping
    (BadRequest, RetryAfter ...). No `Defaults` reach it (none are configured: plain text, no
    parse mode, which is the safe side for people's words). What differs is the answer:
    Telegram's JSON, of which the caller reads one field, instead of a `Message` built from it
    (its keyboard included), which was ~8 % of a worker's CPU under load (docs/architecture.md,
    throughput)."""
    return await bot._post(endpoint, data)


# Telegram's limit on a photo caption; a longer text follows the picture as messages.
CAPTION_LIMIT = 1024


async def _send_photo(
    bot: Bot,
    chat_id: int,
    outbound: Outbound,
    skip: int,
    on_part: Callable[[int], None] | None,
) -> list[int]:
    assert outbound.image_png is not None
    caption = outbound.text if len(outbound.text) <= CAPTION_LIMIT else None
    sent: list[int] = []
    if skip < 1:
        message = await bot.send_photo(
            chat_id=chat_id,
            photo=outbound.image_png,
            caption=caption,
            protect_content=outbound.protect_content,
        )
        sent.append(message.message_id)
        if caption is None and on_part is not None:
            on_part(1)
    if caption is None:
        text_only = Outbound(
            text=outbound.text, buttons=outbound.buttons, protect_content=outbound.protect_content
        )

        def text_part(number: int) -> None:
            if on_part is not None:
                on_part(number + 1)

        sent += await send_outbound(
            bot, chat_id, text_only, skip=max(0, skip - 1), on_part=text_part
        )
    return sent


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
