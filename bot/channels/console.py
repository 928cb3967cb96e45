"""The console channel: the same conversation in a terminal, choices as numbered options.

Only translation lives here: a line that starts with "/" is a command, a bare number picks one
of the options shown last, anything else is text. Messages waiting in the outbox for this
console person are printed after each turn, so reactions and replies show up here too.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.domain import Button, Conversation, Inbound, InboundKind, Outbound, Outbox, parse_id

CHANNEL = "console"
# Where pictures (the /progress chart) are written; a terminal cannot show them.
IMAGE_DIR = Path("var/console-images")


def save_image(image_png: bytes, directory: Path = IMAGE_DIR) -> Path:
    """Write a picture under a name made from its content; return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hashlib.sha256(image_png).hexdigest()[:16]}.png"
    path.write_bytes(image_png)
    return path


def render(message: Outbound, out: TextIO, image_dir: Path = IMAGE_DIR) -> list[Button]:
    """Print one message; return its buttons in the order they were numbered."""
    prefix = "[card, not forwardable] " if message.protect_content else ""
    print(f"\nbot> {prefix}{message.text}", file=out)
    if message.image_png is not None:
        print(f"     [picture saved to {save_image(message.image_png, image_dir)}]", file=out)
    numbered = [button for row in message.buttons for button in row]
    for index, button in enumerate(numbered, start=1):
        print(f"  {index}) {button.label}", file=out)
    return numbered


def to_inbound(line: str, user_ref: str, language: str, options: list[Button]) -> Inbound:
    text = line.strip()
    if text.startswith("/"):
        return Inbound(user_ref, InboundKind.COMMAND, text, language)
    number = parse_id(text)  # "²" passes isdigit() but not int()
    if number is not None and options and number <= len(options):
        return Inbound(user_ref, InboundKind.CHOICE, options[number - 1].data, language)
    return Inbound(user_ref, InboundKind.TEXT, line, language)


def run_console(
    conversation: Conversation,
    outbox: Outbox,
    *,
    user_ref: str = "local",
    language: str = "en",
    lines: Iterable[str] | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    source = lines if lines is not None else _stdin_lines(out)
    print(
        "NeedToTalk (console). Type a message, a number to pick an option, /help for commands, "
        "Ctrl-D to leave.",
        file=out,
    )
    options: list[Button] = []
    first = True
    for line in source:
        inbound = (
            Inbound(user_ref, InboundKind.COMMAND, "/start", language)
            if first and not line.strip()
            else to_inbound(line, user_ref, language, options)
        )
        first = False
        for message in conversation.handle(inbound):
            options = render(message, out) or options
        _print_outbox(outbox, user_ref, out)
    print("\nbye. Take care.", file=out)
    return 0


def _stdin_lines(out: TextIO) -> Iterable[str]:
    yield ""  # an empty first line opens with /start, as Telegram does
    while True:
        try:
            print("\nyou> ", end="", file=out, flush=True)
            yield input()
        except EOFError:
            return


def _print_outbox(outbox: Outbox, user_ref: str, out: TextIO) -> None:
    for item in outbox.due(CHANNEL):
        if item.recipient_ref == user_ref:
            render(item.message, out)
            outbox.delivered(item.id)
