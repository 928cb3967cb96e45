"""The command menu Telegram shows next to the message box, in English and Japanese.

Set once at start-up (`post_init`); Telegram picks the list by the person's app language
(`language_code`), falling back to the default (English) list.
"""

from __future__ import annotations

from telegram import Bot, BotCommand

COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("start", "Start, or start again"),
        ("help", "How NeedToTalk works"),
        ("read", "Read cards from peers"),
        ("share", "Share how you feel, anonymously"),
        ("mycards", "The cards you shared"),
        ("assess", "How am I feeling? A few questions"),
        ("forget", "Delete everything about you"),
        ("cancel", "Stop what you are doing"),
    ),
    "ja": (
        ("start", "はじめる・やりなおす"),
        ("help", "NeedToTalkの使い方"),
        ("read", "仲間のカードを読む"),
        ("share", "気持ちを匿名でシェアする"),
        ("mycards", "自分がシェアしたカード"),
        ("assess", "いまの気持ちを確かめる"),
        ("forget", "あなたのデータをすべて削除"),
        ("cancel", "いまの操作をやめる"),
    ),
}


def bot_commands(language: str) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in COMMANDS[language]]


async def set_command_menu(bot: Bot) -> None:
    """English as the default menu, Japanese for people whose Telegram is in Japanese."""
    await bot.set_my_commands(bot_commands("en"))
    await bot.set_my_commands(bot_commands("ja"), language_code="ja")
