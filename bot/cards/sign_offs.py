"""Names in sign-offs ("Love, Mia Kowalski", "- Sophie (sunny_sophie)", "山田より").

People close a letter with their name out of habit, and a card reads like a letter. A sign-off
is recognised only where one stands: on the text's last line or as its last sentence, after a
closing word ("Love,", "Cheers", "xx", "Best wishes", "Thanks") or a dash, with nothing after
the name but punctuation, kisses or emoji. There the next one to three capitalised words are a
name ("Cheers, J." counts: an initial is a name too), and a handle in brackets after the name
("(sunny_sophie)") is a username; with such a handle, a dash after the last sentence on the
same line signs too ("It gets better. - Sophie (sunny_sophie)"). Japanese: a last line
"<名前>より" / "<名前>から", where the name is tagged 人名 by UniDic or written in kana only
(ゆかより), and not a pronoun (それより).

What is not a sign-off: "Thanks everyone", "Love you all", "xx" alone, "- me", and "より" in a
comparison mid-text ("昨日より今日の方がいい").

Both functions take NFKC-normalised text and return (start, end, kind) spans of the name only,
so the closing word stays: "Love, [name removed]".
"""

from __future__ import annotations

import re

from bot.cards.pii_patterns import RemovalKind, Span
from bot.emotion.japanese import tokenize

