"""What an LLM wrote may be shown to a person only if it says nothing harmful, in their language.

`acceptable_llm_question` (bot.assessment.evidence) checks the form of a rewrite or follow-up;
this checks what it says. The LLM reads the person's words, which can steer it, and a model can
simply get it wrong, so every text it writes for display must:
- be in the person's language, by script: Japanese has kana and is mostly kana/kanji; English is
  mostly Latin letters (so not a Japanese, Chinese or Russian answer to an English speaker);
- carry no crisis language, by the crisis screen that reads people's messages; the bot speaks
  to "you" and the screen's phrases are first person, so the text is screened as written and
  again as if the person had said it ("kill yourself" is read as "kill myself");
- not say anything that no supporter would say to someone who may be low: that nobody would
  miss them, that they might as well give up (policies/safety.yaml, never_say: what the
  first-person crisis phrases do not cover);
- not be toxic by the content classifier used for cards (one embedding of one short text).

`LlmTextGuard.problem` returns why a text fails, or None; the caller then falls back to the
offline question and logs the reason only, never the text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from bot.domain import Language
from bot.safety.crisis_screen import CrisisScreen, normalise

log = logging.getLogger(__name__)

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

# Second person -> first person, for reading the bot's text with the crisis screen's phrases.
_EN_SECOND_PERSON: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"(?<![\w']){you}(?![\w'])"), me)
    for you, me in (
        ("yourselves", "myself"),
        ("yourself", "myself"),
        ("you'?re", "i'm"),
        ("you'?ve", "i've"),
        ("you'?ll", "i'll"),
        ("you'?d", "i'd"),
        ("yours", "mine"),
        ("your", "my"),
        ("ya", "you"),
        ("u", "you"),
    )
)
_EN_YOU = re.compile(r"(?<![\w'])you(?![\w'])")
_JA_SECOND_PERSON = re.compile(r"あなた|あんた|貴方|君|きみ|お前|おまえ")


def in_language(text: str, language: Language) -> bool:
    """Whether the text is written in the script of `language`.

    Japanese: has kana (Chinese has none) and at least half its letters are kana or kanji, so
    a Japanese sentence may still hold a word like "SNS". English: at least half its letters
    are Latin. A text with no letters at all is in no language.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    if language is Language.JA:
        japanese = sum(1 for ch in letters if _JAPANESE.match(ch))
        return bool(_KANA.search(text)) and 2 * japanese >= len(letters)
    latin = sum(1 for ch in letters if _LATIN.match(ch))
    return 2 * latin >= len(letters)


def as_if_said_by_the_person(text: str) -> list[str]:
    """The bot's text read as the person's own words: second person turned into first person
    ("you" once as "i" and once as "me", since either may be meant)."""
    clean = normalise(text)
    for pattern, replacement in _EN_SECOND_PERSON:
        clean = pattern.sub(replacement, clean)
    readings = [_EN_YOU.sub(me, clean) for me in ("i", "me")]
    if _JA_SECOND_PERSON.search(clean):
        readings.append(_JA_SECOND_PERSON.sub("私", clean))
    return readings


def content_classifier_toxicity(policies_dir: Path | None = None) -> Callable[[str], bool]:
    """Whether the card content classifier calls a text toxic. The classifier (and the emotion
    engine it embeds with, shared with the questionnaire's text evidence) loads on first use."""

    def is_toxic(text: str) -> bool:
        from bot.domain import ContentClass
        from bot.emotion.content_class import get_content_classifier

        result = get_content_classifier(policies_dir).classify(text)
        return result.content_class is ContentClass.TOXIC

    return is_toxic


class LlmTextGuard:
    """Checks what LLM-written text says before a person sees it (see the module doc)."""

    def __init__(self, screen: CrisisScreen, is_toxic: Callable[[str], bool]) -> None:
        self.screen = screen
        self.is_toxic = is_toxic

    def problem(self, text: str, language: Language) -> str | None:
        """Why `text` may not be shown to a person who speaks `language`, or None if it may.

        The reason names a check, never the text. Cheapest checks first; if the content
        classifier cannot run, the text is refused (the offline question is always safe)."""
        if not in_language(text, language):
            return "not in the person's language"
        if any(self.screen.screen(t).is_crisis for t in (text, *as_if_said_by_the_person(text))):
            return "crisis language"
        if self.screen.is_never_said(text):
            return "harmful wording"
        try:
            toxic = self.is_toxic(text)
        except Exception as exc:  # the model could not load or run: refuse, do not guess
            return f"content check unavailable ({type(exc).__name__})"
        return "toxic by the content classifier" if toxic else None
