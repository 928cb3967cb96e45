"""policies/moderation.yaml: the schema refuses every policy that would let toxic or crisis text
reach anyone, or vulnerable text reach a reader who feels bad (seed 1 §3.7), at load and in
`needtotalk policies check`."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.config import PROJECT_ROOT, Settings
from bot.domain import ContentClass, UserClass
from bot.moderation.policy import ModerationPolicy, load_moderation_policy
from bot.policies import check_all

SHIPPED: dict[str, Any] = yaml.safe_load(
    (PROJECT_ROOT / "policies" / "moderation.yaml").read_text("utf-8")
)


def changed(path: str, value: object) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


def test_shipped_policy_is_fail_closed() -> None:
    policy = load_moderation_policy()
    assert policy.readers.hold == frozenset()
    assert not policy.readers.restrict & {UserClass.VULNERABLE, UserClass.HARMFUL}
    assert policy.content_readers.of(ContentClass.TOXIC) == frozenset()
    assert policy.unreadable in ("hold", "restrict")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("readers.hold", ["normal"], "held text reaches nobody"),
        ("readers.restrict", ["normal", "vulnerable"], "feels bad"),
        ("readers.publish", ["potential_healing", "harmful"], "feels bad"),
        ("content_readers.toxic", ["potential_healing"], "toxic text reaches nobody"),
        ("content_readers.vulnerable", ["normal", "vulnerable"], "vulnerable"),
        ("content_readers.vulnerable", ["harmful"], "harmful"),
        ("thresholds.toxic_hold", 0.95, "less than or equal to 0.9"),
        ("thresholds.crisis_hold", 1.0, "less than or equal to 0.9"),
        ("thresholds.abusive_hold", 0.0, "greater than 0"),
        ("thresholds.bad_restrict", 0.8, "less than or equal to 0.5"),
        ("thresholds.publish_confidence", 0.3, "greater than or equal to 0.5"),
        ("thresholds.crisis_publish_below", 0.6, "less than or equal to 0.5"),
        ("thresholds.crisis_publish_below", 0.0, "greater than 0"),
        ("unreadable", "publish", "'hold' or 'restrict'"),
        ("thresholds.toxic_hold_by_analyser", {"ja": 0.3}, "may not be below toxic_hold"),
        ("thresholds.toxic_hold_by_analyser", {"ja": 0.95}, "less than or equal to 0.9"),
        ("thresholds.toxic_hold_by_analyser", {"xx": 0.8}, "names no analyser"),
    ],
)
def test_schema_refuses_an_unsafe_policy(path: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ModerationPolicy.model_validate(changed(path, value))
    assert message in str(caught.value)


def test_unknown_reader_class_and_missing_section_are_refused() -> None:
    with pytest.raises(ValidationError):
        ModerationPolicy.model_validate(changed("readers.publish", ["everyone"]))
    data = copy.deepcopy(SHIPPED)
    del data["thresholds"]
    with pytest.raises(ValidationError):
        ModerationPolicy.model_validate(data)


@pytest.fixture
def project(tmp_path: Path) -> Settings:
    for name in ("policies", "prompts", "kb"):
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    return Settings(
        policies_dir=tmp_path / "policies",
        prompts_dir=tmp_path / "prompts",
        kb_dir=tmp_path / "kb",
    )


def test_policies_check_reports_an_unsafe_moderation_policy(project: Settings) -> None:
    assert check_all(project) == []
    path = project.policies_dir / "moderation.yaml"
    path.write_text(yaml.safe_dump(changed("content_readers.toxic", ["normal"])), "utf-8")
    problems = check_all(project)
    assert len(problems) == 1
    assert problems[0].path.endswith("moderation.yaml")
    assert "toxic" in problems[0].message


def test_policies_check_requires_the_moderation_policy(project: Settings) -> None:
    (project.policies_dir / "moderation.yaml").unlink()
    assert any("moderation.yaml" in str(p) for p in check_all(project))
