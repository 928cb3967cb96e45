"""How the crisis screen reads a text: the way a person would, not the way the bytes spell it.

A person reads "k\u200bill mysеlf" (a zero-width space, a Cyrillic е), "k1ll mys3lf",
"k i l l  m y s e l f" and "kil myself" as the same four words; a phrase screen that reads bytes
does not (issue 10: 36 of 90 such variants of three crisis sentences were missed). So the screen
searches two kinds of reading:

- `plain`: NFKC (full width to ASCII), every default-ignorable code point dropped (the Unicode
  property, not a hand list: U+200B, U+200E, U+034F, U+FE0F, U+3164, U+180E, ...), lower case,
  straight quotes, whitespace collapsed. Japanese and other languages are read in this form.
- `unmasked`: the plain reading with confusable letters folded to their Latin prototype (the
  Unicode TR39 confusables data, as shipped in the `confusable-homoglyphs` package), accents on
  Latin letters dropped, leetspeak inside words undone, letter-spaced words joined and split
  into words again, and the common misspellings of crisis words corrected (the safety
  policy's `typos`, which the English pack brings: prompts/en/crisis.yaml). Made only when it
  differs from the plain reading.

Folding is deliberately generous: it only ever adds readings, so it can only add catches, and
idioms are excused in every reading alike.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import regex

_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"\s+")
# Scripts never folded to Latin: their look-alikes (ロ/口, ー/一, エ/工) are real letters there.
_KEEP_SCRIPTS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")
_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}ー"
_SPACED_CJK = regex.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
# Leetspeak: digits and symbols that stand for letters inside a word.
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s"}
_LEET_BETWEEN_LETTERS = {"!": "i", "|": "l", "+": "t", "€": "e", "(": "c"}
_WORD_WITH_LEET = re.compile(r"[a-z0-9@$!|+€(]*[a-z][a-z0-9@$!|+€(]*")
# Three or more single letters apart, with separators between: "k i l l  m y s e l f",
# "k.i.l.l", "k-i-l-l" (word breaks in the spacing are not trusted: the words are found again).
_LETTER_SPACED = re.compile(r"(?<![a-z])[a-z](?:[ .\-_*·]+[a-z](?![a-z])){2,}[.]?")
_SEPARATORS = re.compile(r"[ .\-_*·]")
_WORD = re.compile(r"[a-z]+")


def plain(text: str, *, ignorable_as_space: bool = False) -> str:
    """NFKC, default-ignorable code points dropped (or read as spaces), lower case, plain quotes,
    whitespace collapsed."""
    return _SPACES.sub(" ", _plain_keep_spacing(text, ignorable_as_space)).strip()


def _plain_keep_spacing(text: str, ignorable_as_space: bool = False) -> str:
    replacement = " " if ignorable_as_space else ""
    # Dropped before and after NFKC: NFKC maps a few characters onto ignorable ones.
    text = _IGNORABLE.sub(replacement, text)
    text = _IGNORABLE.sub(replacement, unicodedata.normalize("NFKC", text))
    return text.lower().translate(_QUOTES)


def has_ignorable(text: str) -> bool:
    return _IGNORABLE.search(text) is not None


@cache
def latin_skeleton_table() -> dict[int, str]:
    """Character -> the ASCII letter or digit it is confusable with (Unicode TR39 confusables,
    from the `confusable-homoglyphs` package's data), for every character outside Han, kana and
    Hangul. The package stores the relation both ways; a character with no ASCII homoglyph of
    its own is read through its capital (Cyrillic к -> К -> k) or one homoglyph further."""
    data: dict[str, list[dict[str, str]]] = json.loads(
        (resources.files("confusable_homoglyphs") / "confusables.json").read_text("utf-8")
    )

    def ascii_of(char: str) -> str | None:
        found = sorted(
            h["c"].lower() for h in data.get(char, ()) if len(h["c"]) == 1 and h["c"].isascii()
        )
        letters = [c for c in found if c.isalnum()]
        return letters[0] if letters else None

    table: dict[int, str] = {}
    for char in data:
        if len(char) != 1 or char.isascii() or _KEEP_SCRIPTS.match(char):
            continue
        target = ascii_of(char)
        if target is None and char.upper() != char and len(char.upper()) == 1:
            target = ascii_of(char.upper())  # Cyrillic к has no Latin twin, its capital К does
        if target is None:
            for homoglyph in data[char]:
                if len(homoglyph["c"]) == 1 and not homoglyph["c"].isascii():
                    target = ascii_of(homoglyph["c"])
                    if target is not None:
                        break
        if target is not None:
            table[ord(char)] = target
    return table


def _fold_confusables(text: str) -> str:
    table = latin_skeleton_table()
    out: list[str] = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        mapped = table.get(ord(char))
        if mapped is not None:
            out.append(mapped)
            continue
        decomposed = unicodedata.normalize("NFD", char)
        base = decomposed[0]
        # "ki̇ll", "mysélf": accents on a Latin letter are dropped (never on kana: が stays が).
        if base.isascii() and base.isalpha():
            out.append(base)
        elif len(decomposed) > 1 and ord(base) in table and not _KEEP_SCRIPTS.match(char):
            out.append(table[ord(base)])
        elif unicodedata.category(char) == "Mn" and out and out[-1].isascii():
            continue
        else:
            out.append(char)
    return "".join(out)


def _undo_leet(text: str, one_as: str) -> str:
    def word(match: re.Match[str]) -> str:
        chars = list(match.group(0))
        for i, ch in enumerate(chars):
            if ch in _LEET:
                chars[i] = _LEET[ch]
            elif ch == "1":
                chars[i] = one_as
            elif ch in _LEET_BETWEEN_LETTERS:
                left = i > 0 and chars[i - 1].isalpha()
                right = i + 1 < len(chars) and chars[i + 1].isalpha()
                if right and (left or i == 0):
                    chars[i] = _LEET_BETWEEN_LETTERS[ch]
        return "".join(chars)

    return _WORD_WITH_LEET.sub(word, text)


@dataclass(frozen=True)
class Unmasker:
    """Undoes the ways people (or evaders) spell crisis words: see the module docstring.

    `vocabulary` splits joined letters back into words ("killmyself" -> "kill myself"); `typos`
    maps a misspelling to its word ("kil" -> "kill")."""

    vocabulary: frozenset[str]
    typos: Mapping[str, str]

    def readings(self, plain_spaced: str) -> list[str]:
        """The unmasked readings of a text in `_plain_keep_spacing` form (one, or two when a "1"
        may stand for i or for l)."""
        folded = _fold_confusables(plain_spaced)
        variants = [_undo_leet(folded, "i")]
        if "1" in folded:
            variants.append(_undo_leet(folded, "l"))
        out: list[str] = []
        for variant in variants:
            joined = _LETTER_SPACED.sub(self._join, variant)
            joined = _SPACED_CJK.sub("", _SPACES.sub(" ", joined).strip())
            fixed = _WORD.sub(lambda m: self.typos.get(m.group(0), m.group(0)), joined)
            if fixed not in out:
                out.append(fixed)
        return out

    def _join(self, match: re.Match[str]) -> str:
        letters = _SEPARATORS.sub("", match.group(0))
        return " " + " ".join(self.segment(letters)) + " "

    def segment(self, letters: str) -> list[str]:
        """Fewest known words that spell `letters` (dynamic programming); unknown stretches are
        kept as they are."""
        n = len(letters)
        best: list[tuple[int, list[str]] | None] = [None] * (n + 1)
        best[0] = (0, [])
        for end in range(1, n + 1):
            for start in range(max(0, end - 20), end):
                prev = best[start]
                if prev is None:
                    continue
                piece = letters[start:end]
                cost = 1 if piece in self.vocabulary else 3 * len(piece)
                candidate = (prev[0] + cost, [*prev[1], piece])
                current = best[end]
                if current is None or candidate[0] < current[0]:
                    best[end] = candidate
        result = best[n]
        if result is None:
            return [letters]
        # Adjacent unknown single letters go back together ("xq" rather than "x q").
        merged: list[str] = []
        for piece in result[1]:
            if merged and piece not in self.vocabulary and merged[-1] not in self.vocabulary:
                merged[-1] += piece
            else:
                merged.append(piece)
        return merged


def typo_table(
    targets: Iterable[str], extra: Mapping[str, str], real_words: Sequence[str]
) -> dict[str, str]:
    """Misspellings of each target word a quick typist makes: one letter dropped, one doubled, two
    neighbours swapped; plus the explicit ones (`extra`, e.g. "dye" -> "die"). A misspelling that
    is itself a real word ("live" -> "lie", "I've" -> "ive") is left out."""
    keep_out = set(real_words)
    table: dict[str, str] = {}
    for word in targets:
        if len(word) < 4:
            continue
        variants = {word[:i] + word[i + 1 :] for i in range(len(word))}
        variants |= {word[:i] + word[i] + word[i:] for i in range(len(word))}
        variants |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        for variant in variants:
            if variant != word and len(variant) >= 3 and variant not in keep_out:
                table.setdefault(variant, word)
    for word in targets:
        table.pop(word, None)
    table.update(extra)
    return table


def words_of(texts: Iterable[str]) -> frozenset[str]:
    """Lower-case Latin words of the texts (a vocabulary for `Unmasker.segment`)."""
    return frozenset(w for t in texts for w in _WORD.findall(plain(t)) if len(w) > 1 or w in "ai")


def spaced(text: str, *, ignorable_as_space: bool = False) -> str:
    """The plain reading before whitespace is collapsed (letter spacing still visible)."""
    return _plain_keep_spacing(text, ignorable_as_space)
