"""Remove what could identify a card's author before anyone else sees the card.

Seed 1 §3.4 promises "content-based anonymity (Level 3): no identifiable info shared", and the
anonymity rules (docs/architecture.md) list what a card may never carry: emails, phone numbers,
links, @handles, ids and names. `scrub()` finds those and replaces each with a mask in the card's
language ("[email removed]" / "［メール削除］", from the language pack's prompts/<code>/scrub.yaml),
so a reader still sees that something was there and the author is told, by kind and count only,
what was taken out (`ScrubResult.summary`).

How it finds them (patterns in `bot.cards.pii_patterns`):
- All matching runs on a per-character NFKC copy of the text, so full-width ＠, ０９０ and ．
  are found like their ASCII forms; spans map back to the original characters.
- Phone numbers: Google's `phonenumbers` (valid numbers for US, GB and JP, and any "+"
  international number) plus a few shapes the library calls invalid but people write anyway
  (fictional 555 numbers, UK mobiles). Times, dates, prices and year ranges are left alone.
- Accounts: "@name", and a name after a platform label ("LINE ID: …", "instagram: …").
- Names introduced as names: English phrases ("my name is", "call me") and Japanese ones
  ("名前は…", "…と申します", "私は<人名>です") in `bot.cards.name_intro`.
- Street addresses and postcodes (EN and JA: "14 Elm Street", "LS6 2AB", "〒123-4567",
  "2丁目8番1号", "東京都新宿区…", "住所は…") in `bot.cards.address_patterns`.
- Names in sign-offs ("Love, Mia Kowalski", "- Sophie (sunny_sophie)", "山田より") in
  `bot.cards.sign_offs`.
- The author's own first name, last name and username, when the channel passes them, and
  handle-shaped words without "@" ("sunny_sophie") in `bot.cards.author_names`.
- Organisation and place names are *not* masked (mentioning them is the author's choice);
  `bot.cards.identifying.identifying_names` lists them so the preview can warn.
- Removing one thing can join its neighbours into something new, so scrubbing repeats until a
  pass finds nothing (a fixed point): `scrub(scrub(x).text).text == scrub(x).text`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from bot.cards.address_patterns import address_spans
from bot.cards.author_names import author_name_spans, bare_handle_spans
from bot.cards.name_intro import english_name_spans, japanese_name_spans
from bot.cards.pii_patterns import JAPANESE, RemovalKind, Span, pattern_spans
from bot.cards.sign_offs import english_sign_off_spans, japanese_sign_off_spans
from bot.domain import AuthorNames
from bot.languages import registry
from bot.yaml_files import read_yaml

__all__ = ["MASKS", "Removal", "RemovalKind", "ScrubResult", "find_spans", "scrub"]


# When two findings overlap the longer one wins, so a link takes an address inside it whole
# ("https://x.com/?u=a@b.com") and "john [at] gmail.com" is an email, not a link; on a tie,
# the earlier kind here wins.
_PRIORITY: tuple[RemovalKind, ...] = (
    RemovalKind.LINK,
    RemovalKind.EMAIL,
    RemovalKind.PHONE,
    RemovalKind.HANDLE,
    RemovalKind.ADDRESS,
    RemovalKind.ID_NUMBER,
    RemovalKind.NAME,
)


class ScrubTexts(BaseModel):
    """prompts/<code>/scrub.yaml: the masks put where something was removed, and the summary the
    author is told (by kind and count only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    masks: dict[RemovalKind, str]
    nouns: dict[RemovalKind, tuple[str, str]]  # singular, plural
    summary: str
    item: str
    separator: str

    @model_validator(mode="after")
    def _every_kind(self) -> ScrubTexts:
        for name in ("masks", "nouns"):
            missing = set(RemovalKind) - set(getattr(self, name))
            if missing:
                raise ValueError(f"{name} lacks {sorted(k.value for k in missing)}")
        return self

    def describe(self, counts: dict[RemovalKind, int]) -> str:
        parts = [
            self.item.format(count=n, noun=self.nouns[k][0] if n == 1 else self.nouns[k][1])
            for k, n in counts.items()
        ]
        return self.summary.format(items=self.separator.join(parts))


@cache
def _scrub_texts(path: Path) -> ScrubTexts:
    return ScrubTexts.model_validate(read_yaml(path))


def scrub_texts(language: str) -> ScrubTexts:
    """The pack's masks and summary wording (the default language's for a code without a pack)."""
    languages = registry()
    pack = languages.get(language if language in languages else languages.default)
    return _scrub_texts(pack.path(pack.manifest.scrub))


class _Masks(Mapping[str, dict[RemovalKind, str]]):
    """Every pack's masks by language code, read from the packs when asked."""

    def __getitem__(self, language: str) -> dict[RemovalKind, str]:
        if language not in registry():
            raise KeyError(language)
        return dict(scrub_texts(language).masks)

    def __iter__(self) -> Iterator[str]:
        return iter(registry().codes)

    def __len__(self) -> int:
        return len(registry().codes)


MASKS: Mapping[str, dict[RemovalKind, str]] = _Masks()


@dataclass(frozen=True, slots=True)
class Removal:
    """One thing taken out. Deliberately holds no copy of the removed value."""

    kind: RemovalKind


@dataclass(frozen=True, slots=True)
class ScrubResult:
    text: str
    removed: tuple[Removal, ...]

    def counts(self) -> dict[RemovalKind, int]:
        counter = Counter(r.kind for r in self.removed)
        return {kind: counter[kind] for kind in RemovalKind if counter[kind]}

    def summary(self, lang: str = "en") -> str:
        """What was removed, by kind and count, for telling the author; "" when nothing was."""
        counts = self.counts()
        if not counts:
            return ""
        return scrub_texts(lang).describe(counts)


# --- normalisation ------------------------------------------------------------------------

_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))


