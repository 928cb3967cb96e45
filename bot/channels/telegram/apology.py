"""What the channel says when the core itself failed, so a person in distress is not met with
silence. The words are in prompts/<lang>/conversation.yaml (`core_failure`), read when the
application is built: never from the core that has just failed.
"""

from __future__ import annotations

from bot.texts import Texts

CORE_FAILURE = "core_failure"


def core_failure_text(texts: Texts, language_hint: str | None) -> str:
    """The apology for a turn the core could not finish, in the person's language."""
    return texts.get(language_hint or "en", CORE_FAILURE)
