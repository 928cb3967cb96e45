"""send_outbound posts sendMessage / editMessageText itself (Telegram's answer read as JSON, not
built into a Message): what reaches the Bot API must be byte for byte what python-telegram-bot's
own `send_message` / `edit_message_text` send for the same arguments."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ExtBot
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram.delivery import send_outbound
from bot.channels.telegram.translate import keyboard_for
from bot.domain import Button, Outbound

BUTTONS = ((Button("Yes", "consent:yes"), Button("No", "consent:no")), (Button("Help", "h"),))


class RecordingBot(ExtBot[Any]):
    """Records each call's endpoint, its parameters as sent (JSON values) and its timeouts."""

    def __init__(self) -> None:
        super().__init__("123:TEST")
        self._posted: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    async def _do_post(self, endpoint: str, data: dict[str, Any], **timeouts: Any) -> Any:
        sent = {k: RequestParameter.from_input(k, v).json_value for k, v in data.items()}
        self._posted.append((endpoint, sent, timeouts))
        message = {"message_id": 41, "date": 0, "chat": {"id": 7, "type": "private"}}
        return {**message, "text": data.get("text", "")}


def ptb_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in BUTTONS]
    )


def test_the_keyboard_is_what_python_telegram_bot_would_serialise() -> None:
    assert keyboard_for(Outbound("pick", buttons=BUTTONS)) == ptb_markup().to_dict()


def test_send_and_edit_post_exactly_what_the_library_methods_post() -> None:
    async def run() -> None:
        ours, theirs = RecordingBot(), RecordingBot()
        for protect in (False, True):
            outbound = Outbound("hello", buttons=BUTTONS, protect_content=protect)
            assert await send_outbound(ours, 7, outbound) == [41]
            await theirs.send_message(
                chat_id=7, text="hello", reply_markup=ptb_markup(), protect_content=protect
            )
        assert await send_outbound(ours, 7, Outbound("plain")) == [41]
        await theirs.send_message(chat_id=7, text="plain", reply_markup=None, protect_content=False)
        for buttons in (BUTTONS, ()):
            edited = Outbound("next", buttons=buttons)
            assert await send_outbound(ours, 7, edited, edit_message_id=5) == [5]
            await theirs.edit_message_text(
                text="next",
                chat_id=7,
                message_id=5,
                reply_markup=ptb_markup() if buttons else None,
            )
        assert ours._posted == theirs._posted
        assert [endpoint for endpoint, _, _ in ours._posted] == ["sendMessage"] * 3 + [
            "editMessageText"
        ] * 2

    asyncio.run(run())
