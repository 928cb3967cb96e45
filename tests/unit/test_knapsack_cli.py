"""`needtotalk knapsack solve`, end to end through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = {
    "groups": [
        [
            {"id": "a", "value": 1.5, "weights": [1, 0.4]},
            {"id": "b", "value": 2, "weights": [1, 3]},
        ],
        [{"id": "c", "value": 1.0, "weights": [1, 0.5]}],
        [{"id": "d", "value": 0.7, "weights": [1, 0.1]}],
    ],
    "capacities": [2, 3.4],
    "method": "exact",
}


@pytest.mark.parametrize("method", ["exact", "fast", "surrogate", "greedy"])
def test_solve_prints_the_answer_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(INSTANCE), "utf-8")
    assert main(["knapsack", "solve", str(path), "--method", method]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) >= {"selected", "objective", "bound", "status", "seconds"}
    # b + c (3.0) needs load 3.5 > 3.4; b + d (2.7, load 3.1) beats a + c (2.5).
    assert answer["objective"] <= 2.7 + 1e-9
    if method in ("exact", "fast"):
        assert sorted(answer["selected"]) == ["b", "d"]
        assert answer["status"] == "optimal"
    else:
        assert answer["status"] == "feasible"


def test_solve_reads_standard_input_in_a_real_process() -> None:
    instance = dict(INSTANCE, capacities=[3, -1])
    run = subprocess.run(
        [sys.executable, "-m", "bot", "knapsack", "solve", "-"],
        input=json.dumps(instance),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "infeasible"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"groups": [', "not valid JSON"),
        ("[1, 2]", "top level"),
        ('{"groups": []}', "missing 'capacities'"),
        ('{"groups": [[{"id": "a", "value": "x", "weights": [1]}]], "capacities": [1]}', "value"),
        (
            '{"groups": [[{"id": "a", "value": 1, "weights": [1, 2]}]], "capacities": [1]}',
            "weights",
        ),
        ('{"groups": [], "capacities": [1], "method": "quantum"}', "method"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, "utf-8")
    assert main(["knapsack", "solve", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_a_missing_file_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["knapsack", "solve", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
