"""The policy-schema registry and `needtotalk policies check`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from bot.cli import main
from bot.config import PROJECT_ROOT, Settings
from bot.features import POLICIES, modules_with
from bot.policies import (
    check_all,
    register_policy_schema,
    registered_schemas,
)


class _Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hello: str


# Only files named like this (created by these tests) match it.
register_policy_schema("prompts/*/zz_test_greeting.yaml", _Greeting)


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    """A copy of the project's policies/, prompts/ and kb/ to break."""
    for name in ("policies", "prompts", "kb"):
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / "prompts").mkdir(exist_ok=True)
    return Settings(
        policies_dir=tmp_path / "policies",
        prompts_dir=tmp_path / "prompts",
        kb_dir=tmp_path / "kb",
    )


def test_the_project_passes() -> None:
    assert check_all(Settings()) == []


def test_own_modules_are_listed_and_register() -> None:
    assert {"bot.cards.card_types", "bot.matching.visibility"} <= set(modules_with(POLICIES))
    check_all(Settings())
    globs = {s.glob for s in registered_schemas()}
    assert {"policies/matching.yaml", "policies/card_types.yaml"} <= globs


def test_copy_passes(project: Settings) -> None:
    assert check_all(project) == []


def test_schema_error_names_file_and_field(project: Settings) -> None:
    path = project.policies_dir / "matching.yaml"
    path.write_text(path.read_text("utf-8").replace("version: 1", "version: 2"), "utf-8")
    problems = check_all(project)
    assert [(p.path, p.location) for p in problems] == [("policies/matching.yaml", "version")]


def test_invalid_yaml_is_a_problem(project: Settings) -> None:
    (project.policies_dir / "card_types.yaml").write_text("card_types: [unclosed\n", "utf-8")
    problems = check_all(project)
    assert any(p.path == "policies/card_types.yaml" and "YAML" in p.message for p in problems)


def test_missing_required_file_is_a_problem(project: Settings) -> None:
    (project.policies_dir / "matching.yaml").unlink()
    problems = check_all(project)
    assert [str(p) for p in problems] == ["policies/matching.yaml: required file is missing"]


def test_card_type_options_are_validated(project: Settings) -> None:
    path = project.policies_dir / "card_types.yaml"
    path.write_text(path.read_text("utf-8").replace("max_chars: 300", "max_chars: 5"), "utf-8")
    problems = check_all(project)
    assert len(problems) == 1
    assert "peer_question" in problems[0].message and "max_chars" in problems[0].message


def test_registered_prompt_schema_applies_under_any_language(project: Settings) -> None:
    (project.prompts_dir / "en").mkdir(exist_ok=True)
    good = project.prompts_dir / "en" / "zz_test_greeting.yaml"
    good.write_text("hello: hi\n", "utf-8")
    assert check_all(project) == []
    (project.prompts_dir / "xx").mkdir()
    (project.prompts_dir / "xx" / "zz_test_greeting.yaml").write_text("hallo: hi\n", "utf-8")
    problems = check_all(project)
    assert {(p.path, p.location) for p in problems} == {
        ("prompts/xx/zz_test_greeting.yaml", "hello"),
        ("prompts/xx/zz_test_greeting.yaml", "hallo"),
    }


def test_kb_problems_are_part_of_the_check(project: Settings) -> None:
    card = next((project.kb_dir / "cards" / "en").glob("*.md"))
    card.write_text(card.read_text("utf-8") + "\nwrite to me: someone@example.com\n", "utf-8")
    problems = check_all(project)
    assert len(problems) == 1 and "scrubber" in problems[0].message


def test_cli_exit_codes(
    project: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEEDTOTALK_POLICIES_DIR", str(project.policies_dir))
    monkeypatch.setenv("NEEDTOTALK_PROMPTS_DIR", str(project.prompts_dir))
    monkeypatch.setenv("NEEDTOTALK_KB_DIR", str(project.kb_dir))
    assert main(["policies", "check"]) == 0
    (project.policies_dir / "matching.yaml").write_text("version: 1\n", "utf-8")
    assert main(["policies", "check"]) == 1
    out = capsys.readouterr().out
    assert "policies/matching.yaml: content: Field required" in out


def test_other_modules_schemas_are_checked_too(project: Settings) -> None:
    path = project.policies_dir / "knapsack.yaml"
    path.write_text(path.read_text("utf-8") + "\nno_such_setting: 1\n", "utf-8")
    problems = check_all(project)
    assert [(p.path, p.location) for p in problems] == [
        ("policies/knapsack.yaml", "no_such_setting")
    ]


def test_registering_twice_keeps_one_schema_and_the_stricter_flag() -> None:
    register_policy_schema("prompts/*/zz_test_greeting.yaml", _Greeting, required=False)
    matching = [s for s in registered_schemas() if s.glob == "prompts/*/zz_test_greeting.yaml"]
    assert len(matching) == 1 and matching[0].required is False
