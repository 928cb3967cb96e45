"""Which language a text is in, from its script: any kana, or more CJK ideographs than Latin
letters, means Japanese. Good enough for the two languages the bot speaks, and instant."""

from __future__ import annotations

import re

from bot.domain import Language

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str, default: Language = Language.EN) -> Language:
    if _KANA.search(text):
        return Language.JA
    kanji = len(_KANJI.findall(text))
    if kanji and kanji >= len(_LATIN.findall(text)):
        return Language.JA
    return default
