"""`needtotalk simulate --json`: one JSON object, the four arms, and the learning-curve PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.learning.policy import load_learning_policy


def test_simulate_prints_one_json_object_and_writes_the_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "curves.png"
    argv = ["simulate", "--people", "6", "--days", "3", "--seed", "4", "--workers", "1"]
    code = main([*argv, "--json", "--no-progress", "--chart", str(chart)])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["default_learner"] == load_learning_policy().default_learner
    assert set(payload["arms"]) == {"thompson", "q_table", "random", "oracle"}
    for key in ("learned", "random", "oracle"):
        assert (
            payload[key]
            == payload["arms"][payload["default_learner"] if key == "learned" else key][
                "mean_reward"
            ]
        )
        assert payload[key] >= 0.0  # seed 1's reward is never negative
    assert payload["arms"]["oracle"]["checkins"] > 0
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_simulate_refuses_nonsense_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--people", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
