"""Everyday text from many writers for the crisis classifier (bot/safety/real_texts.py): seeded,
disjoint parts, the hand-reviewed crises dropped, only Davidson's class "neither"; and the
threshold rule that reads the part never trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.safety.classifier import DEFAULT_CLASSIFIER_PATH
from bot.safety.crisis_screen import load_safety_policy
from bot.safety.real_texts import REVIEW_PATH, read_real_texts, read_review
from bot.safety.training import REAL_FALSE_ALARM_BUDGET, choose_threshold
from tests.support.public_data import write_davidson

GOEMOTIONS_TINY = PROJECT_ROOT / "tests" / "data" / "goemotions_tiny"
SIZES = {
    "goemotions": {"report": 40, "tune": 40, "train": 60},
    "davidson": {"report": 2, "tune": 2, "train": 3},
}


def _davidson(folder: Path) -> Path:
    rows = [(2, f"ordinary tweet number {i}") for i in range(10)] + [
        (1, "an offensive tweet"),
        (0, "a hateful tweet"),
    ]
    return write_davidson(folder, rows)


def test_the_parts_are_seeded_disjoint_and_drop_the_reviewed_crises(tmp_path: Path) -> None:
    davidson = _davidson(tmp_path / "hate")
    first = read_real_texts(GOEMOTIONS_TINY, davidson, sizes=SIZES)
    again = read_real_texts(GOEMOTIONS_TINY, davidson, sizes=SIZES)
    assert {k: v.ids for k, v in first.items()} == {k: v.ids for k, v in again.items()}
    ids = [i for part in first.values() for i in part.ids]
    assert len(ids) == len(set(ids))  # no text in two parts
    assert len(first["report"].ids) == 40 + 2
    # Davidson: only the class "neither"
    texts = [t for part in first.values() for t in part.texts]
    assert "an offensive tweet" not in texts and "a hateful tweet" not in texts
    # A reviewed crisis is in no part.
    dropped = first["train"].ids[0]
    review = tmp_path / "review.yaml"
    review.write_text(f'crisis:\n  - {{id: "{dropped}", why: "a test"}}\n', encoding="utf-8")
    without = read_real_texts(GOEMOTIONS_TINY, davidson, review, sizes=SIZES)
    assert dropped not in [i for part in without.values() for i in part.ids]
    assert len(without["train"].ids) == len(first["train"].ids) - 1


def test_the_shipped_review_list_is_valid_and_has_no_duplicates() -> None:
    review = read_review(REVIEW_PATH)
    assert review and all(why for why in review.values())
    raw = REVIEW_PATH.read_text(encoding="utf-8")
    assert raw.count("id: ") == len(review)  # crisis and report_crisis together


def test_the_threshold_is_the_lowest_within_the_real_false_alarm_budget() -> None:
    table = {
        "0.3": {"real_tune_false_alarms": REAL_FALSE_ALARM_BUDGET + 0.01},
        "0.5": {"real_tune_false_alarms": REAL_FALSE_ALARM_BUDGET},
        "0.7": {"real_tune_false_alarms": 0.001},
    }
    assert choose_threshold(table) == 0.5
    # None within the budget: the highest candidate (the fewest alarms), never an error.
    assert (
        choose_threshold(
            {"0.3": {"real_tune_false_alarms": 0.5}, "0.9": {"real_tune_false_alarms": 0.2}}
        )
        == 0.9
    )


def test_the_policy_threshold_is_the_one_chosen_on_real_text() -> None:
    """policies/safety.yaml's English threshold is the one training chose on the real TUNE part
    (bot/safety/artefacts/crisis_classifier.json `threshold_chosen`): retrain, then copy it."""
    figures = json.loads(DEFAULT_CLASSIFIER_PATH.with_suffix(".json").read_text(encoding="utf-8"))
    if "threshold_chosen" not in figures["languages"]["en"]:
        pytest.skip("the shipped artefact learned from the written examples alone (fifth round)")
    chosen = figures["languages"]["en"]["threshold_chosen"]
    assert load_safety_policy().classifier.threshold_for("en") == pytest.approx(chosen)
