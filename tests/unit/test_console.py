"""`needtotalk chat` end to end: the real CLI, a real SQLite file, lines on stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_chat_runs_offline_in_a_terminal(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}",
        "NEEDTOTALK_ENV": "development",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", "alice"],
        input="1\n/help\n/forget\n1\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "welcome to NeedToTalk" in out
    assert "1) Yes, let's start" in out
    assert "/read" in out
    assert "Everything about you has been deleted" in out
