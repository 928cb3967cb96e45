"""`needtotalk run` as a person starts it: a separate process, polling the local Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.fake_bot_api import FakeBotApi, SimulatedPerson

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHIDI = SimulatedPerson(id=8880001, first_name="Chidi", username="chidi_a", language_code="en")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


async def test_run_polls_answers_and_stops_cleanly_on_ctrl_c(
    server: FakeBotApi, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "NEEDTOTALK_ENV": "test",
        "NEEDTOTALK_SECRET_KEY": "run-command-test-secret-0123456789",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,  # no developer's .env is read
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        server.user_sends_command(CHIDI, "/start")
        welcome = await server.wait_for_reply(CHIDI.id, timeout=60)
        assert [d for m in welcome for _, d in m.buttons] == ["consent:yes", "consent:no"]
        assert {c["command"] for c in server.commands["ja"]} >= {"start", "forget"}
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()[-2000:]
    log = stderr.decode()
    assert "polling" in log
    assert server.token not in log  # the token is in every Bot API URL; it must not be logged


def test_run_without_a_token_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    assert main(["run"]) == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err
