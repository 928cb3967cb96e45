"""What identifying things look like: the patterns behind `bot.cards.scrub`.

Each finder takes NFKC-normalised text (see `scrub._normalise`) and returns spans with the kind
of thing found; `scrub.find_spans` resolves overlaps and adds introduced names
(`bot.cards.name_intro`). Every pattern here was written against a leave-alone list as much as
a must-remove list (tests/unit/test_scrub_table.py): times, dates, prices, "24/7", percentages,
version numbers and sentences that merely contain "at" or "line:" must come through unchanged.
"""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers


class RemovalKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LINK = "link"
    HANDLE = "handle"
    ID_NUMBER = "id_number"
    NAME = "name"
    ADDRESS = "address"


Span = tuple[int, int, RemovalKind]
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")

# Common top-level domains, without the ones that are everyday English words ("it", "is",
# "in", "at", "to", "me", "so", "no", "my", "us", "am", "be", "do") so "sad.it was" stays.
_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|io|ai|co|app|dev|xyz|online|site|shop|store|blog|"
    "tech|club|live|link|page|cloud|jp|uk|de|fr|es|nl|ru|cn|kr|tw|hk|au|ca|ch|se|fi|dk|pl|"
    "br|mx|ar|nz|za|ly|gg|tv|fm|gl|cc|ws"
)
_TLD_RE = rf"(?:{_TLDS})"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"

# ASCII \w everywhere below: Japanese text runs straight on from an address ("…@mail.comまで").
_FLAGS = re.IGNORECASE | re.ASCII
_EMAIL = re.compile(rf"(?<![\w.+%-])[\w.+%-]{{1,64}}@(?:{_LABEL}\.)+[a-z]{{2,24}}(?![\w-])", _FLAGS)
_AT_BRACKETED = r"(?:\s*[\[\(\{<]\s*at\s*[\]\)\}>]\s*|\s*アットマーク\s*|\s*あっとまーく\s*)"
_DOT_SPELLED = r"(?:\s*[\[\(\{<]\s*dot\s*[\]\)\}>]\s*|\s+dot\s+|\s*ドット\s*)"
_DOT_ANY = rf"(?:{_DOT_SPELLED}|\.)"
_LOCAL = r"(?<![\w.])[a-z0-9][\w.+-]{0,63}"
# "name [at] mail [dot] com" / "name アットマーク mail.com": a bracketed "at" is deliberate.
# "name at mail dot com": a plain "at" only with a spelled "dot" before a known top-level
# domain, so "meet me at example.com" stays a link and "I was at home" stays a sentence.
_OBFUSCATED_EMAIL = re.compile(
    rf"{_LOCAL}{_AT_BRACKETED}{_LABEL}(?:{_DOT_ANY}{_LABEL})*{_DOT_ANY}{_TLD_RE}(?![\w-])"
    rf"|(?P<plain>{_LOCAL})\s+at\s+{_LABEL}(?:{_DOT_ANY}{_LABEL})*{_DOT_SPELLED}{_TLD_RE}"
    rf"(?![\w-])",
    _FLAGS,
)
# Words that stand before a plain "at" in sentences ("I work at Google dot com").
_NOT_LOCAL_PARTS = frozenset(
    {
        *("i", "me", "you", "we", "us", "they", "them", "he", "him", "she", "her", "it"),
        *("was", "is", "am", "are", "be", "been", "were", "still", "now", "there", "here"),
        *("work", "works", "worked", "working", "study", "studied", "stay", "stayed"),
        *("look", "looking", "looked", "meet", "met", "live", "lived", "arrive", "arrived"),
        *("home", "school", "good", "bad", "best", "great"),
    }
)
# URL characters are printable ASCII; a trailing full stop or bracket belongs to the sentence.
_URL_TAIL = r"(?:[!#-;=?-~]*[\w/#=&%~+-])?"
_URL = re.compile(
    r"(?:\b(?:https?|ftp|tg)://|\bwww\.)[!#-;=?-~]*[\w/#=&%~+-]"
    r"|(?<![\w.@-])(?:t|telegram)\.(?:me|dog)/[\w+/-]+",
    _FLAGS,
)
_DOMAIN = re.compile(
    rf"(?<![\w.@/-])(?:{_LABEL}\.)+{_TLD_RE}(?![\w-]|\.[a-z0-9])(?:/{_URL_TAIL})?", _FLAGS
)
_HANDLE = re.compile(r"(?<![\w@.])@[a-z0-9_](?:[a-z0-9_.]{0,30}[a-z0-9_])?(?![\w@])", _FLAGS)
# An account named after its platform, without an "@": "LINE ID: ken1234", "インスタ：ken.t".
_PLATFORM = (
    r"(?:line|insta(?:gram)?|ig|twitter|discord|snap(?:chat)?|tiktok|kik|skype|wechat|kakao|"
    r"telegram|facebook|fb|threads|bluesky|github|ライン|インスタ|ツイッター|ディスコード)"
)
_LABELLED_HANDLE = re.compile(
    rf"(?<![a-z0-9])(?:{_PLATFORM}\s*(?P<idword>id|アカウント|account|handle|username)?"
    r"|(?:user)?\s*id)\s*(?:[:=]|は|is|：)\s*@?(?P<handle>[a-z0-9_][a-z0-9_.#-]{2,31})"
    r"(?![a-z0-9_])",
    re.IGNORECASE,
)


