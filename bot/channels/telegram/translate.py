"""Translation between Telegram objects and the core's Inbound/Outbound, and nothing else.

docs/architecture.md: a channel never decides anything. These functions only change shape: an Update
becomes an `Inbound` keyed by the chat id (carrying the sender's Telegram names, for the scrubber to
mask and for nothing else), an `Outbound` becomes the arguments of `sendMessage`. Only private
chats are translated: the bot is never used in groups, where others would see who talks
to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import MessageEntity, Update
from telegram.constants import ChatType, MessageLimit

from bot.domain import AuthorNames, Inbound, InboundKind, Outbound

# Telegram refuses callback data longer than this many bytes (BUTTON_DATA_INVALID).
CALLBACK_DATA_MAX_BYTES = 64


def inbound_from_update(update: Update) -> Inbound | None:
    """The Inbound for one update from a private chat, or None when the core has nothing to see."""
    chat, user = update.effective_chat, update.effective_user
    if user is None or user.is_bot:
        return None
    if chat is not None and chat.type != ChatType.PRIVATE:
        return None
    user_ref = str(chat.id if chat is not None else user.id)
    hint = user.language_code
    # The names as Telegram shows them now, for the scrubber to mask in this message only.
    names = AuthorNames(user.first_name or None, user.last_name or None, user.username or None)

    if update.callback_query is not None:
        data = update.callback_query.data
        if data is None:
            return None
        return Inbound(user_ref, InboundKind.CHOICE, data, hint, names)
    if update.edited_message is not None:
        edited = update.edited_message
        return Inbound(
            user_ref, InboundKind.EDITED, edited.text or edited.caption or "", hint, names
        )
    message = update.message
    if message is None:
        return None
    if message.text is None:
        # Stickers, photos, voice, documents ...: the core answers in kind. A caption is passed
        # along so the crisis screen reads it: a photo captioned "I want to die" is a crisis.
        return Inbound(user_ref, InboundKind.UNSUPPORTED, message.caption or "", hint, names)
    entities = message.entities
    if entities and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0:
        return Inbound(user_ref, InboundKind.COMMAND, command_text(message.text), hint, names)
    return Inbound(user_ref, InboundKind.TEXT, message.text, hint, names)


def command_text(text: str) -> str:
    """'/Start@NeedToTalkBot  payload' -> '/start payload': the core matches commands by name."""
    head, _, rest = text.strip().partition(" ")
    name = head.split("@", 1)[0].lower()
    rest = rest.strip()
    return f"{name} {rest}" if rest else name


def keyboard_for(outbound: Outbound) -> dict[str, Any] | None:
    """Inline keyboard for the Outbound's buttons, one Telegram row per row of buttons, as the
    Bot API's JSON: the same keys in the same order as python-telegram-bot's
    `InlineKeyboardMarkup.to_dict()` (tests/unit/test_telegram_translate.py), built directly
    because making its objects for every reply, only to serialise them again, was a tenth of
    a worker's time in sending (docs/architecture.md, throughput)."""
    if not outbound.buttons:
        return None
    rows = []
    for row in outbound.buttons:
        for button in row:
            if len(button.data.encode()) > CALLBACK_DATA_MAX_BYTES:
                raise ValueError(
                    f"button data is {len(button.data.encode())} bytes; Telegram allows "
                    f"{CALLBACK_DATA_MAX_BYTES}"
                )
        rows.append([{"callback_data": b.data, "text": b.label} for b in row])
    return {"inline_keyboard": rows}


@dataclass(frozen=True, slots=True)
class MessagePart:
    """The arguments of one sendMessage call (`reply_markup` as the Bot API's JSON)."""

    text: str
    reply_markup: dict[str, Any] | None
    protect_content: bool


def message_parts(outbound: Outbound) -> list[MessagePart]:
    """One Outbound as sendMessage calls: long texts split at line breaks, buttons on the last."""
    chunks = split_text(outbound.text, MessageLimit.MAX_TEXT_LENGTH)
    markup = keyboard_for(outbound)
    return [
        MessagePart(chunk, markup if i == len(chunks) - 1 else None, outbound.protect_content)
        for i, chunk in enumerate(chunks)
    ]


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a newline or space where one is near."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces
