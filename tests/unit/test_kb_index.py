"""The knowledge base indexed into a real chromadb with the real MiniLM embeddings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.domain import ContentClass
from bot.knowledge.knowledge_base import KnowledgeBase

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    """The project's kb/ indexed once into a temporary chromadb folder."""
    chroma = tmp_path_factory.mktemp("chroma")
    kb = KnowledgeBase(Settings(chroma_path=str(chroma), chroma_host=None))
    report = kb.index()
    assert report.removed == ()
    assert len(report.added) == report.total == len(kb.all_cards())
    yield kb


def test_reindex_is_idempotent(indexed: KnowledgeBase) -> None:
    report = indexed.index()
    assert report.added == report.updated == report.removed == ()
    assert len(report.unchanged) == len(indexed.all_cards())
    per_language = {lang: len(indexed.all_cards(lang)) for lang in ("en", "ja")}
    assert report.by_language == per_language
    assert min(per_language.values()) >= 40


@pytest.mark.parametrize(
    ("query", "language", "tag"),
    [
        ("I can't fall asleep, I lie awake at night worrying", "en", "sleep"),
        ("my breath is fast and I feel panicky, how do I calm my breathing", "en", "breathing"),
        ("I want to talk to a friend but I don't know how to ask", "en", "reaching-out"),
        ("夜眠れない", "ja", "sleep"),
        ("息が苦しくて落ち着かない", "ja", "breathing"),
        ("誰かに話を聞いてほしい", "ja", "reaching-out"),
        ("少し散歩でもしようかな", "ja", "movement"),
    ],
)
def test_search_finds_the_matching_coping_tip(
    indexed: KnowledgeBase, query: str, language: str, tag: str
) -> None:
    results = indexed.search(query, language, n=3)
    assert len(results) == 3
    assert all(card.language == language for card in results)
    assert any(tag in card.tags for card in results), [c.id for c in results]
    if language == "ja":  # where MiniLM alone fails, word overlap must put it first
        assert tag in results[0].tags, [c.id for c in results]


def test_search_respects_language_and_content_class(indexed: KnowledgeBase) -> None:
    results = indexed.search("animals", "ja", n=50, content_classes={ContentClass.ENTERTAINING})
    assert results
    assert {c.language for c in results} == {"ja"}
    assert {c.content_class for c in results} == {ContentClass.ENTERTAINING}
    assert {c.id for c in results} == {
        c.id for c in indexed.all_cards("ja") if c.content_class is ContentClass.ENTERTAINING
    }


def test_search_scores_are_ordered_similarities(indexed: KnowledgeBase) -> None:
    scored = indexed.search_scored("a fun fact about an animal", "en", n=5)
    scores = [s for _, s in scored]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert scored[0][0].content_class is ContentClass.ENTERTAINING


def test_stored_card_equals_the_file(indexed: KnowledgeBase) -> None:
    on_disk = {c.id: c for c in indexed.all_cards("en")}
    for card in indexed.search("breathing", "en", n=5):
        assert card == on_disk[card.id]


def test_changes_in_kb_are_picked_up(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    for folder in ("cards/en", "coping/en"):
        (kb_dir / folder).mkdir(parents=True)
    for name in ("en-inspirational-001", "en-inspirational-002"):
        shutil.copy(PROJECT_ROOT / "kb/cards/en" / f"{name}.md", kb_dir / "cards/en")
    shutil.copy(PROJECT_ROOT / "kb/coping/en/en-coping-001.md", kb_dir / "coping/en")
    settings = Settings(kb_dir=kb_dir, chroma_path=str(tmp_path / "chroma"), chroma_host=None)

    # An empty index is built on first search.
    assert len(KnowledgeBase(settings).search("breathing", "en", n=10)) == 3

    changed = kb_dir / "cards/en/en-inspirational-001.md"
    changed.write_text(changed.read_text("utf-8").replace("counts", "matters"), "utf-8")
    (kb_dir / "cards/en/en-inspirational-002.md").unlink()
    report = KnowledgeBase(settings).index()
    assert report.updated == ("en-inspirational-001",)
    assert report.removed == ("en-inspirational-002",)
    assert report.unchanged == ("en-coping-001",)
    texts = {c.id: c.text for c in KnowledgeBase(settings).search("today", "en", n=10)}
    assert set(texts) == {"en-inspirational-001", "en-coping-001"}
    assert "matters" in texts["en-inspirational-001"]
