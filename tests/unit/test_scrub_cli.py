"""`needtotalk scrub` reads stdin and prints the scrubbed text (or JSON with the kinds)."""

from __future__ import annotations

import io
import json

import pytest

from bot.cli import main


def test_scrub_prints_scrubbed_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("mail a@b.com at 10:30\n"))
    assert main(["scrub"]) == 0
    assert capsys.readouterr().out == "mail [email removed] at 10:30\n"


def test_scrub_json_lists_kinds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("名前はゆかです。090-1234-5678"))
    assert main(["scrub", "--json", "--lang", "ja"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["text"] == "名前は［名前削除］です。［電話番号削除］"
    assert sorted(payload["removed"]) == ["name", "phone"]
    assert payload["counts"] == {"phone": 1, "name": 1}
    assert payload["summary"] == "削除しました：電話番号 1件、名前 1件"


def test_scrub_masks_the_given_author_names_and_lists_identifying_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "mia here, I work at Tesco. Love, Mia Kowalski (mia_k)\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    args = ["scrub", "--json", "--identifying", "--first-name", "Mia", "--username", "mia_k"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["text"] == (
        "[name removed] here, I work at Tesco. Love, [name removed] ([handle removed])\n"
    )
    assert payload["identifying"] == ["Tesco"]
