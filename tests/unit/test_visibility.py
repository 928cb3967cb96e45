"""The content-matching matrix (seed 1 §3.7) from policies/matching.yaml, over every pair."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.domain import ContentClass, UserClass
from bot.matching.visibility import (
    DEFAULT_MATCHING_PATH,
    MatchingPolicy,
    load_matching_policy,
    may_see,
)
from bot.policies import PolicyFileError

FEEL_GOOD = {UserClass.POTENTIAL_HEALING, UserClass.NORMAL}

# The rule as the issue states it, written out independently of the YAML.
EXPECTED: dict[tuple[UserClass, ContentClass], bool] = {
    (reader, content): (
        content in (ContentClass.INSPIRATIONAL, ContentClass.ENTERTAINING)
        or (content is ContentClass.VULNERABLE and reader in FEEL_GOOD)
    )
    for reader in UserClass
    for content in ContentClass
}


@pytest.mark.parametrize(("reader", "content"), sorted(EXPECTED))
def test_matrix(reader: UserClass, content: ContentClass) -> None:
    assert may_see(reader, content) is EXPECTED[(reader, content)]


def test_toxic_reaches_nobody_and_is_held() -> None:
    policy = load_matching_policy()
    assert not any(may_see(r, ContentClass.TOXIC, policy) for r in UserClass)
    assert policy.held_for_review(ContentClass.TOXIC)
    assert not policy.held_for_review(ContentClass.VULNERABLE)


def test_visible_classes_per_reader() -> None:
    policy = load_matching_policy()
    good = {ContentClass.INSPIRATIONAL, ContentClass.ENTERTAINING}
    assert policy.visible_classes(UserClass.NORMAL) == good | {ContentClass.VULNERABLE}
    assert policy.visible_classes(UserClass.HARMFUL) == good
    assert policy.visible_classes(UserClass.VULNERABLE) == good
    assert not policy.own_cards_visible


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "matching.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _default_data() -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(DEFAULT_MATCHING_PATH.read_text("utf-8"))
    return data


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d["content"]["toxic"].update(readers=["normal"]), "toxic"),
        (lambda d: d["content"]["toxic"].update(hold_for_review=False), "toxic"),
        (lambda d: d["content"]["vulnerable"]["readers"].append("harmful"), "vulnerable"),
        (lambda d: d["content"]["vulnerable"]["readers"].append("vulnerable"), "vulnerable"),
        (lambda d: d["content"].pop("entertaining"), "without a rule"),
        (lambda d: d.update(own_cards_visible=True), "own_cards_visible"),
        (lambda d: d["content"]["inspirational"].update(readers=["sad"]), "readers"),
        (lambda d: d["content"]["inspirational"].update(colour="red"), "colour"),
        (lambda d: d["staged_exposure"]["first_readers"].append("vulnerable"), "first_readers"),
        (lambda d: d["staged_exposure"]["first_readers"].append("harmful"), "first_readers"),
        (lambda d: d["staged_exposure"].update(first_readers=[]), "first_readers"),
        (lambda d: d["staged_exposure"].update(helped_to_widen=1), "helped_to_widen"),
        (lambda d: d["staged_exposure"].update(reports_to_hide=0), "reports_to_hide"),
        (lambda d: d["staged_exposure"].update(reports_to_hide=50), "reports_to_hide"),
        (lambda d: d.pop("staged_exposure"), "staged_exposure"),
    ],
)
def test_schema_refuses_unsafe_or_wrong_files(tmp_path: Path, edit: object, reason: str) -> None:
    data = _default_data()
    edit(data)  # type: ignore[operator]
    with pytest.raises(PolicyFileError, match=reason):
        load_matching_policy(_write(tmp_path, data))


def test_a_loosened_but_safe_file_is_honoured(tmp_path: Path) -> None:
    data = _default_data()
    data["content"]["entertaining"]["readers"] = ["normal"]  # type: ignore[index]
    policy = load_matching_policy(_write(tmp_path, data))
    assert isinstance(policy, MatchingPolicy)
    assert may_see(UserClass.NORMAL, ContentClass.ENTERTAINING, policy)
    assert not may_see(UserClass.VULNERABLE, ContentClass.ENTERTAINING, policy)
