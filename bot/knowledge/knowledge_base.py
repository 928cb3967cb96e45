"""The knowledge base: kb/ cards embedded with our MiniLM model and kept in chromadb.

Embedded default: a chromadb PersistentClient in settings.chroma_path (var/chroma); at scale a
chromadb server at settings.chroma_host (docs/architecture.md, "real parts"). Either way:

- vectors come from `bot.emotion.embeddings.embed` (all-MiniLM-L6-v2 from its wheel) and are
  passed to chromadb explicitly, with `embedding_function=None`: chromadb's default embedding
  function downloads a model at run time, which no code path here may do;
- telemetry is off (`anonymized_telemetry=False`);
- indexing is idempotent: cards are keyed by their kb id, a content hash in the metadata skips
  unchanged ones, and ids no longer in kb/ are deleted.

`all_cards(language)` reads kb/ directly, without chromadb, for tests and cold start.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from bot.cards.card_types import CardTypeCatalog, load_card_types
from bot.config import Settings
from bot.domain import ContentClass, Language
from bot.emotion.embeddings import embed
from bot.knowledge.kb_files import KbCard, load_kb_cards
from bot.knowledge.word_overlap import content_words, overlap
from bot.languages import registry

log = logging.getLogger(__name__)

# The model's name is part of the collection's, so vectors of two models never mix.
COLLECTION_NAME = "kb_cards_all-minilm-l6-v2"
_TAG_SEPARATOR = ","
# Re-ranking: score = cosine similarity + OVERLAP_WEIGHT * share of query words in the card,
# over the CANDIDATES_PER_RESULT * n nearest cards (bot.knowledge.word_overlap says why).
OVERLAP_WEIGHT = 0.5
CANDIDATES_PER_RESULT = 8
MIN_CANDIDATES = 200  # the whole of a kb this size: MiniLM ranks Japanese poorly

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class IndexReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    by_language: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)


def _content_hash(card: KbCard) -> str:
    parts = [card.text, card.language, card.content_class, card.card_type, card.title or ""]
    joined = "\x1f".join([*parts, *card.tags, "\x1e", *card.keywords])
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def _embedding_text(card: KbCard) -> str:
    """What is embedded: the title too, since "Box breathing" says what the tip is about."""
    return f"{card.title}. {card.text}" if card.title else card.text


def _metadata(card: KbCard) -> dict[str, str]:
    return {
        "language": card.language.value,
        "content_class": card.content_class.value,
        "card_type": card.card_type,
        "tags": _TAG_SEPARATOR.join(card.tags),
        "title": card.title or "",
        "keywords": _TAG_SEPARATOR.join(card.keywords),
        "content_hash": _content_hash(card),
    }


def _card_from_stored(card_id: str, document: str, meta: dict[str, Any]) -> KbCard:
    tags = str(meta.get("tags", ""))
    return KbCard(
        id=card_id,
        language=Language(str(meta["language"])),
        content_class=ContentClass(str(meta["content_class"])),
        card_type=str(meta["card_type"]),
        tags=tuple(t for t in tags.split(_TAG_SEPARATOR) if t),
        text=document,
        title=str(meta.get("title") or "") or None,
        keywords=tuple(k for k in str(meta.get("keywords", "")).split(_TAG_SEPARATOR) if k),
    )


def make_chroma_client(settings: Settings) -> Any:
    """HttpClient when CHROMA_HOST is set ("host", "host:port" or a URL), else PersistentClient."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        host = settings.chroma_host
        parsed = urlparse(host if "://" in host else f"http://{host}")
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    return chromadb.PersistentClient(path=settings.chroma_path, settings=chroma_settings)


