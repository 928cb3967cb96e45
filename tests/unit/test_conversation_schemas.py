"""`needtotalk policies check` covers the conversation core's files too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.policies import check_all


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    for name in ("policies", "prompts", "kb"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        NEEDTOTALK_POLICIES_DIR=tmp_path / "policies",
        NEEDTOTALK_PROMPTS_DIR=tmp_path / "prompts",
        NEEDTOTALK_KB_DIR=tmp_path / "kb",
    )


def test_a_broken_crisis_pattern_is_reported(project: Settings) -> None:
    path = project.policies_dir / "safety.yaml"
    path.write_text(path.read_text("utf-8").replace("threshold: 1.0", "threshold: -1"), "utf-8")
    problems = [str(p) for p in check_all(project)]
    assert any("safety.yaml" in p and "threshold" in p for p in problems), problems


def test_a_missing_translation_is_reported(project: Settings) -> None:
    path = project.prompts_dir / "ja" / "conversation.yaml"
    lines = [ln for ln in path.read_text("utf-8").splitlines() if not ln.startswith("help_")]
    path.write_text("\n".join(ln for ln in lines if not ln.startswith("empty:")), "utf-8")
    problems = [str(p) for p in check_all(project)]
    assert any("empty" in p for p in problems), problems


def test_helplines_without_a_default_are_reported(project: Settings) -> None:
    path = project.kb_dir / "helplines.yaml"
    path.write_text(path.read_text("utf-8").replace("default:", "fallback:"), "utf-8")
    problems = [str(p) for p in check_all(project)]
    assert any("helplines" in p for p in problems), problems


def test_the_shipped_files_pass(project: Settings) -> None:
    assert check_all(project) == []
