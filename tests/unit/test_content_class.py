"""Content classes for cards (seed 1 Fig. 3) with the real engine and policies/content.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain import ContentClass
from bot.emotion.content_class import classify_content
from bot.emotion.engine import get_engine

pytestmark = pytest.mark.slow
CARDS = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "emotion_statements.yaml").read_text("utf-8")
)["content"]


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c["text"][:30])
def test_labelled_cards(card: dict[str, str]) -> None:
    result = classify_content(card["text"])
    assert result.content_class.value == card["content_class"], result.reasons
    assert result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "I'm such an idiot, I hate myself for this.",
        "He called me pathetic and I believed him.",
        "I feel worthless and ugly today.",
        "自分なんてゴミみたいな人間だ。",
        "バカにされて悔しくて泣いた。",
        # a quote of what was said to the writer, closing quote mark between insult and verb
        "中学の時「クズ」って言われてた。",
        "「ゴミ」と呼ばれた日のことを今も覚えてる。",
    ],
)
def test_own_pain_is_never_toxic(text: str) -> None:
    result = classify_content(text)
    assert result.content_class is not ContentClass.TOXIC, result.reasons


@pytest.mark.parametrize(
    "text",
    ["You are a worthless idiot.", "go kill yourself", "お前はバカだ", "死ね"],
)
def test_attacks_on_others_are_toxic(text: str) -> None:
    assert classify_content(text).content_class is ContentClass.TOXIC


def test_reading_passed_in_is_reused() -> None:
    text = "Had the best day at the beach with my kids!"
    reading = get_engine().read(text)
    result = classify_content(text, reading)
    assert result.reading is reading
    assert result.content_class in (ContentClass.INSPIRATIONAL, ContentClass.ENTERTAINING)