class KnowledgeBase:
    """kb/ cards: parsed from disk, indexed in chromadb, searched by meaning."""

    def __init__(
        self,
        settings: Settings,
        card_types: CardTypeCatalog | None = None,
        client: Any = None,
    ) -> None:
        self._settings = settings
        self._card_types = card_types or load_card_types(settings.policies_dir / "card_types.yaml")
        self._client = client
        self._owns_client = client is None  # a client handed in is the caller's to close
        self._collection: Any = None

    def close(self) -> None:
        """Close the chromadb client this object opened (chromadb keeps a persistent store's
        files open until then); the next search opens it again."""
        if not self._owns_client:
            return
        client, self._client, self._collection = self._client, None, None
        close = getattr(client, "close", None)
        if callable(close):
            close()

    def all_cards(self, language: Language | str | None = None) -> list[KbCard]:
        """Every kb card of `language` (all languages if None), straight from kb/."""
        return load_kb_cards(self._settings.kb_dir, language, self._card_types)

    def _get_collection(self) -> Any:
        if self._collection is None:
            if self._client is None:
                self._client = make_chroma_client(self._settings)
            self._collection = self._client.get_or_create_collection(
                COLLECTION_NAME,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        return self._collection

    def index(self, progress: Progress | None = None) -> IndexReport:
        """Bring the collection in line with kb/: embed new and changed cards, drop stale ones."""
        say = progress or (lambda _message: None)
        cards = self.all_cards()
        collection = self._get_collection()
        stored = collection.get(include=["metadatas"])
        stored_hash = {
            card_id: str((meta or {}).get("content_hash", ""))
            for card_id, meta in zip(stored["ids"], stored["metadatas"] or [], strict=False)
        }
        wanted = {card.id for card in cards}
        added = [c for c in cards if c.id not in stored_hash]
        updated = [
            c for c in cards if c.id in stored_hash and stored_hash[c.id] != _content_hash(c)
        ]
        unchanged = [c.id for c in cards if stored_hash.get(c.id) == _content_hash(c)]
        removed = sorted(set(stored_hash) - wanted)
        to_write = [*added, *updated]
        if to_write:
            say(f"embedding {len(to_write)} card(s)…")
            vectors = embed([_embedding_text(c) for c in to_write])
            collection.upsert(
                ids=[c.id for c in to_write],
                embeddings=vectors,
                documents=[c.text for c in to_write],
                metadatas=[_metadata(c) for c in to_write],
            )
        if removed:
            collection.delete(ids=removed)
        by_language: dict[str, int] = {}
        for card in cards:
            by_language[card.language.value] = by_language.get(card.language.value, 0) + 1
        return IndexReport(
            added=tuple(c.id for c in added),
            updated=tuple(c.id for c in updated),
            unchanged=tuple(unchanged),
            removed=tuple(removed),
            by_language=by_language,
        )

    def search_scored(
        self,
        query_text: str,
        language: Language | str,
        n: int = 5,
        content_classes: Iterable[ContentClass] | None = None,
    ) -> list[tuple[KbCard, float]]:
        """The best `n` cards with their score (cosine similarity + weighted word overlap)."""
        collection = self._get_collection()
        if collection.count() == 0:
            log.info("kb index is empty; indexing kb/ now")
            self.index()
        lang = Language(language).value
        conditions: list[dict[str, Any]] = [{"language": lang}]
        if content_classes is not None:
            classes = sorted(ContentClass(c).value for c in content_classes)
            if not classes:
                return []
            conditions.append({"content_class": {"$in": classes}})
        where = conditions[0] if len(conditions) == 1 else {"$and": conditions}
        n = max(1, n)
        result = collection.query(
            query_embeddings=embed([query_text]),
            n_results=min(max(n * CANDIDATES_PER_RESULT, MIN_CANDIDATES), collection.count()),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        # The pack's words analyser (docs/languages.md); none: the embedding alone ranks.
        words = registry().get(lang).analyser("words")
        query_words = content_words(query_text, words)
        scored: list[tuple[KbCard, float]] = []
        for card_id, doc, meta, distance in zip(ids, documents, metadatas, distances, strict=True):
            card = _card_from_stored(card_id, doc, dict(meta or {}))
            card_text = " ".join([_embedding_text(card), *card.keywords])
            shared = overlap(query_words, content_words(card_text, words))
            scored.append((card, 1.0 - float(distance) + OVERLAP_WEIGHT * shared))
        scored.sort(key=lambda pair: pair[1], reverse=True)
        return scored[:n]

    def search(
        self,
        query_text: str,
        language: Language | str,
        n: int = 5,
        content_classes: set[ContentClass] | None = None,
    ) -> list[KbCard]:
        """The `n` kb cards of `language` that best answer `query_text`, best first."""
        return [card for card, _ in self.search_scored(query_text, language, n, content_classes)]
