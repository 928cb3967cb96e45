"""`needtotalk classify` end to end: stdin lines in, one JSON object per line out."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import main
from bot.domain import Emotion

pytestmark = pytest.mark.slow


def test_classify_prints_one_json_object_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (
        "I wish I had never said that to my brother.\n\nありがとう、本当に助かった！\nok\n"
        "I want to kill myself tonight.\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["classify", "--batch", "2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 4  # the blank line is skipped
    for row in rows:
        assert set(row) >= {
            "emotion",
            "user_class",
            "scores",
            "polarity",
            "crisis",
            "language",
            "goemotions",
            "content_class",
            "affect",
        }
        assert set(row["scores"]) == {e.value for e in Emotion}
        assert len(row["goemotions"]) == 28
        if row["affect"] > 0:
            assert row["emotion"] == max(row["scores"], key=row["scores"].__getitem__)
        assert set(row["polarity"]) == {"pos", "neg"}
    assert rows[0]["user_class"] == "vulnerable" and rows[0]["language"] == "en"
    assert rows[1]["language"] == "ja" and rows[1]["polarity"]["pos"] > 0.5
    assert rows[2]["content_class"] == "inspirational"
    # "ok" says nothing about feelings: flat scores, and no emotion or class is made up for it
    assert rows[2]["affect"] == 0 and rows[2]["emotion"] is None and rows[2]["user_class"] is None
    assert max(rows[2]["scores"].values()) - min(rows[2]["scores"].values()) < 1e-6
    assert [row["crisis"] for row in rows] == [False, False, False, True]


def test_classify_forced_language(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("arigatou\n"))
    assert main(["classify", "--language", "ja"]) == 0
    assert json.loads(capsys.readouterr().out)["language"] == "ja"
