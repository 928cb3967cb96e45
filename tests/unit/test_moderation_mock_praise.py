"""Mock praise (policies/content.yaml `mock_praise`): praise that turns into contempt is never
published. The moderation model reads the praise and calls such a card good, so the rule
restricts it; kind praise without a turn, and a card that says there is "no shame", are left
to the model. Examples written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.domain import Language, UserClass
from bot.emotion.content_class import get_content_classifier
from bot.emotion.policy import ContentPolicy, load_content_policy
from bot.moderation.decision import Verdict
from bot.moderation.pipeline import Moderator

POLICIES = Path(__file__).parents[2] / "policies"
FEELING_BAD = {UserClass.VULNERABLE, UserClass.HARMFUL}

MOCKING = [
    ("Congratulations on the new job, shame about everything else though.", "en"),
    ("Well done on the cake. How original, a shop-bought sponge.", "en"),
    ("So brave of you to post your drawing. Really talented. Not.", "en"),
    ("Good for you, finishing a book at your age /s", "en"),
    ("Congratulations, you've made the most boring card on this app.", "en"),
    ("資格取ったんだ、おめでとう。誰でも受かるやつだけど笑", "ja"),
    ("毎日ちゃんと起きられてえらいね（棒）", "ja"),
]
KIND = [
    ("Congratulations on your first week sober. That took real strength.", "en"),
    ("Well done for asking. There's no shame in needing help.", "en"),
    ("You reached out today, and that was brave.", "en"),
    # sincere in peer support, so "truly an achievement" is no turn
    ("Getting out of bed on a bad day is truly an achievement. Well done.", "en"),
    ("退院おめでとう！ゆっくり休んでね", "ja"),
    # found in review: pieces of ordinary words and endings are neither praise nor a turn
    ("I'm proud of you, whether you believe it or not.", "en"),
    ("Congratulations on the baby! What a surprise, and what a joy.", "en"),
    ("合格おめでとう！これからもずっと笑顔でいてね", "ja"),
    ("今日はさすがに疲れた笑 でも明日もがんばろう", "ja"),
]


def test_shipped_policy_has_both_lists() -> None:
    policy = load_content_policy(POLICIES)
    assert policy.mock_praise is not None
    for lists in (policy.mock_praise.praise, policy.mock_praise.turns):
        assert lists["en"] and lists["ja"]


def test_a_policy_without_the_rule_still_loads() -> None:
    raw = yaml.safe_load((POLICIES / "content.yaml").read_text("utf-8"))
    raw.pop("mock_praise")
    assert ContentPolicy.model_validate(raw).mock_praise is None


def test_the_schema_refuses_an_unknown_list_or_language() -> None:
    raw = yaml.safe_load((POLICIES / "content.yaml").read_text("utf-8"))
    with pytest.raises(ValidationError):
        ContentPolicy.model_validate({**raw, "mock_praise": {**raw["mock_praise"], "x": {}}})
    with pytest.raises(ValidationError):
        ContentPolicy.model_validate(
            {**raw, "mock_praise": {"praise": raw["mock_praise"]["praise"]}}
        )
    bad_language = {"praise": {"xx": ["bravo"]}, "turns": raw["mock_praise"]["turns"]}
    with pytest.raises(ValidationError):
        ContentPolicy.model_validate({**raw, "mock_praise": bad_language})


@pytest.mark.slow
@pytest.mark.parametrize(("text", "lang"), MOCKING, ids=lambda v: str(v)[:30])
def test_mock_praise_is_found(text: str, lang: str) -> None:
    classifier = get_content_classifier()
    lowered = text.lower().replace("’", "'")
    assert classifier.mock_praise(lowered, Language(lang)) is not None


@pytest.mark.slow
@pytest.mark.parametrize(("text", "lang"), KIND, ids=lambda v: str(v)[:30])
def test_kind_praise_is_not_mock_praise(text: str, lang: str) -> None:
    classifier = get_content_classifier()
    lowered = text.lower().replace("’", "'")
    assert classifier.mock_praise(lowered, Language(lang)) is None


@pytest.mark.slow
@pytest.mark.parametrize(("text", "lang"), MOCKING, ids=lambda v: str(v)[:30])
def test_mock_praise_is_never_published(text: str, lang: str) -> None:
    decision = Moderator().moderate(text, lang)
    assert decision.decision is not Verdict.PUBLISH, decision.reasons
    assert not decision.readers & FEELING_BAD
    assert any(reason.startswith("mock praise") for reason in decision.reasons), decision.reasons
