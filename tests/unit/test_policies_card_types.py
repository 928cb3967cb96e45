"""Card types from policies/card_types.yaml through the decorator registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from bot.cards.card_types import (
    DEFAULT_CARD_TYPES_PATH,
    CardTypeKind,
    KbCardType,
    PeerPost,
    load_card_types,
    register_card_type,
    resolve_kind,
)
from bot.domain import ContentClass
from bot.policies import PolicyFileError


@register_card_type("test_exercise")
class Exercise(CardTypeKind):
    """A kind defined outside the module, as a plug-in would."""

    source = "kb"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        minutes: int


def test_project_card_types() -> None:
    catalog = load_card_types()
    assert {"peer_story", "kb_inspirational", "kb_entertaining", "coping_tip"} <= set(catalog)
    assert isinstance(catalog["peer_story"], PeerPost)
    assert isinstance(catalog["coping_tip"], KbCardType)
    assert catalog["coping_tip"].folder == "coping"
    assert catalog["kb_entertaining"].allows(ContentClass.ENTERTAINING)
    assert not catalog["kb_entertaining"].allows(ContentClass.VULNERABLE)
    assert {t.id for t in catalog.from_source("peer")} >= {"peer_story", "peer_question"}
    assert all(t.source == "kb" for t in catalog.from_source("kb"))


def test_peer_text_limits() -> None:
    story = load_card_types()["peer_story"]
    assert isinstance(story, PeerPost)
    assert story.text_problem("   ") == "empty"
    assert story.text_problem("x" * 1001) == "too_long"
    assert story.text_problem("a real sentence") is None


def _write(tmp_path: Path, entries: list[dict[str, object]]) -> Path:
    path = tmp_path / "card_types.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "card_types": entries}), "utf-8")
    return path


def test_registered_and_dotted_kinds(tmp_path: Path) -> None:
    entry = {
        "id": "breathing_exercise",
        "description": "a timed breathing exercise",
        "source": "kb",
        "content_classes": ["inspirational"],
        "options": {"minutes": 3},
    }
    by_name = load_card_types(_write(tmp_path, [{**entry, "kind": "test_exercise"}]))
    assert isinstance(by_name["breathing_exercise"], Exercise)
    dotted = f"{__name__}:Exercise"
    (tmp_path / "b").mkdir()
    by_path = load_card_types(_write(tmp_path / "b", [{**entry, "kind": dotted}]))
    assert by_path["breathing_exercise"].options.minutes == 3  # type: ignore[attr-defined]
    assert resolve_kind(dotted) is Exercise


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "nope"}, "unknown card type kind"),
        ({"kind": "bot.cards.card_types:DEFAULT_CARD_TYPES_PATH"}, "not a CardTypeKind"),
        ({"kind": "no.such.module:Thing"}, "cannot import"),
        ({"source": "peer"}, "serves source"),
        ({"options": {"minutes": "long"}}, "minutes"),
        ({"options": {"minutes": 3, "colour": "red"}}, "colour"),
        ({"content_classes": []}, "content_classes"),
        ({"id": "Bad Id"}, "id"),
    ],
)
def test_bad_entries_are_refused(tmp_path: Path, change: dict[str, object], message: str) -> None:
    entry = {
        "id": "breathing_exercise",
        "description": "a timed breathing exercise",
        "source": "kb",
        "content_classes": ["inspirational"],
        "kind": "test_exercise",
        "options": {"minutes": 3},
    }
    with pytest.raises(PolicyFileError, match=message):
        load_card_types(_write(tmp_path, [{**entry, **change}]))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_CARD_TYPES_PATH.read_text("utf-8"))
    data["card_types"].append(data["card_types"][0])
    path = tmp_path / "card_types.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    with pytest.raises(PolicyFileError, match="used twice"):
        load_card_types(path)


def test_a_kind_name_cannot_be_taken_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register_card_type("peer_post")(Exercise)
