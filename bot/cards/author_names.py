"""The author's own names, and usernames written without "@", for `bot.cards.scrub`.

The channel passes the names the author has *now* (Telegram's first name, last name and
username: `bot.domain.AuthorNames`); they are used here to mask and are never stored, logged or
put in an exception. A name is found case-insensitively, on word boundaries for names in Latin
(or any spaced) script, and on UniDic token boundaries for Japanese names, so "ゆか" masks
"ゆかです" but not "ゆかた".

The rule for names that are also everyday words. A first name "Will" or "Hope" must not
mask "I will" or "there is hope". A name word in `EVERYDAY_NAME_WORDS` (Will, Hope, Grace,
May, Mark, Rose, Sunny, Young, Long, ...) is masked only where it is name-like:
- written capitalised (not all capitals) and not the first word of a sentence ("I told Will",
  but not "Will you help?" or "Hope so."), or
- in a sign-off, as the text's last word after a closing or a dash ("love, will", "- hope"),
  or after an introduction ("my name is will", found by `bot.cards.name_intro`).
Every other name ("Mia", "Kowalski", "sunny_sophie") is masked wherever it stands, in any case.
A one-letter name, or a one-character Japanese name, is left to the sign-off and introduction
finders: on its own it would mask every "a" or "愛".

Usernames written without "@": the author's own username anywhere (as a handle), and any
handle-shaped word that a person would not write in a sentence: one with an underscore
between letters ("sunny_sophie"), or letters with digits inside brackets ("(sophie92)").

All functions take NFKC-normalised text and return (start, end, kind) spans.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from bot.cards.pii_patterns import JAPANESE, RemovalKind, Span
from bot.cards.sign_offs import CLOSING_BEFORE, TAIL_AFTER
from bot.domain import AuthorNames
from bot.emotion.japanese import tokenize

# First names and surnames that are also ordinary English words (written against the leave-
# alone list in tests/unit/test_scrub_author_names.py), and words people put in Telegram's
# name field instead of a name ("me", "Anonymous", "tired"). Not exhaustive: a name missing
# here is masked everywhere, which errs on the private side.
EVERYDAY_NAME_WORDS = frozenset(
    """
    will hope grace faith joy may june april august summer autumn winter dawn sky sunny rain
    river storm mark bill frank rose lily ivy iris daisy holly violet hazel olive heather
    ruby amber pearl jade crystal ginger honey candy brandy misty rusty sandy chase hunter
    miles reed wade drew guy ray rob pat sue jack dick don bob art max ben gene jean rich
    young long little king white black brown green gray grey bell cook baker hill wood woods
    moore stone rock brook brooks field fields street lane page love happy angel baby star
    trust mercy patience charity honor honour justice glory harmony melody destiny serenity
    hero bishop parker porter carter fisher hunt price cash penny rich noble sharp strong
    i me my you he she we they it the a an and or but not no yes so just myself someone
    nobody anonymous anon user sad tired lonely lost happy hi hey hello
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？\n:;\"“”(])[\s\"“”'‘’(*-]*$")


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def _name_words(names: AuthorNames) -> Iterator[str]:
    """Each name, and each word of a name, of two characters or more."""
    for raw in (names.first_name, names.last_name):
        if not raw:
            continue
        value = _norm(raw)
        words = [w for w in re.split(r"[\s,]+", value) if w]
        if len(words) > 1:
            yield value
        for word in words:
            stripped = word.strip(".'’-")
            if len(stripped) >= 2:
                yield stripped


def _everyday_is_name_like(norm: str, start: int, end: int) -> bool:
    found = norm[start:end]
    capitalised = found[0].isupper() and not (found.isupper() and len(found) > 1)
    if capitalised and not _SENTENCE_START.search(norm, 0, start):
        return True
    return bool(CLOSING_BEFORE.search(norm, 0, start) and TAIL_AFTER.match(norm, end))


def _token_bounds(norm: str) -> tuple[set[int], set[int]]:
    starts: set[int] = set()
    ends: set[int] = set()
    cursor = 0
    for token in tokenize(norm):
        start = norm.find(token.surface, cursor)
        if start < 0:
            continue
        starts.add(start)
        ends.add(start + len(token.surface))
        cursor = start + len(token.surface)
    return starts, ends


def _japanese_name_spans(norm: str, name: str) -> list[Span]:
    hits = [m.start() for m in re.finditer(re.escape(name), norm)]
    if not hits:
        return []
    starts, ends = _token_bounds(norm)
    return [
        (s, s + len(name), RemovalKind.NAME) for s in hits if s in starts and s + len(name) in ends
    ]


def author_name_spans(norm: str, names: AuthorNames | None) -> list[Span]:
    """Where the author's own first name, last name and username appear in their text."""
    if names is None:
        return []
    spans: list[Span] = []
    for name in dict.fromkeys(_name_words(names)):
        if JAPANESE.search(name):
            spans.extend(_japanese_name_spans(norm, name))
            continue
        everyday = name.lower() in EVERYDAY_NAME_WORDS
        pattern = re.compile(rf"(?<![\w@]){re.escape(name)}(?![\w])", re.IGNORECASE)
        for m in pattern.finditer(norm):
            if everyday and not _everyday_is_name_like(norm, m.start(), m.end()):
                continue
            spans.append((m.start(), m.end(), RemovalKind.NAME))
    if names.username:
        username = _norm(names.username).lstrip("@")
        if len(username) >= 2:
            pattern = re.compile(rf"(?<![\w@.])@?{re.escape(username)}(?![\w])", re.IGNORECASE)
            everyday = username.lower() in EVERYDAY_NAME_WORDS
            for m in pattern.finditer(norm):
                if everyday and not _everyday_is_name_like(norm, m.start(), m.end()):
                    continue
                spans.append((m.start(), m.end(), RemovalKind.HANDLE))
    return spans


# "sunny_sophie", "mia_k_99": an underscore between letters or digits is a username's mark.
# At least four characters, so an emoticon ("O_o", "T_T") stays.
_UNDERSCORED = re.compile(
    r"(?<![\w@./:#\[-])(?=[A-Za-z0-9_]{4})"
    r"[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9](?![\w@-]|\.\w)",
    re.ASCII,
)
# "(sophie92)", "(@ken1234)": letters and at least two digits, alone in brackets.
_BRACKETED = re.compile(
    r"[(（]\s*(?P<handle>@?[A-Za-z][A-Za-z.]{1,}\d{2,}[A-Za-z0-9]*)\s*[)）]", re.ASCII
)


def bare_handle_spans(norm: str) -> list[Span]:
    """Handle-shaped words written without "@", whoever they belong to."""
    spans: list[Span] = [
        (m.start(), m.end(), RemovalKind.HANDLE) for m in _UNDERSCORED.finditer(norm)
    ]
    spans.extend(
        (m.start("handle"), m.end("handle"), RemovalKind.HANDLE) for m in _BRACKETED.finditer(norm)
    )
    return spans
