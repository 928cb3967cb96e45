"""The command menu Telegram shows next to the message box, in every language the bot speaks.

The commands are the ones the conversation's flows own and their descriptions come from
prompts/<lang>/menu.yaml (`Conversation.command_menu`): nothing is listed by hand here, so a
flow's new command reaches the menu with its texts. Set once at start-up (`post_init`);
Telegram picks the list by the person's app language (`language_code`), falling back to the
default list, the default language pack's (docs/languages.md).
"""

from __future__ import annotations

from telegram import Bot, BotCommand

from bot.languages import registry


def bot_commands(entries: list[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in entries]


async def set_command_menu(bot: Bot, menu: dict[str, list[tuple[str, str]]]) -> None:
    """The default language's menu as Telegram's default, every other language for people whose
    app uses it."""
    default = registry().default
    for language, entries in menu.items():
        if not entries:
            continue
        if language == default:
            await bot.set_my_commands(bot_commands(entries))
        else:
            await bot.set_my_commands(bot_commands(entries), language_code=language)
