"""Find names that a writer introduces as their name, for `bot.cards.scrub`.

Only names *introduced as names* are found ("my name is Ken", "call me Ken", "I'm Ken",
"名前はゆかです", "佐藤と申します", "私は田中です"). A capitalised word elsewhere is not treated
as a name: that would mask "London", "Monday" and every sentence's first word, and "I'm tired"
or "私は学生です" must stay as written. Japanese uses fugashi + unidic-lite: "私は…です"
counts only when every word in the gap is tagged 固有名詞/人名 (proper noun, person's name),
so 学生 (student), 元気 (fine) and エンジニア stay.

Both functions take NFKC-normalised text and return (start, end) spans of the name only, so
the phrase that introduced it stays readable: "my name is [name removed]".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.emotion.japanese import JaToken, tokenize

# --- English ------------------------------------------------------------------------------

# Phrases after which a lowercase word is still a name ("my name is bob").
_STRONG_INTRO = re.compile(
    r"\b(?:my\s+name\s+is|my\s+name['’]?s|name['’]s|my\s+first\s+name\s+is)\s+",
    re.IGNORECASE,
)
# Phrases that introduce a name only when a capitalised word follows ("call me Ishmael",
# "I'm called Kenji", but "call me tomorrow", "I'm called lazy", "they call me crazy").
_WEAK_INTRO = re.compile(
    r"\b(?:i\s+am\s+called|i['’]?m\s+called|i\s+go\s+by|(?:they|people|everyone|you\s+can)"
    r"\s+calls?\s+me|call\s+me)\s+",
    re.IGNORECASE,
)
# "I'm Ben" introduces a name as often as "my name is"; "I'm tired" does not, and the rule
# that the next word must be capitalised (and not a nationality, faith or the like) tells them
# apart. Found in a reply card during the end-to-end test.
_SELF_INTRO = re.compile(r"(?<![\w'’])(?:i['’]?m|i\s+am)\s+", re.IGNORECASE)
_NOT_NAMES_AFTER_I_AM = frozenset(
    """
    i a an american british english scottish welsh irish canadian australian japanese chinese
    korean indian german french spanish italian dutch polish russian ukrainian mexican
    brazilian african asian european muslim christian catholic jewish hindu buddhist atheist
    gay lesbian bi trans queer black white latino latina deaf autistic adhd ok okay fine good
    sorry not so sure glad happy sad tired new back here from in at on with just really
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")

# Words that follow "my name is" without being a name.
_NOT_NAMES = frozenset(
    """
    i im i'm not a an the no nobody none nothing anonymous secret private hidden unknown irrelevant
    unimportant important too so very just really also on in at what who whatever that this
    long short hard weird strange common rare boring ugly funny complicated difficult
    and but because probably actually literally basically still kind sort one something
    here there it its is was be being not
    monday tuesday wednesday thursday friday saturday sunday tomorrow today tonight later
    soon back sometime anytime maybe crazy mom mum dad mommy daddy sir madam miss bro sis
    dude friend buddy babe baby honey ok okay fine whenever if when after before please
    mr mrs ms dr
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
_MAX_NAME_WORDS = 3


def _name_words_at(text: str, pos: int, allow_lowercase: bool) -> tuple[int, int] | None:
    """The span of up to three name words starting at `pos`, or None if none is there."""
    end = None
    cursor = pos
    for index in range(_MAX_NAME_WORDS):
        match = _WORD.match(text, cursor)
        if match is None:
            break
        word = match.group().rstrip(".'’-")
        if not word or word.lower() in _NOT_NAMES:
            break
        if not word[0].isupper() and not (allow_lowercase and index == 0):
            break
        end = match.start() + len(word)
        gap = re.match(r"[ \t]+", text[end:])
        if gap is None:
            break
        cursor = end + gap.end()
    return (pos, end) if end is not None else None


def english_name_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pattern, allow_lowercase in ((_STRONG_INTRO, True), (_WEAK_INTRO, False)):
        for intro in pattern.finditer(text):
            span = _name_words_at(text, intro.end(), allow_lowercase)
            if span is not None:
                spans.append(span)
    for intro in _SELF_INTRO.finditer(text):
        next_word = _WORD.match(text, intro.end())
        if next_word is None:
            continue
        word = next_word.group().rstrip(".'’-")
        # "I am Indian." (the full stop is not part of the word); "I AM CURSED" is shouting.
        if word.lower() in _NOT_NAMES_AFTER_I_AM or (len(word) > 1 and word.isupper()):
            continue
        span = _name_words_at(text, intro.end(), allow_lowercase=False)
        if span is not None:
            spans.append(span)
    return spans


# --- Japanese -----------------------------------------------------------------------------

_FIRST_PERSON = frozenset(
    {"私", "わたし", "わたくし", "僕", "ぼく", "俺", "おれ", "あたし", "自分", "うち"}
)
_NAME_SUFFIXES = frozenset({"さん", "くん", "君", "ちゃん", "様"})
# Words that follow 名前は without being a name (名前は秘密です).
_NOT_JA_NAMES = frozenset(
    {"秘密", "内緒", "不明", "匿名", "非公開", "未定", "なし", "無し", "特に", "ない", "名無し"}
)
_SENTENCE_END = frozenset({"。", "！", "？", "!", "?", "\n"})


def _offsets(text: str, tokens: list[JaToken]) -> list[tuple[int, int]]:
    """Character offsets of each token (fugashi drops whitespace between them)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for token in tokens:
        start = text.find(token.surface, cursor)
        if start < 0:  # should not happen; keep offsets monotone anyway
            start = cursor
        end = start + len(token.surface)
        spans.append((start, end))
        cursor = end
    return spans


def _is_person(token: JaToken) -> bool:
    return token.pos == "名詞" and token.pos2 == "固有名詞" and token.pos3 == "人名"


_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]+$")