# Phone shapes the library calls invalid but people still write (fictional 555 numbers, UK
# mobiles without a country code) and international "+" numbers of any country.
_PHONE_SHAPES = re.compile(
    r"(?<![\w+.,/-])(?:"
    r"\+\d{1,3}[ .-]?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,5}){1,4}"  # +44 20 7946 0958
    r"|(?:1[ .-])?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}"  # (415) 555-0123, 1-800-555-0199
    r"|(?P<local>\d{3}-\d{4})"  # 555-0123: a US local number (in Japanese text, a postcode)
    r"|0\d{1,4}-\d{1,4}-\d{3,4}"  # 090-1234-5678, 03-1234-5678, 0120-123-456
    r"|07\d{3} ?\d{6}"  # 07700 900123
    r")(?![\w-]|[.,/]\d)",
    re.ASCII,
)
_PHONE_REGIONS = ("US", "GB", "JP")

# A run of digits (optionally grouped by single hyphens, or spaces between 4-digit groups as
# on cards) with at least 7 digits in all: account numbers, member ids, card numbers.
_DIGIT_RUN = re.compile(
    r"(?<![\w.,/:+-])(?:\d{4}(?: \d{4}){2,3}|\d{2,}(?:-\d{2,})*)(?![\w-]|[.,/:]\d)",
    re.ASCII,
)
_DATE_OR_RANGE = re.compile(
    r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{4}|(?:19|20)\d\d-(?:(?:19|20)?\d\d)"
    r"|(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))$"
)
_MONEY_BEFORE = re.compile(r"[$¥€£₩￥]\s*$")
_MONEY_AFTER = re.compile(r"^\s*(?:円|万|億|ドル|yen|dollars?|usd|jpy|eur|gbp|%|％)", re.I)


def _digits(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _is_money_or_date(norm: str, start: int, end: int) -> bool:
    raw = norm[start:end]
    return bool(
        _DATE_OR_RANGE.match(raw)
        or _MONEY_BEFORE.search(norm[max(0, start - 3) : start])
        or _MONEY_AFTER.match(norm[end : end + 8])
    )


def _phone_spans(norm: str) -> list[Span]:
    spans: list[Span] = []
    if _digits(norm) < 7:
        return spans
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            norm, region, leniency=phonenumbers.Leniency.VALID
        ):
            if ":" in match.raw_string or _DATE_OR_RANGE.match(match.raw_string):
                continue
            spans.append((match.start, match.end, RemovalKind.PHONE))
    japanese = bool(JAPANESE.search(norm))
    for m in _PHONE_SHAPES.finditer(norm):
        if m["local"] and (japanese or norm[max(0, m.start() - 1) : m.start()] == "〒"):
            continue
        if _digits(m.group()) >= 7 and not _is_money_or_date(norm, m.start(), m.end()):
            spans.append((m.start(), m.end(), RemovalKind.PHONE))
    return spans


def _id_spans(norm: str) -> list[Span]:
    spans: list[Span] = []
    for m in _DIGIT_RUN.finditer(norm):
        if _digits(m.group()) >= 7 and not _is_money_or_date(norm, m.start(), m.end()):
            spans.append((m.start(), m.end(), RemovalKind.ID_NUMBER))
    return spans


def _obfuscated_email_spans(norm: str) -> list[Span]:
    return [
        (m.start(), m.end(), RemovalKind.EMAIL)
        for m in _OBFUSCATED_EMAIL.finditer(norm)
        if not (m["plain"] and m["plain"].lower() in _NOT_LOCAL_PARTS)
    ]


_AMBIGUOUS_LABELS = ("line", "id", "user", "threads", "ig", "fb")


def _looks_like_account(m: re.Match[str], handle: str) -> bool:
    """Whether a labelled word is an account name rather than the rest of a sentence.

    "instagram: kenny" and "LINE ID: ken" are; "LINE is fun", "the first line: hello" and
    "my id is nothing special" are not. A name that looks made up (a digit, "_" or an inner
    ".") always counts; a plain word only after an unambiguous label and ":" or "=".
    """
    if re.search(r"[\d_]|\.\w", handle):
        return True
    label = m.group()[: m.start("handle") - m.start()].strip()
    separator_is_word = bool(re.search(r"\bis\s*@?$", label, re.IGNORECASE))
    if separator_is_word:
        return False
    if m["idword"]:
        return True
    lowered = label.lower()
    ambiguous = lowered.startswith(_AMBIGUOUS_LABELS) and not label.startswith(("LINE", "ID"))
    return not ambiguous


def _labelled_handle_spans(norm: str) -> list[Span]:
    """The account name only, so "LINE ID: [handle removed]" still reads naturally."""
    spans: list[Span] = []
    for m in _LABELLED_HANDLE.finditer(norm):
        handle = m["handle"].rstrip(".-")
        if handle.isdigit():  # numbers are the id rule's
            continue
        if not _looks_like_account(m, handle):
            continue
        spans.append((m.start("handle"), m.start("handle") + len(handle), RemovalKind.HANDLE))
    return spans


def _regex_spans(pattern: re.Pattern[str], norm: str, kind: RemovalKind) -> list[Span]:
    return [(m.start(), m.end(), kind) for m in pattern.finditer(norm)]


def pattern_spans(norm: str) -> list[Span]:
    """Every email, link, phone number, handle and id-like number (overlaps not resolved)."""
    return [
        *_regex_spans(_EMAIL, norm, RemovalKind.EMAIL),
        *_obfuscated_email_spans(norm),
        *_regex_spans(_URL, norm, RemovalKind.LINK),
        *_regex_spans(_DOMAIN, norm, RemovalKind.LINK),
        *_phone_spans(norm),
        *_regex_spans(_HANDLE, norm, RemovalKind.HANDLE),
        *_labelled_handle_spans(norm),
        *_id_spans(norm),
    ]
