"""policies/console.yaml and safety.yaml's case retention go through `needtotalk policies check`."""

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
    return Settings(
        policies_dir=tmp_path / "policies",
        prompts_dir=tmp_path / "prompts",
        kb_dir=tmp_path / "kb",
    )


def test_a_console_policy_that_never_locks_is_refused(project: Settings) -> None:
    path = project.policies_dir / "console.yaml"
    path.write_text(path.read_text("utf-8").replace("max_failed_logins: 5", "max_failed_logins: 0"))
    problems = check_all(project)
    assert [(p.path, p.location) for p in problems] == [
        ("policies/console.yaml", "max_failed_logins")
    ]


def test_a_negative_case_retention_is_refused(project: Settings) -> None:
    path = project.policies_dir / "safety.yaml"
    text = path.read_text("utf-8").replace("case_retention_days: 30", "case_retention_days: -1")
    path.write_text(text, "utf-8")
    problems = check_all(project)
    assert [(p.path, p.location) for p in problems] == [
        ("policies/safety.yaml", "case_retention_days")
    ]


def test_the_console_policy_is_required(project: Settings) -> None:
    (project.policies_dir / "console.yaml").unlink()
    assert [str(p) for p in check_all(project)] == [
        "policies/console.yaml: required file is missing"
    ]
