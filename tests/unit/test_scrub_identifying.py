"""Organisation and place names for the preview's warning: the real spaCy model and UniDic."""

from __future__ import annotations

import pytest

from bot.cards.identifying import identifying_names
from bot.cards.scrub import scrub

FOUND: list[tuple[str, str, set[str]]] = [
    ("I work at Tesco and my boss at Barclays is awful.", "en", {"Tesco", "Barclays"}),
    (
        "Since I moved from Hebden Bridge to Manchester I have nobody.",
        "en",
        {"Hebden Bridge", "Manchester"},
    ),
    ("I grew up in Little Snoring and everyone knows everyone.", "en", {"Little Snoring"}),
    ("Nobody at Deloitte knows I cry at lunch.", "en", {"Deloitte"}),
    ("トヨタで働いている", "ja", {"トヨタ"}),
    ("白川郷に住んでる。東京駅で泣いた", "ja", {"白川郷", "東京駅"}),
    ("世田谷区に住んでいます", "ja", {"世田谷区"}),
]

NOTHING: list[tuple[str, str]] = [
    ("I can't sleep and I feel like nobody cares.", "en"),
    ("Will I ever feel normal again? I hope so.", "en"),
    ("My mum called me and I cried at Christmas.", "en"),
    ("I failed my maths exam on Monday.", "en"),
    ("Love, [name removed]", "en"),
    ("今日は疲れた", "ja"),
    ("母に電話した", "ja"),
    ("", "en"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), FOUND)
def test_finds_organisations_and_places(text: str, lang: str, expected: set[str]) -> None:
    assert set(identifying_names(text, lang)) >= expected


@pytest.mark.parametrize(("text", "lang"), NOTHING)
def test_finds_nothing_in_ordinary_cards(text: str, lang: str) -> None:
    assert identifying_names(text, lang) == ()


def test_names_stay_in_the_text_and_are_listed_once() -> None:
    """Employer and town are the author's choice: scrub keeps them, the warning lists them."""
    text = "I work at Tesco in Whitby. Tesco is hell."
    assert scrub(text, "en").text == text
    assert identifying_names(text, "en").count("Tesco") == 1


def test_people_are_not_reported_as_places() -> None:
    assert "山田" not in "".join(identifying_names("山田さんと東京に行った", "ja"))


def test_english_text_without_a_capital_skips_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every name kept has a capital letter, so lowercase text never runs spaCy (the most
    costly step of a card's moderation); a text with one still does."""
    from bot.cards import identifying

    calls: list[str] = []
    real = identifying._english_pipeline

    def counting() -> object:
        calls.append("pipeline")
        return real()

    monkeypatch.setattr(identifying, "_english_pipeline", counting)
    assert identifying_names("i work at tesco in london", "en") == ()
    assert calls == []
    assert identifying_names("I work at Tesco in Leeds", "en")
    assert calls == ["pipeline"]
