"""Shared content words between a query and a card, to re-rank knowledge-base results.

all-MiniLM-L6-v2 was trained on English; on Japanese it mostly matches characters, so "夜眠れ
ない" lands near any short card. Re-ranking the nearest candidates by how many of the query's
content words (fugashi base forms of nouns, verbs and adjectives for Japanese; lower-cased
words for English) a card shares brings the card about sleep back to the top, without a second
model or a download. Which words a language has is its pack's `analysers.words`
(docs/languages.md); a pack with none gets no word overlap.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.emotion.japanese import tokenize

_JA_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞"})
# Words too common to say what a text is about.
_JA_STOP = frozenset(
    {
        "する",
        "ある",
        "いる",
        "なる",
        "ない",
        "こと",
        "もの",
        "よう",
        "の",
        "ん",
        "それ",
        "これ",
        "できる",
    }
    | {"いう", "言う", "思う", "くる", "来る", "いく", "行く", "みる", "見る", "ほしい", "たい"}
)
_EN_STOP = frozenset(
    """
    a an the and or but if so to of in on at for with from by about as into than then too very
    i me my we our you your he she it they them this that these those is am are was were be been
    do does did have has had can could will would should not no just what how when why who
    there here some any all one get got feel feeling really want know like
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
_EN_WORD = re.compile(r"[a-z][a-z'’-]*")


def _en_stem(word: str) -> str:
    """A crude English stem, enough for "breathing"/"breath", "sleeping"/"sleep"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=4096)  # kb cards are re-ranked on every search; their words do not change
def content_words(text: str, analyser: str | None) -> frozenset[str]:
    """The content words of `text` by the words analyser its language's pack names
    (`analysers.words`: "en", "ja"); None (the pack names none): no words, so the overlap is 0
    and the kb ranks by the sentence embedding alone, rather than by another language's words."""
    if analyser is None:
        return frozenset()
    if analyser == "ja":
        return frozenset(
            t.base
            for t in tokenize(text)
            if t.pos in _JA_CONTENT_POS and t.base not in _JA_STOP and t.pos2 != "数詞"
        )
    return frozenset(
        _en_stem(w.strip("'’-"))
        for w in _EN_WORD.findall(text.lower())
        if w not in _EN_STOP and len(w) > 2
    )


def overlap(query_words: frozenset[str], card_words: frozenset[str]) -> float:
    """Share of the query's content words the card has, in [0, 1]; 0 for an empty query."""
    if not query_words:
        return 0.0
    return len(query_words & card_words) / len(query_words)
