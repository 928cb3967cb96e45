"""Street addresses and postcodes (EN and JA) against must-remove and leave-alone tables."""

from __future__ import annotations

import pytest

from bot.cards.scrub import RemovalKind, scrub

A, N = RemovalKind.ADDRESS, RemovalKind.NAME

# (text, language, expected output)
REMOVE: list[tuple[str, str, str]] = [
    # the example: street, town and postcode become one mask
    ("14 Elm Street, Leeds LS6 2AB", "en", "[address removed]"),
    ("I live at 14 Elm Street, Leeds LS6 2AB now", "en", "I live at [address removed] now"),
    ("221B Baker St", "en", "[address removed]"),
    ("221B Baker St, Apt 4", "en", "[address removed]"),
    ("come to 3a High St. if you want", "en", "come to [address removed] if you want"),
    ("1600 Pennsylvania Avenue NW", "en", "[address removed]"),
    ("we moved to 12 oak road last year", "en", "we moved to [address removed] last year"),
    ("I'm in flat 2B", "en", "I'm in [address removed]"),
    ("Apt 4, near the park", "en", "[address removed], near the park"),
    ("my postcode is SW1A 1AA", "en", "my postcode is [address removed]"),
    ("near M1 1AE", "en", "near [address removed]"),
    ("Springfield, IL 62704", "en", "[address removed]"),
    ("zip NY 10001-1234", "en", "zip [address removed]"),
    ("my address is 3 the crescent, bath", "en", "my address is [address removed]"),
    ("write to PO Box 123", "en", "write to [address removed]"),
    # Japanese
    ("〒123-4567", "ja", "［住所削除］"),
    ("郵便番号は1234567です", "ja", "郵便番号は［住所削除］です"),
    ("住所は東京都新宿区西新宿2丁目8番1号です", "ja", "住所は［住所削除］です"),
    ("〒123-4567 大阪府大阪市北区梅田1-2-3", "ja", "［住所削除］"),
    ("東京都新宿区に住んでる", "ja", "［住所削除］に住んでる"),
    ("札幌市中央区北1条西2丁目に住んでる", "ja", "［住所削除］に住んでる"),
    ("うちは2丁目8番1号", "ja", "うちは［住所削除］"),
    ("実家は横浜市青葉区美しが丘1-2-3です", "ja", "実家は［住所削除］です"),
    ("住所：ひばりが丘のあたり、", "ja", "住所：［住所削除］、"),
    ("番地は5番地3号", "ja", "番地は［住所削除］"),
    # full-width forms
    ("〒１２３－４５６７", "ja", "［住所削除］"),
    ("１４ Ｅｌｍ Ｓｔｒｅｅｔ", "en", "[address removed]"),
]

LEAVE_ALONE: list[str] = [
    "see you at 10:30",
    "it cost $5.99, or £4 50p",
    "it is a 2 way street",
    "I stayed at a 5 star hotel",
    "I read it on page 12",
    "Sent from my flat 3 days ago",
    "the flat 3 weeks ago was cold",
    "we walked 5 miles down the road",
    "Only 5 hour drive to the coast",
    "a 3 hour road trip",
    "my 2 TB hard drive died",
    "I moved to Leeds last year",
    "I lived in London in 2019-2020",
    "(2019) was a hard year",
    "my address is not something I share",
    "3番目に好き",
    "1号車に乗った",
    "東京に住んでる",
    "新宿区はにぎやか",
    "10時に駅で",
    "1-2時間寝た",
    "I'm 25 and in year 12",
    "ABC 123",
    "the A1 road was closed",
    "I got a B2 grade",
]


@pytest.mark.parametrize(("text", "lang", "expected"), REMOVE)
def test_removes_addresses(text: str, lang: str, expected: str) -> None:
    result = scrub(text, lang)
    assert result.text == expected
    assert {r.kind for r in result.removed} == {A}
    assert scrub(result.text, lang).text == result.text


@pytest.mark.parametrize("text", LEAVE_ALONE)
def test_leaves_alone(text: str) -> None:
    result = scrub(text)
    assert result.text == text, result.text
    assert result.removed == ()


def test_summary_names_addresses_in_both_languages() -> None:
    result = scrub("14 Elm Street, Leeds LS6 2AB", "en")
    assert result.summary("en") == "removed: 1 address"
    assert result.summary("ja") == "削除しました：住所 1件"


def test_address_and_phone_in_one_card() -> None:
    result = scrub("I'm at 14 Elm Street, call 07700 900123", "en")
    assert result.text == "I'm at [address removed], call [phone removed]"
    assert sorted(r.kind for r in result.removed) == sorted([A, RemovalKind.PHONE])