def _name_shaped(run: list[JaToken]) -> bool:
    """Tagged as a person's name, or written in kana only (ゆか, マイク): given names often are,
    while the everyday nouns that follow と申します (日本人, 会社員) are in kanji."""
    return all(_is_person(t) for t in run) or bool(
        _KANA_ONLY.match("".join(t.surface for t in run))
    )


def _is_nounish(token: JaToken) -> bool:
    return token.pos in ("名詞", "接尾辞") or (token.pos == "名詞" and token.pos2 == "固有名詞")


def _surfaces(tokens: list[JaToken], i: int, n: int) -> str:
    return "".join(t.surface for t in tokens[i : i + n])


def _intro_ahead(tokens: list[JaToken], i: int) -> str | None:
    """Which name-closing phrase starts at token i: です/だ, と申します, といいます/と呼んで."""
    if i >= len(tokens):
        return "end"
    token = tokens[i]
    if token.surface in _SENTENCE_END or token.pos == "補助記号":
        return "end"
    if token.base in ("です", "だ") or token.surface in ("です", "だ", "でーす", "っす"):
        return "copula"
    if token.surface in ("と", "って"):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is not None and nxt.base in ("申す", "言う", "いう", "呼ぶ"):
            return "moushimasu" if nxt.base == "申す" else "iimasu"
    return None


def _name_runs(tokens: list[JaToken]) -> Iterator[tuple[int, int]]:
    """Maximal runs of noun tokens (token index range), the shape every name has here."""
    i = 0
    while i < len(tokens):
        if _is_nounish(tokens[i]) and tokens[i].pos2 != "数詞":
            j = i
            while j < len(tokens) and _is_nounish(tokens[j]) and tokens[j].pos2 != "数詞":
                j += 1
            yield i, j
            i = j
        else:
            i += 1


def japanese_name_spans(text: str) -> list[tuple[int, int]]:
    tokens = tokenize(text)
    offsets = _offsets(text, tokens)
    spans: list[tuple[int, int]] = []
    for start, end in _name_runs(tokens):
        run = tokens[start:end]
        while run and run[-1].surface in _NAME_SUFFIXES:
            run = run[:-1]
        if not run or len(run) > 4:
            continue
        closing = _intro_ahead(tokens, end)
        before = _surfaces(tokens, max(0, start - 2), min(2, start))
        after_topic = start >= 2 and tokens[start - 1].surface == "は"
        subject = tokens[start - 2].surface if after_topic else ""
        text_of_run = "".join(t.surface for t in run)
        is_name = False
        if before.endswith("名前は") or before.endswith("名前が"):
            # "名前はゆかです": anything noun-shaped that closes the clause, bar 秘密 and co.
            is_name = closing is not None and text_of_run not in _NOT_JA_NAMES
        elif closing in ("moushimasu", "iimasu"):
            # "佐藤と申します", "ケンと呼んでください", but not "日本人と申します".
            is_name = _name_shaped(run) and text_of_run not in _NOT_JA_NAMES
        elif subject in _FIRST_PERSON and closing in ("copula", "end"):
            is_name = all(_is_person(t) for t in run)
        elif closing == "copula" and (start == 0 or tokens[start - 1].surface in _SENTENCE_END):
            # "山田です。よろしくお願いします": a sentence that opens with a name and "です".
            is_name = all(_is_person(t) for t in run)
        if is_name:
            spans.append((offsets[start][0], offsets[start + len(run) - 1][1]))
    return spans
