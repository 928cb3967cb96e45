"""Scrubber and knowledge-base speed, each against a baseline measured in the same run.

- scrub: mean time per card over the kb/ cards plus the scrub test table (en and ja), against a
  baseline of one email-regex pass over the same texts (the cheapest scrub imaginable).
- kb search: mean time per query (embedding the query, chromadb, re-ranking), against
  embedding the query and a brute-force numpy dot product over every kb embedding.

    PYTHONPATH=. python benchmarks/scrub.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from bot.cards.scrub import scrub
from bot.config import Settings
from bot.emotion.embeddings import embed
from bot.knowledge.knowledge_base import KnowledgeBase

T = TypeVar("T")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
QUERIES = [
    ("I can't sleep at night", "en"),
    ("my breathing is fast", "en"),
    ("tell me something funny", "en"),
    ("夜眠れない", "ja"),
    ("誰かに話を聞いてほしい", "ja"),
]


def _texts() -> list[str]:
    from tests.unit.test_scrub_table import LEAVE_ALONE, REMOVE

    kb = KnowledgeBase(Settings())
    return [c.text for c in kb.all_cards()] + [row[0] for row in REMOVE] + LEAVE_ALONE


def _mean_seconds(fn: Callable[[T], object], items: list[T], repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        for item in items:
            fn(item)
    return (time.perf_counter() - start) / (repeats * len(items))


def main() -> int:
    parser = argparse.ArgumentParser(description="scrubber and kb search speed vs baselines")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    texts = _texts()
    scrub("warm up: 名前はゆかです a@b.com")
    ours = _mean_seconds(scrub, texts, args.repeats)
    base = _mean_seconds(lambda t: _EMAIL.sub("", t), texts, args.repeats)
    print(f"scrub: {len(texts)} texts, {ours * 1e3:.2f} ms/text ({1 / ours:.0f} texts/s)")
    print(f"  baseline (one email regex): {base * 1e6:.1f} µs/text; ratio {ours / base:.0f}x")

    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Settings(chroma_path=tmp, chroma_host=None))
        kb.index()
        cards = kb.all_cards()
        matrix = embed([c.text for c in cards])
        ours = _mean_seconds(lambda q: kb.search(q[0], q[1], 5), QUERIES, args.repeats)
        base = _mean_seconds(
            lambda q: np.argsort(-(matrix @ embed([q[0]])[0]))[:5], QUERIES, args.repeats
        )
    print(f"kb search: {len(cards)} cards, {ours * 1e3:.1f} ms/query")
    print(f"  baseline (embed + numpy brute force): {base * 1e3:.1f} ms/query", end="; ")
    print(f"ratio {ours / base:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
