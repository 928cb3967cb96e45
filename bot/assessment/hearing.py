"""Hearing free text inside the assessment: what kind of reply it is, and what to say back.

A person who writes in their own words wants to be heard before the next question, not only
scored. Three kinds of reply (checked in this order):
- a question about the question ("what does that even mean?", どういう意味？): it gets a plain
  rephrasing of the same question, and nothing is read from it;
- "I don't know" ("idk", "not sure", わからない): an answer with no evidence, which counts toward
  stopping (the engine ends the assessment after `overall.stop_after_dont_knows` of them);
- anything else: read for evidence, and acknowledged with a line that reflects it.

The acknowledgement's theme comes first from the person's own words (the theme's cue words:
"alone", 寂しい), then from what the emotion engine read (its top emotion, when the reading is
clearly above flat), then from the text's polarity; the words are never kept, only the theme id.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from bot.assessment.phrases import AssessmentPhrases
from bot.domain import EMOTIONS, EmotionReading

# The engine's top emotion names a theme only when it stands out: twice uniform (as the result
# does before naming an emotion, policies/assessment.yaml result.min_emotion_posterior).
MIN_TOP_SCORE = 2.0 / len(EMOTIONS)
# Polarity this one-sided makes an unthemed text "hard" (the engine's shares are smoothed).
HARD_NEGATIVE_SHARE = 0.6

# English negation just before a cue word ("I'm not lonely", "never tired"): no theme from it.
_EN_NEGATED = re.compile(
    r"\b(?:not|never|no longer|isn't|aren't|wasn't|don't|didn't)\s+(?:\w+\s+){0,2}$"
)
# Japanese negates after the word (寂しくない, 疲れていません).
_JA_NEGATED = re.compile(
    r"^[^。！？!?、]{0,4}?(?:くない|くなかった|ていない|てない|ません|ないです)"
)
_LATIN = re.compile(r"[a-z]")


class ReplyKind(StrEnum):
    ANSWER = "answer"
    DONT_KNOW = "dont_know"
    CLARIFY = "clarify"


# What `ThemeChoice.theme` is when no theme fits: by polarity, or plain thanks.
HARD = "_hard"
PLAIN = "_plain"


@dataclass(frozen=True, slots=True)
class ThemeChoice:
    theme: str  # a theme id of the phrases, or HARD / PLAIN
    said: bool  # True when the person's own words named it (cue words), not only the engine


def reply_kind(phrases: AssessmentPhrases, text: str) -> ReplyKind:
    if phrases.asks_what_it_means(text):
        return ReplyKind.CLARIFY
    if phrases.means_dont_know(text):
        return ReplyKind.DONT_KNOW
    return ReplyKind.ANSWER


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


@cache
def _cue_pattern(cue: str) -> re.Pattern[str]:
    """English cues match whole words ("low" is not in "follow"); Japanese ones anywhere."""
    escaped = re.escape(_normalised(cue))
    if _LATIN.search(cue):
        return re.compile(rf"(?<![\w']){escaped}(?![\w'])")
    return re.compile(escaped)


def _named(text: str, cue: str) -> bool:
    for match in _cue_pattern(cue).finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        if _EN_NEGATED.search(before) or _JA_NEGATED.match(after):
            continue
        return True
    return False


def choose_theme(phrases: AssessmentPhrases, text: str, reading: EmotionReading) -> ThemeChoice:
    """The theme to acknowledge (see the module doc for the order)."""
    lowered = _normalised(text)
    for theme_id, theme in phrases.themes.items():
        if any(_named(lowered, cue) for cue in theme.cues):
            return ThemeChoice(theme_id, said=True)
    scores = reading.scores
    if scores and max(scores.values()) >= MIN_TOP_SCORE:
        top = reading.top
        for theme_id, theme in phrases.themes.items():
            if top in theme.emotions:
                return ThemeChoice(theme_id, said=False)
    pos, neg = reading.polarity.pos, reading.polarity.neg
    if pos + neg > 0 and neg / (pos + neg) >= HARD_NEGATIVE_SHARE:
        return ThemeChoice(HARD, said=False)
    return ThemeChoice(PLAIN, said=False)


def acknowledgement(phrases: AssessmentPhrases, theme: str | None) -> str:
    """What to say back for a theme id (HARD, PLAIN, a theme, or "dont_know")."""
    if theme == ReplyKind.DONT_KNOW.value:
        return phrases.ack_dont_know
    if theme == HARD:
        return phrases.ack_hard
    found = phrases.themes.get(theme or "")
    return found.ack if found is not None else phrases.ack_plain