def _normalise(text: str) -> tuple[str, list[int]]:
    """NFKC per character (so offsets map back) with dash look-alikes folded to "-".

    Returns the normalised text and, for each of its characters, the index of the original
    character it came from.
    """
    chunks: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch.isdecimal():  # any script's digits: ٠١٢ and ０１２ are digits of a phone too
            folded = str(unicodedata.decimal(ch))
        else:
            folded = unicodedata.normalize("NFKC", ch).translate(_DASHES)
        chunks.append(folded)
        origin.extend([i] * len(folded))
    norm = "".join(chunks)
    # The long-vowel mark ー is typed as a hyphen inside phone numbers: 090ー1234ー5678.
    norm = re.sub(r"(?<=\d)[ー-](?=\d)", "-", norm)
    return norm, origin


def _all_masks() -> re.Pattern[str]:
    """Every pack's masks (normalised): a mask already in a text is never scrubbed again."""
    masks = {unicodedata.normalize("NFKC", m) for ms in MASKS.values() for m in ms.values()}
    return _mask_pattern(tuple(sorted(masks)))


@cache
def _mask_pattern(masks: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(mask) for mask in masks))


def find_spans(norm: str, author_names: AuthorNames | None = None) -> list[Span]:
    """Every finding in normalised text, overlaps resolved (longer, then higher priority, wins)."""
    protected = [(m.start(), m.end()) for m in _all_masks().finditer(norm)]
    japanese = bool(JAPANESE.search(norm))
    candidates: list[Span] = [
        *pattern_spans(norm),
        *address_spans(norm, japanese),
        *((s, e, RemovalKind.NAME) for s, e in english_name_spans(norm)),
        *english_sign_off_spans(norm),
        *bare_handle_spans(norm),
        *author_name_spans(norm, author_names),
    ]
    if japanese:
        candidates.extend((s, e, RemovalKind.NAME) for s, e in japanese_name_spans(norm))
        candidates.extend(japanese_sign_off_spans(norm))
    candidates.sort(key=lambda sp: (-(sp[1] - sp[0]), _PRIORITY.index(sp[2]), sp[0]))
    chosen: list[Span] = []
    taken = list(protected)
    for span in candidates:
        start, end, _ = span
        if start >= end or any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        chosen.append(span)
        taken.append((start, end))
    return sorted(chosen)


def _mask_language(text: str, language: str | None) -> str:
    """The card's language when it has a pack, else the one its characters suggest."""
    languages = registry()
    return language if language and language in languages else languages.any_script(text)


_MAX_PASSES = 4


def scrub(
    text: str, language: str | None = None, *, author_names: AuthorNames | None = None
) -> ScrubResult:
    """Mask emails, phone numbers, links, handles, long ids, addresses and names.

    `language` (a pack's code) picks the masks' wording (prompts/<code>/scrub.yaml); None, or
    a code without a pack, guesses from the script.
    `author_names` are the author's own names as the channel gives them now: they are masked
    wherever they appear (see `bot.cards.author_names` for the rule on everyday words) and are
    not kept anywhere, not even in the result.
    """
    lang = _mask_language(text, language)
    masks = scrub_texts(lang).masks
    removed: list[Removal] = []
    for _ in range(_MAX_PASSES):
        norm, origin = _normalise(text)
        spans = find_spans(norm, author_names)
        if not spans:
            break
        pieces: list[str] = []
        cursor = 0
        for start, end, kind in spans:
            orig_start, orig_end = origin[start], origin[end - 1] + 1
            if orig_start < cursor:  # two spans inside one expanded character; skip the later
                continue
            pieces.extend((text[cursor:orig_start], masks[kind]))
            cursor = orig_end
            removed.append(Removal(kind))
        pieces.append(text[cursor:])
        text = "".join(pieces)
    return ScrubResult(text=text, removed=tuple(removed))
