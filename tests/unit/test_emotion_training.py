"""`needtotalk train emotion-head` on a tiny GoEmotions excerpt (tests/data/goemotions_tiny)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.emotion.head import GoEmotionsHead, sigmoid
from bot.emotion.training import f1_scores, merge_ensemble, tune_thresholds

TINY = Path(__file__).parents[1] / "data" / "goemotions_tiny"


@pytest.mark.slow
def test_training_command_writes_a_loadable_head_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "head.npz"
    args = ["train", "emotion-head", "--data", str(TINY), "--out", str(out)]
    args += ["--cache", str(tmp_path / "cache"), "--epochs", "3", "--hidden", "32", "--seed", "1"]
    args += ["--ensemble", "2"]
    assert main(args) == 0
    assert "epoch 1" in capsys.readouterr().err
    head = GoEmotionsHead.load(out)
    assert head.labels[-1] == "neutral" and head.w1.shape == (384, 64)  # 2 members x 32 units
    figures = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert figures["rows"]["dev"] == 60 and 0.0 <= figures["dev_macro_f1"]["labels28"] <= 1.0
    assert figures["ensemble"] == 2 and len(figures["epochs_run"]) == 2
    assert set(figures["held_out_train_macro_f1_by_members"]) == {"1", "2"}
    # same seed, same cached embeddings: the same weights
    again = tmp_path / "again.npz"
    assert main([*args[:5], str(again), *args[6:]]) == 0
    np.testing.assert_array_equal(GoEmotionsHead.load(again).w2, head.w2)


def test_training_command_refuses_a_missing_folder(tmp_path: Path) -> None:
    assert main(["train", "emotion-head", "--data", str(tmp_path / "nope")]) == 2
    assert main(["train", "emotion-head", "--data", str(tmp_path)]) == 2
    assert main(["train", "emotion-head", "--data", str(TINY), "--ensemble", "0"]) == 2


def _logits(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ weights["w1"] + weights["b1"], 0.0) @ weights["w2"] + weights["b2"]


def test_merged_ensemble_is_one_mlp_whose_logits_are_the_members_mean() -> None:
    rng = np.random.default_rng(7)
    members = [
        {
            "w1": rng.normal(size=(384, 16)).astype(np.float32),
            "b1": rng.normal(size=16).astype(np.float32),
            "w2": rng.normal(size=(16, 28)).astype(np.float32),
            "b2": rng.normal(size=28).astype(np.float32),
        }
        for _ in range(3)
    ]
    merged = merge_ensemble(members)
    assert merged["w1"].shape == (384, 48) and merged["w2"].shape == (48, 28)
    x = rng.normal(size=(10, 384)).astype(np.float32)
    mean = np.mean([_logits(m, x) for m in members], axis=0)
    np.testing.assert_allclose(_logits(merged, x), mean, rtol=1e-4, atol=1e-4)
    # and the head's inference (bot/emotion/head.py) runs the merged net unchanged
    head = GoEmotionsHead(**merged, thresholds=np.full(28, 0.5, np.float32), labels=("x",) * 28)
    np.testing.assert_allclose(head.probabilities(x), sigmoid(mean), atol=1e-5)
    # one member merges into itself
    np.testing.assert_array_equal(merge_ensemble(members[:1])["w2"], members[0]["w2"])
    with pytest.raises(ValueError):
        merge_ensemble([])


def test_thresholds_are_tuned_per_label_for_f1() -> None:
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=np.float32)
    probs = np.array([[0.3, 0.1], [0.25, 0.7], [0.1, 0.8], [0.05, 0.75]], dtype=np.float32)
    thresholds = tune_thresholds(truth, probs)
    assert 0.1 < thresholds[0] <= 0.25  # catches both positives, not the 0.1 negative
    assert thresholds[1] > 0.75
    assert f1_scores(truth, probs >= thresholds).tolist() == [1.0, 1.0]
