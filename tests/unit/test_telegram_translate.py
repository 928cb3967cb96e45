"""Telegram <-> core translation and the builder's small rules, without a network."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from bot.channels.telegram.application import (
    MissingTokenError,
    bot_token,
    file_base_url,
    webhook_secret_token,
)
from bot.channels.telegram.inbox import chat_of
from bot.channels.telegram.translate import (
    command_text,
    inbound_from_update,
    keyboard_for,
    message_parts,
    split_text,
)
from bot.config import Settings
from bot.domain import Button, InboundKind, Outbound
from tests.support.fake_bot_api import SimulatedPerson

MAI = SimulatedPerson(id=424242, first_name="Mai", username="mai_k", language_code="ja")


def update(body: dict[str, Any]) -> Update:
    return Update.de_json({"update_id": 1, **body}, None)


def message(chat: dict[str, Any], **content: Any) -> dict[str, Any]:
    return {"message_id": 5, "date": 0, "chat": chat, "from": MAI.as_user(), **content}


def test_text_command_and_sticker_become_inbounds_keyed_by_chat() -> None:
    text = inbound_from_update(update({"message": message(MAI.as_chat(), text="hi")}))
    assert text is not None
    assert (text.user_ref, text.kind, text.text, text.language_hint) == (
        "424242",
        InboundKind.TEXT,
        "hi",
        "ja",
    )
    entity = [{"type": "bot_command", "offset": 0, "length": 16}]
    command = inbound_from_update(
        update({"message": message(MAI.as_chat(), text="/Start@SomeBot x", entities=entity)})
    )
    assert command is not None and (command.kind, command.text) == (InboundKind.COMMAND, "/start x")
    sticker = {"file_id": "f", "file_unique_id": "u", "type": "regular", "width": 1, "height": 1}
    sticker_body = message(
        MAI.as_chat(), sticker={**sticker, "is_animated": False, "is_video": False}
    )
    unsupported = inbound_from_update(update({"message": sticker_body}))
    assert unsupported is not None and (unsupported.kind, unsupported.text) == (
        InboundKind.UNSUPPORTED,
        "",
    )


def test_inbound_carries_the_senders_names_for_the_scrubber_only() -> None:
    user = {**MAI.as_user(), "last_name": "Kowalski"}
    body = {"message_id": 5, "date": 0, "chat": MAI.as_chat(), "from": user, "text": "hi"}
    inbound = inbound_from_update(update({"message": body}))
    assert inbound is not None and inbound.author_names is not None
    names = inbound.author_names
    assert (names.first_name, names.last_name, names.username) == ("Mai", "Kowalski", "mai_k")
    # Neither the Inbound's repr nor the names' repr may carry a name into a log line.
    for secret in ("Mai", "Kowalski", "mai_k"):
        assert secret not in repr(inbound)
        assert secret not in repr(names)
    no_last = inbound_from_update(update({"message": message(MAI.as_chat(), text="hi")}))
    assert no_last is not None and no_last.author_names is not None
    assert no_last.author_names.last_name is None


def test_a_slash_in_the_middle_is_text_not_a_command() -> None:
    inbound = inbound_from_update(update({"message": message(MAI.as_chat(), text="and/or")}))
    assert inbound is not None and inbound.kind is InboundKind.TEXT


def test_group_chats_are_not_translated() -> None:
    group = {"id": -100123, "type": "supergroup", "title": "friends"}
    assert inbound_from_update(update({"message": message(group, text="hi")})) is None
    # its lane in the inbox is still the chat's (each chat's updates in order)
    assert chat_of({"update_id": 1, "message": message(group, text="hi")}) == "-100123"


def test_command_text_normalisation() -> None:
    assert command_text("/HELP@NeedToTalkBot") == "/help"
    assert command_text("/start   deep-link  ") == "/start deep-link"


def test_keyboard_rows_and_the_callback_data_limit() -> None:
    outbound = Outbound(
        "pick", buttons=((Button("A", "a:1"), Button("B", "b:2")), (Button("C", "c"),))
    )
    markup = keyboard_for(outbound)
    assert markup is not None
    assert [[b["callback_data"] for b in row] for row in markup["inline_keyboard"]] == [
        ["a:1", "b:2"],
        ["c"],
    ]
    assert keyboard_for(Outbound("no buttons")) is None
    with pytest.raises(ValueError, match="64"):
        keyboard_for(Outbound("x", buttons=((Button("too long", "é" * 33),),)))


def test_protect_content_goes_on_every_part_of_a_long_message() -> None:
    parts = message_parts(Outbound("line\n" * 3000, protect_content=True))
    assert len(parts) == 4
    assert all(p.protect_content for p in parts)


@given(st.text(alphabet=st.sampled_from("ab \n死"), max_size=400), st.integers(20, 80))
def test_split_text_keeps_every_character_within_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())
    if len(text) <= limit:
        assert pieces == [text]


def test_file_url_follows_the_api_url() -> None:
    assert file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_base_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"


def test_missing_token_is_a_clear_error() -> None:
    with pytest.raises(MissingTokenError, match="TELEGRAM_BOT_TOKEN is not set"):
        bot_token(Settings(_env_file=None, TELEGRAM_BOT_TOKEN=None))
    with pytest.raises(MissingTokenError):
        bot_token(Settings(_env_file=None, TELEGRAM_BOT_TOKEN="  "))


def test_webhook_secret_is_valid_for_telegram_and_follows_the_server_secret() -> None:
    one = webhook_secret_token(Settings(_env_file=None, NEEDTOTALK_SECRET_KEY="a" * 32))
    two = webhook_secret_token(Settings(_env_file=None, NEEDTOTALK_SECRET_KEY="b" * 32))
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", one)
    assert one != two
