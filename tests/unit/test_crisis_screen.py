"""The crisis screen on explicit, indirect and other-danger language, and on idioms."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.safety.crisis_screen import CrisisScreen, load_safety_policy, normalise, screen
from bot.safety.helplines import helpline_text, load_helplines

CRISIS = [
    ("I want to kill myself", "suicide_explicit"),
    ("i'm going to end my life tonight", "suicide_explicit"),
    ("I've been thinking about suicide a lot", "suicide_explicit"),
    ("Sometimes I wish I was dead", "suicide_explicit"),
    ("I wrote a goodbye note", "suicide_explicit"),
    ("There's no point in living anymore", "suicide_indirect"),
    ("everyone would be better off without me", "suicide_indirect"),
    ("I don't want to wake up tomorrow", "suicide_indirect"),
    ("I just want it all to end", "suicide_indirect"),
    ("I can't go on anymore", "suicide_indirect"),
    ("I'm so tired of living", "suicide_indirect"),
    ("I've been cutting myself again", "self_harm"),
    ("I started self-harming last year", "self_harm"),
    ("My boyfriend hits me when he's angry", "danger_from_others"),
    ("he threatened to kill me", "danger_from_others"),
    ("I don't feel safe at home", "danger_from_others"),
    ("I'm going to hurt him tomorrow", "harm_to_others"),
    ("もう死にたい", "suicide_explicit"),
    ("自殺を考えている", "suicide_explicit"),
    ("消えたい", "suicide_indirect"),
    ("生きていたくない", "suicide_indirect"),
    ("生きる意味がない", "suicide_indirect"),
    ("私なんていない方がいい", "suicide_indirect"),
    ("またリスカしちゃった", "self_harm"),
    ("父に毎日殴られている", "danger_from_others"),
    ("ＫＩＬＬ　ＭＹＳＥＬＦ", "suicide_explicit"),  # full width
    ("kill\u200bmyself", "suicide_explicit"),  # zero-width space
    ("I don’t want to be alive", "suicide_indirect"),  # curly apostrophe
]

NOT_CRISIS = [
    "this homework is killing me",
    "my feet are killing me",
    "I'm dead tired",
    "I'm dead lol",
    "I'm dying to see that film",
    "I nearly died laughing",
    "I could murder a pizza",
    "my phone is dead",
    "the deadline is killing me",
    "I'm not suicidal, just really sad",
    "we did a suicide prevention training at work",
    "I feel lonely and stuck",
    "I cut my hair today",
    "死ぬほど疲れた",
    "死ぬほど笑った",
    "死ぬかと思った",
    "スマホが死んだ",
    "今日は疲れた",
    "",
]


@pytest.mark.parametrize(("text", "category"), CRISIS)
def test_crisis_language_is_caught(text: str, category: str) -> None:
    result = screen(text)
    assert result.is_crisis
    assert category in result.categories


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_idioms_and_ordinary_sadness_are_not_crisis(text: str) -> None:
    assert not screen(text).is_crisis


def test_an_idiom_does_not_hide_real_danger_in_the_same_message() -> None:
    assert screen("this homework is killing me and honestly I want to die").is_crisis
    assert screen("I'm not suicidal but I want to die").is_crisis


def test_threshold_comes_from_the_policy(tmp_path: Path) -> None:
    policy = load_safety_policy()
    strict = CrisisScreen(policy.model_copy(update={"threshold": 2.0}))
    assert not strict.screen("I want to kill myself").is_crisis


def test_normalise_folds_width_case_and_quotes() -> None:
    assert normalise("  ＨＥＬＬＯ\u200b  World’s ") == "hello world's"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-GB", "116 123"),
        ("en-US", "988"),
        ("ja", "0570-783-556"),
        ("ja-JP", "0120-279-338"),
        ("en", "findahelpline"),
        ("de", "findahelpline"),
        (None, "findahelpline"),
    ],
)
def test_helplines_by_locale(locale: str | None, expected: str) -> None:
    assert expected in helpline_text(load_helplines(), locale)


# Found in review: idioms that swallowed real danger, uppercase patterns that never matched,
# and common phrasings that were missing.
@pytest.mark.parametrize(
    "text",
    [
        "I want to die for real",
        "I wish I were dead right now",
        "I want to be dead right now",
        "DVを受けている",
        "ODしちゃった",
        "死にたくなる",
        "死にたくて眠れない",
        "消えてしまいたい",
        "生きるのがつらい",
        "生きてる意味がない",
        "死のうかな",
        "もう死ぬしかない",
        "I'd be better off dead",
        "I want to unalive myself",
        "I'm going to end it tonight",
        "I feel like dying",
        "I should just die",
    ],
)
def test_phrasings_found_in_review_are_caught(text: str) -> None:
    assert screen(text).is_crisis


@pytest.mark.parametrize("text", ["I'll do it today", "goodbye and good luck", "advice please"])
def test_short_japanese_abbreviations_do_not_match_inside_english_words(text: str) -> None:
    assert not screen(text).is_crisis
