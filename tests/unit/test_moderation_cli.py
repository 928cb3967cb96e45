"""`needtotalk moderate` end to end, in a fresh process: stdin lines in, decisions out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def run(args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=600,
        check=False,
    )


def test_json_lines_decide_like_share() -> None:
    lines = (
        "Going for a walk every morning helped me more than I expected.\n"
        "\n"
        "Go ahead then, nobody will miss you.\n"
        "I want to kill myself tonight.\n"
        "Honestly I try, but I'm just not the kind of person people want around.\n"
        "Mail me at mia@example.com, it gets better.\n"
    )
    done = run(["moderate", "--json"], lines)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 5  # the blank line is skipped
    for row in rows:
        assert set(row) == {
            "decision",
            "readers",
            "content_class",
            "crisis",
            "scores",
            "reasons",
            "scrubbed",
        }
        assert row["decision"] in ("publish", "restrict", "hold")
    assert rows[0]["decision"] == "publish"
    assert rows[0]["readers"] == ["normal", "potential_healing"]
    assert rows[1]["decision"] == "hold" and rows[1]["readers"] == [] and not rows[1]["crisis"]
    assert rows[2]["decision"] == "hold" and rows[2]["crisis"]
    assert rows[3]["decision"] == "restrict" and "vulnerable" not in rows[3]["readers"]
    assert "mia@example.com" not in rows[4]["scrubbed"]


def test_readable_lines_without_json() -> None:
    done = run(["moderate"], "Go ahead then, nobody will miss you.\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HOLD")
    assert "nobody" in done.stdout


def test_help_explains_the_decisions() -> None:
    done = run(["moderate", "--help"], "")
    assert done.returncode == 0
    for word in ("publish", "restrict", "hold", "--json", "scrubbed"):
        assert word in done.stdout
