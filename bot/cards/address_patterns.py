"""Street addresses and postcodes, English and Japanese, for `bot.cards.scrub`.

A town on its own ("I moved to Leeds", "東京に住んでる") is not an address: it is the
author's choice to mention it, and `bot.cards.identifying` lets the preview warn about it. What
is masked is what points at a door: a house number with a street ("14 Elm Street", "221B Baker
St"), a flat ("Apt 4"), a postcode ("LS6 2AB", "Springfield, IL 62704", "〒123-4567"), a
Japanese block address (丁目/番地/番/号, or a 1-2-3 number after a town), a prefecture with its
city or ward ("東京都新宿区…"), and whatever follows a "住所は" / "address:" label up to the end of
its clause. A town written right before a postcode belongs to the address ("Leeds LS6 2AB"),
and address parts that touch ("14 Elm Street, Leeds LS6 2AB") become one span, so the reader
sees one "[address removed]".

Leave-alone cases the patterns were written against (tests/unit/test_scrub_address.py): times,
prices, "2 way street", "3番目", "1号車", "a 5 star hotel", "page 12", "(2019)".

Every finder takes NFKC-normalised text (see `scrub._normalise`) and returns spans.
"""

from __future__ import annotations

import re

from bot.cards.pii_patterns import RemovalKind, Span

# --- English ------------------------------------------------------------------------------

_STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Crescent|Cres|Place|Pl|"
    "Terrace|Boulevard|Blvd|Gardens|Grove|Square|Sq|Hill|Row|Mews|Parade|Walk|Highway|Hwy|"
    "Parkway|Pkwy|Circle|Cir|Park|Green|Rise|View|Vale|Wharf|Yard"
)
# "14 Elm Street", "221B Baker St", "3a High St.", "1600 Pennsylvania Avenue NW". The street's
# name words are capitalised (so "a 2 way street" and "5 long days" stay); the long street
# words may follow a lowercase name too ("14 elm street").
_STREET = re.compile(
    rf"(?<![\w.,/:-])\d{{1,5}}[A-Za-z]?(?:[-/]\d{{1,4}}[A-Za-z]?)?,?\s+"
    rf"(?:(?:[A-Z][a-z'’]+|[A-Z]{{2,}}|\d{{1,3}}(?:st|nd|rd|th))\s+){{1,3}}"
    rf"(?:{_STREET_TYPES})\b\.?(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    r"|(?<![\w.,/:-])\d{1,5}[a-z]?\s+(?:[a-z]{3,}\s+){1,2}"
    r"(?:street|road|avenue|crescent|terrace|boulevard)\b",
    re.ASCII,
)
_LOWER_STREET_NOT_NAMES = frozenset(
    """
    way one two the and more other lane long mile miles dead hour hours minute minutes min
    mins day days week weeks month months year years km kms hr hrs lane lanes hard bumpy
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
# "Apt 4", "Flat 2B", "apartment #12", "Unit 5", "Suite 300", "PO Box 123".
_FLAT = re.compile(
    r"\b(?:(?:apt|apartment|flat|room|rm)\.?|Unit|Suite|Ste\.?|P\.?O\.? Box)\s*#?\s*"
    r"\d{1,5}[A-Za-z]?\b"
    r"(?!\s*(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|times?|people|of)\b)",
    re.IGNORECASE | re.ASCII,
)
# UK postcodes are written in capitals ("LS6 2AB", "SW1A 1AA", "M1 1AE"); a lowercase
# "ls6 2ab" is rare, and "a1 2bc" in a sentence is more often something else.
_UK_POSTCODE = re.compile(
    r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}\b",
    re.ASCII,
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|"
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
# A ZIP code only after a state ("IL 62704", "NY 10001-1234"): a five-digit number alone is
# as often a price, a count or a year range.
_US_ZIP = re.compile(rf"\b(?:{_US_STATES}),?\s+\d{{5}}(?:-\d{{4}})?\b", re.ASCII)
# The town before a postcode belongs to the address: "Leeds LS6 2AB", "Springfield, IL".
_TOWN_BEFORE = re.compile(r"(?:[A-Z][a-z'’-]+\s+){0,1}[A-Z][a-z'’-]+,?\s+$")
_ADDRESS_LABEL = re.compile(
    r"\b(?:my\s+)?(?:home\s+|postal\s+|street\s+)?address\s*(?:is|:)\s*", re.IGNORECASE
)
_CLAUSE_END = re.compile(r"[.!?;\n]\s|[.!?;\n]$|\s(?:and|but|so|if)\s|$")


def _english_spans(norm: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _STREET.finditer(norm):
        words = m.group().split()
        if m.group()[-1].islower() and any(w in _LOWER_STREET_NOT_NAMES for w in words[1:-1]):
            continue
        spans.append((m.start(), m.end()))
    spans.extend((m.start(), m.end()) for m in _FLAT.finditer(norm))
    for pattern in (_UK_POSTCODE, _US_ZIP):
        for m in pattern.finditer(norm):
            town = _TOWN_BEFORE.search(norm, 0, m.start())
            start = town.start() if town is not None and town.end() == m.start() else m.start()
            spans.append((start, m.end()))
    for label in _ADDRESS_LABEL.finditer(norm):
        end = _CLAUSE_END.search(norm, label.end())
        stop = end.start() if end is not None else len(norm)
        # "my address is 3 the crescent" but not "my address is not something I share".
        if stop - label.end() >= 4 and re.search(r"\d", norm[label.end() : stop]):
            spans.append((label.end(), min(stop, label.end() + 80)))
    return spans


# --- Japanese -----------------------------------------------------------------------------

_PREFECTURES = (
    "北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|"
    "東京都|神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|"
    "滋賀県|京都府|大阪府|兵庫県|奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|"
    "香川県|愛媛県|高知県|福岡県|佐賀県|長崎県|熊本県|大分県|宮崎県|鹿児島県|沖縄県"
)
_JA_NAME = r"[\u4e00-\u9fff\u3005\u30a1-\u30faー]{1,6}?"
# A district's name may have kana in it: "美しが丘", "ひばりが丘".
_JA_DISTRICT = r"[\u3041-\u3096\u4e00-\u9fff\u3005\u30a1-\u30faー]{1,8}?"
# A municipality: "新宿区", "大阪市", "札幌市中央区", "さいたま市", "西多摩郡日の出町".
_JA_TOWN = rf"(?:(?:{_JA_NAME}|さいたま)(?:市|区|郡))(?:{_JA_NAME}(?:区|町|村))?"
# A block number: "2丁目8番1号", "2丁目8-1", "8番地", "8番1号", "2-8-1", "北1条西2丁目".
_JA_BLOCK = (
    r"(?:(?:[東西南北]?\d{1,3}条)?(?:[東西南北]?\d{1,4}丁目)(?:\s*\d{1,4}(?:番地?|-))?"
    r"(?:\s*\d{1,4}(?:号|-\d{1,4})?)?"
    r"|\d{1,5}番地(?:\s*\d{1,4}号?)?|\d{1,4}番\d{1,4}号|\d{1,4}-\d{1,4}(?:-\d{1,4})?)"
)
_JA_ADDRESS = re.compile(
    # prefecture + town (+ district and block): "東京都新宿区西新宿2丁目8番1号"
    rf"(?:{_PREFECTURES})(?:{_JA_TOWN})(?:(?:{_JA_NAME})?{_JA_BLOCK})?"
    # town + district name + block: "大阪市北区梅田1-2-3", "横浜市青葉区美しが丘1-2-3"
    rf"|(?:{_JA_TOWN})(?:{_JA_DISTRICT})?{_JA_BLOCK}"
    # a block address on its own, when it has 丁目 or 番地 or 番…号: "2丁目8番1号"
    r"|(?<![\d-])(?:\d{1,4}丁目(?:\d{1,4}(?:番地?|-))?(?:\d{1,4}号?)?"
    r"|\d{1,5}番地(?:\d{1,4}号?)?|\d{1,4}番\d{1,4}号)"
)
# 〒123-4567, 〒1234567, 郵便番号123-4567.
_JA_POSTCODE = re.compile(
    r"〒\s*\d{3}-?\d{4}(?!\d)|(?<=郵便番号)\s*(?:は|:)?\s*(?P<code>\d{3}-?\d{4})(?!\d)"
)
# "住所は…", "住所：…" up to the end of the clause.
_JA_LABEL = re.compile(r"住所\s*(?:は|:|が)\s*")
_JA_NOT_ADDRESSES = ("秘密", "内緒", "非公開", "言え", "教え", "ない", "不明", "未定")
_JA_CLAUSE_END = re.compile(r"です|でした|だよ|だ。|だ$|まで|に住|にあ|[、。!?\n]|$")


def _japanese_spans(norm: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _JA_ADDRESS.finditer(norm)]
    for label in _JA_LABEL.finditer(norm):
        end = _JA_CLAUSE_END.search(norm, label.end())
        stop = end.start() if end is not None else len(norm)
        if stop > label.end() and not norm[label.end() : stop].startswith(_JA_NOT_ADDRESSES):
            spans.append((label.end(), min(stop, label.end() + 60)))
    return spans


# --- both ---------------------------------------------------------------------------------

_JOINER = re.compile(r"^[\s,、，]*$")


def _merge(spans: list[tuple[int, int]], norm: str) -> list[tuple[int, int]]:
    """Overlapping spans, and spans with only a comma or spaces between them, become one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or _JOINER.match(norm[merged[-1][1] : start])):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def address_spans(norm: str, japanese: bool) -> list[Span]:
    """Street addresses, flats and postcodes in normalised text, one span per address."""
    found = _english_spans(norm)
    # 〒 is not in the Japanese-script test, and "〒123-4567" is often written alone.
    found.extend(m.span("code") if m["code"] else m.span() for m in _JA_POSTCODE.finditer(norm))
    if japanese:
        found.extend(_japanese_spans(norm))
    return [(s, e, RemovalKind.ADDRESS) for s, e in _merge(found, norm) if e > s]
