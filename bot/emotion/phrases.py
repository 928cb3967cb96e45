"""Phrase lists from policies matched against text: English on word boundaries, Japanese as
substrings (Japanese has no spaces between words). Callers pass lower-cased text."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.domain import Language


class PhraseMatcher:
    def __init__(self, phrases: Iterable[str], language: Language) -> None:
        self.phrases = tuple(dict.fromkeys(p.lower() for p in phrases if p))
        self._pattern: re.Pattern[str] | None = None
        if self.phrases:
            alternatives = "|".join(
                re.escape(p) for p in sorted(self.phrases, key=len, reverse=True)
            )
            if language == Language.EN:
                alternatives = rf"(?<![\w']){'(?:' + alternatives + ')'}(?![\w'])"
            self._pattern = re.compile(alternatives)

    def find(self, lowered_text: str) -> tuple[str, ...]:
        """Distinct phrases found, in order of first appearance."""
        if self._pattern is None:
            return ()
        return tuple(dict.fromkeys(m.group(0) for m in self._pattern.finditer(lowered_text)))

    def spans(self, lowered_text: str) -> list[tuple[int, int, str]]:
        """(start, end, phrase) of every match."""
        if self._pattern is None:
            return []
        return [(m.start(), m.end(), m.group(0)) for m in self._pattern.finditer(lowered_text)]
