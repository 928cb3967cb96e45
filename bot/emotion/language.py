"""Which language a text is in, from its script (the packs' `script` hints, docs/languages.md):
any Japanese kana, or more CJK ideographs than Latin letters, means Japanese. Good enough for
languages with scripts of their own, and instant; languages written in the default's script
are told apart only by the session's language."""

from __future__ import annotations

from bot.domain import Language
from bot.languages import registry


def detect_language(text: str, session: Language | str | None = None) -> Language:
    """The language a text's characters say; `session`, the conversation's language, decides
    between languages that share a script (bot/languages.py `LanguageRegistry.detect`)."""
    return Language(registry().detect(text, str(session) if session else None))
