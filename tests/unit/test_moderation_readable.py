"""What the bot refuses to read before any model is asked: other scripts and languages, junk."""

from __future__ import annotations

import pytest

from bot.moderation.readable import readability


@pytest.mark.parametrize(
    "text",
    [
        "I made it through a hard winter, and so can you.",
        "omg ur so brave tbh",
        "Great job everyone, keep going!",
        "つらい時は休んでいいんだよ。",
        "外国人はゴキブリ",  # short, kanji and kana: Japanese
        "lol",
    ],
)
def test_english_and_japanese_are_readable(text: str) -> None:
    result = readability(text)
    assert result.readable and result.has_letters, result.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Мигранты это паразиты и их надо выгнать", "script"),
        ("이민자들은 해충이다", "script"),
        ("这些外国人都是垃圾应该滚出去", "not Japanese"),
        ("Die Ausländer sind Ungeziefer und müssen raus", "not English"),
        ("\x00\x01\x02ab\x03\x04\ufffd\ufffd", "not text"),
        ("   ", "empty"),
    ],
)
def test_other_languages_and_junk_are_unreadable(text: str, reason: str) -> None:
    result = readability(text)
    assert not result.readable
    assert reason in result.reason


def test_no_letters_is_readable_but_has_nothing_to_judge() -> None:
    result = readability("❤️❤️ 100%!!")
    assert result.readable and not result.has_letters
