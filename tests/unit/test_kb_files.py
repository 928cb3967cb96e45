"""Every kb/ file's front matter, and the checks that catch a broken one."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.domain import ContentClass, Language
from bot.knowledge.kb_files import KbFileError, kb_problems, load_kb_cards, parse_kb_file

KB = PROJECT_ROOT / "kb"
ALL_FILES = sorted([*KB.glob("cards/*/*.md"), *KB.glob("coping/*/*.md")])


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_every_kb_file_parses(path: Path) -> None:
    card = parse_kb_file(path)
    assert card.id == path.stem
    assert card.language.value == path.parent.name
    assert card.text and card.tags


def test_project_kb_has_no_problems() -> None:
    assert kb_problems(Settings()) == []


@pytest.mark.parametrize("language", list(Language))
def test_enough_cold_start_cards_per_language(language: Language) -> None:
    cards = load_kb_cards(KB, language)
    kinds = Counter(c.card_type for c in cards)
    classes = Counter(c.content_class for c in cards if c.card_type != "coping_tip")
    assert kinds["kb_inspirational"] + kinds["kb_entertaining"] >= 30
    assert classes[ContentClass.INSPIRATIONAL] >= 10
    assert classes[ContentClass.ENTERTAINING] >= 10
    assert kinds["coping_tip"] >= 10
    tags = Counter(t for c in cards if c.card_type == "coping_tip" for t in c.tags)
    for topic in ("breathing", "grounding", "sleep", "reaching-out"):
        assert tags[topic] >= 1, topic


def test_ids_are_unique_across_kb() -> None:
    ids = [c.id for c in load_kb_cards(KB)]
    assert len(ids) == len(set(ids))


GOOD = """---
id: en-test-001
language: en
content_class: inspirational
card_type: kb_inspirational
tags: [hope]
---
A small kind sentence.
"""


def _tmp_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    (kb / "cards" / "en").mkdir(parents=True)
    (kb / "cards" / "ja").mkdir(parents=True)
    (kb / "coping" / "en").mkdir(parents=True)
    (kb / "cards" / "en" / "en-test-001.md").write_text(GOOD, encoding="utf-8")
    return kb


def _problems(tmp_path: Path) -> list[str]:
    kb = tmp_path / "kb"
    return [str(p) for p in kb_problems(Settings(kb_dir=kb))]


def test_a_good_tmp_kb_has_no_problems(tmp_path: Path) -> None:
    _tmp_kb(tmp_path)
    assert _problems(tmp_path) == []


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("cards/en/en-test-002.md", "no front matter", "front matter"),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace("tags: [hope]\n", ""),
            "tags",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace(
                "inspirational\ncard", "happy\ncard"
            ),
            "content_class",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace("kb_inspirational", "kb_nonsense"),
            "not in policies/card_types.yaml",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace("kb_inspirational", "peer_story"),
            "not a kb card type",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace(
                "kb_inspirational", "kb_entertaining"
            ),
            "not allowed",
        ),
        (
            "coping/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002"),
            "belong in kb/cards/",
        ),
        ("cards/ja/en-test-002.md", GOOD.replace("en-test-001", "en-test-002"), "file is in ja/"),
        (
            "cards/en/en-test-003.md",
            GOOD.replace("en-test-001", "en-test-002"),
            "differs from the file name",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace(
                "sentence.", "sentence: mail a@b.com"
            ),
            "scrubber",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace("A small kind sentence.", ""),
            "no text",
        ),
        (
            "cards/en/en-test-002.md",
            GOOD.replace("en-test-001", "en-test-002").replace(
                "A small", "A small " + "very " * 200
            ),
            "characters",
        ),
        ("cards/en/en-test-002.md", GOOD.replace("tags: [hope]", "tags: [hope"), "not valid YAML"),
    ],
)
def test_broken_files_are_reported(tmp_path: Path, where: str, text: str, expected: str) -> None:
    kb = _tmp_kb(tmp_path)
    (kb / where).write_text(text, encoding="utf-8")
    problems = _problems(tmp_path)
    assert any(expected in p for p in problems), problems
    assert all(where in p for p in problems), problems


def test_duplicate_id_is_reported(tmp_path: Path) -> None:
    kb = _tmp_kb(tmp_path)
    shutil.copy(kb / "cards/en/en-test-001.md", kb / "cards/en/en-test-001b.md")
    problems = _problems(tmp_path)
    assert any("also used by" in p for p in problems), problems


def test_keywords_are_optional_and_parsed(tmp_path: Path) -> None:
    path = tmp_path / "en-test-009.md"
    path.write_text(GOOD.replace("tags: [hope]", "tags: [hope]\nkeywords: [calm, panic]"), "utf-8")
    assert parse_kb_file(path).keywords == ("calm", "panic")
    path.write_text(GOOD, "utf-8")
    assert parse_kb_file(path).keywords == ()


def test_parse_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("---\nid: en-x\n---\n", encoding="utf-8")
    with pytest.raises(KbFileError, match=r"x\.md"):
        parse_kb_file(path)
