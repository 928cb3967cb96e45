"""policies/emotions.yaml and content.yaml validate, and the shipped prototypes match them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bot.domain import Emotion, Language
from bot.emotion.phrases import PhraseMatcher
from bot.emotion.policy import EmotionPolicy, load_content_policy, load_emotion_policy
from bot.emotion.prototypes import DEFAULT_PROTOTYPES_PATH, load_prototypes

POLICIES = Path(__file__).parents[2] / "policies"


def test_project_policies_validate() -> None:
    policy = load_emotion_policy(POLICIES)
    assert set(policy.emotions) == set(Emotion)
    load_content_policy(POLICIES)


def test_shipped_prototypes_match_the_yaml() -> None:
    """Fails after editing the phrases until `needtotalk train emotion-prototypes` is run."""
    assert DEFAULT_PROTOTYPES_PATH.is_file()
    prototypes, from_cache = load_prototypes(load_emotion_policy(POLICIES))
    assert from_cache, "run `needtotalk train emotion-prototypes`"
    assert prototypes.vectors[Language.EN].shape[1] == 384


def _raw() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((POLICIES / "emotions.yaml").read_text("utf-8"))


def test_policy_rejects_an_emotion_in_the_wrong_class() -> None:
    raw = _raw()
    raw["emotions"]["hatred"]["user_class"] = "vulnerable"
    with pytest.raises(ValidationError, match="seed 1"):
        EmotionPolicy.model_validate(raw)


def test_policy_rejects_unknown_goemotions_label_and_missing_emotion() -> None:
    raw = _raw()
    raw["emotions"]["regret"]["goemotions"]["sorrow"] = 1.0
    with pytest.raises(ValidationError, match="sorrow"):
        EmotionPolicy.model_validate(raw)
    raw = _raw()
    del raw["emotions"]["optimism"]
    with pytest.raises(ValidationError, match="optimism"):
        EmotionPolicy.model_validate(raw)


def test_english_phrases_match_whole_words_japanese_substrings() -> None:
    en = PhraseMatcher(["hate you", "i"], Language.EN)
    assert en.find("i really hate you") == ("i", "hate you")
    assert en.find("whatever, hate your shoes") == ()
    ja = PhraseMatcher(["大嫌い"], Language.JA)
    assert ja.find("あいつが大嫌いだ") == ("大嫌い",)