# Closings that are a signature's own words: "Love Mia", "xx Tom", "Cheers Sam".
_KISSES = r"lots\s+of\s+love|all\s+my\s+love|much\s+love|love|cheers|hugs|big\s+hugs|xoxo|x{1,4}"
# Closings that also end ordinary sentences ("Thanks China.", "Thank you OP"): a signature
# only with a comma or a line break before the name ("Thanks,\nMia", "Best wishes, Sam").
_FORMAL = (
    r"thanks|thank\s+you|many\s+thanks|best\s+wishes|best|warm\s+regards|kind\s+regards|"
    r"regards|warmly|take\s+care|yours(?:\s+truly)?|sincerely|peace|stay\s+strong|from"
)
_CLOSINGS = rf"{_KISSES}|{_FORMAL}"
# What may follow a signature: punctuation, kisses, hearts, emoji and ":)".
_TAIL = r"(?:[\s.!,~x♡♥❤\ufe0f*\u2600-\u27bf\U0001f300-\U0001faff]|:-?[)D])*"
_LINE_BREAK = r"[ \t]*[,!.:]?[ \t]*\n[ \t]*"
# The closing word starts a line or follows a sentence end; the name runs to the end of text.
_SIGN_OFF = re.compile(
    rf"(?:^|\n|[.!?]\s+)[ \t]*(?:(?:{_KISSES})(?:{_LINE_BREAK}|[ \t]*[,!.:][ \t]*|[ \t]+)"
    rf"|(?:{_FORMAL})(?:{_LINE_BREAK}|[ \t]*,[ \t]*))"
    r"(?P<name>(?:[A-Z][\w'’-]*\.?[ \t]*){1,3}?)"
    r"(?:[ \t]*\((?P<handle>@?[A-Za-z][\w.]{2,31})\))?"
    rf"(?P<tail>{_TAIL})$",
    re.IGNORECASE,
)
# A dash signature starts its own line ("- Sophie"); a dash mid-line is punctuation.
_DASH_SIGN_OFF = re.compile(
    r"(?:^|\n)[ \t]*[-~][ \t]*"
    r"(?P<name>(?:[A-Z][\w'’-]*\.?[ \t]*){1,3}?)"
    r"(?:[ \t]*\((?P<handle>@?[A-Za-z][\w.]{2,31})\))?"
    rf"(?P<tail>{_TAIL})$",
)
# After the last sentence on the same line, a dash and a name are a signature only with a
# handle in brackets ("It gets better. - Sophie (sunny_sophie)"), since "be polite. - Walk
# Away." is a sentence.
_DASH_HANDLE_SIGN_OFF = re.compile(
    r"[.!?][ \t]+[-~][ \t]*"
    r"(?P<name>(?:[A-Z][\w'’-]*\.?[ \t]*){1,3}?)"
    r"[ \t]*\((?P<handle>@?[A-Za-z][\w.]{2,31})\)"
    rf"(?P<tail>{_TAIL})$",
)
# For `bot.cards.author_names`: a closing (or dash) just before a position, on its line...
CLOSING_BEFORE = re.compile(
    rf"(?:^|\n|[.!?]\s+)[ \t]*(?:(?:{_CLOSINGS})[ \t]*[,!.:]?|[-~])[ \t]*\n?[ \t]*$",
    re.IGNORECASE,
)
# ... and nothing but punctuation, kisses or emoji after it.
TAIL_AFTER = re.compile(rf"{_TAIL}$")
# Words that follow a closing without being the writer's name.
_NOT_SIGN_OFF_NAMES = frozenset(
    """
    everyone everybody all you guys y'all folks team friend friends stranger strangers me
    myself always anyway again so for to the a an and or my your our reading listening god
    lord mate x xx xxx love hugs thanks thank cheers soon later tomorrow today forever more
    i it this that there here please ok okay yes no nothing none everything
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)


def _name_span(m: re.Match[str]) -> tuple[int, int] | None:
    name = m["name"].rstrip()
    if not name:
        return None
    words = [w.rstrip(".") for w in name.split()]
    if any(w.lower() in _NOT_SIGN_OFF_NAMES for w in words):
        return None
    if not all(w[:1].isupper() for w in words):
        return None
    # A full stop ends a name ("- Jannat Al-Firdaus. Ameen."), bar an initial ("J. Smith").
    if any(w.endswith(".") and len(w.rstrip(".")) > 1 for w in name.split()[:-1]):
        return None
    # Capitals-only words are acronyms or shouting ("Thank you, OP", "I AM CURSED").
    if any(len(w) > 1 and w.isupper() for w in words):
        return None
    # "Thanks. I" or a shouted sentence ("LOVE YOU") is not a name.
    if len(words) == 1 and len(words[0]) == 1 and not name.endswith(".") and words[0] == "I":
        return None
    end = m.start("name") + len(name)
    if name.endswith(".") and len(words[-1]) > 1:  # "Mia." keeps its full stop outside
        end -= 1
    return (m.start("name"), end)


def _handle_ok(handle: str) -> bool:
    """A bracketed word after a name is a username when it looks made up: "_" or digits."""
    return bool(re.search(r"[_\d]|^@", handle)) and not handle.isdigit()


def english_sign_off_spans(norm: str) -> list[Span]:
    spans: list[Span] = []
    for pattern in (_SIGN_OFF, _DASH_SIGN_OFF, _DASH_HANDLE_SIGN_OFF):
        for m in pattern.finditer(norm):
            name = _name_span(m)
            if name is None:
                continue
            if pattern is _DASH_HANDLE_SIGN_OFF and not _handle_ok(m["handle"]):
                continue
            spans.append((*name, RemovalKind.NAME))
            if m["handle"] and _handle_ok(m["handle"]):
                spans.append((m.start("handle"), m.end("handle"), RemovalKind.HANDLE))
    return spans


_JA_SIGN_OFF = re.compile(
    r"(?:^|\n|[。!?]\s*)[ \t]*(?P<name>[^\s。、!?]{1,12}?)(?:より|から)[\s。!♡]*$"
)
_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ffー]+$")
# Kana words that close a message with "より" without naming anyone ("from everyone").
_NOT_JA_SIGNERS = frozenset({"みんな", "みなさん", "ママ", "パパ", "おかあさん", "おとうさん"})


def japanese_sign_off_spans(norm: str) -> list[Span]:
    m = _JA_SIGN_OFF.search(norm)
    if m is None:
        return []
    tokens = tokenize(m["name"])
    if not tokens or any(t.pos in ("代名詞", "副詞", "連体詞", "助詞", "動詞") for t in tokens):
        return []
    person = all(t.pos2 == "固有名詞" and t.pos3 == "人名" for t in tokens)
    if person or (_KANA_ONLY.match(m["name"]) and m["name"] not in _NOT_JA_SIGNERS):
        return [(m.start("name"), m.end("name"), RemovalKind.NAME)]
    return []
