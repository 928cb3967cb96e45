"""Scrubber and knowledge-base speed, each against a baseline measured in the same run.

- scrub: mean time per card over the kb/ cards plus the scrub test tables (en and ja), against a
  baseline of one email-regex pass over the same texts (the cheapest scrub imaginable); and
  again with the author's names passed, as the Telegram channel does.
- identifying names: the spaCy model's load time and time per text, and precision / recall on
  the labelled development set benchmarks/data/identifying_names_en.tsv for the model alone,
  the preposition rule alone and both together (what `identifying_names` uses). A predicted
  name counts as right when it overlaps an expected one.
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
from pathlib import Path
from typing import TypeVar

import numpy as np

from bot.cards.scrub import scrub
from bot.config import Settings
from bot.domain import AuthorNames
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
    from tests.unit import test_scrub_address as address
    from tests.unit import test_scrub_author_names as names
    from tests.unit.test_scrub_table import LEAVE_ALONE, REMOVE

    kb = KnowledgeBase(Settings())
    return (
        [c.text for c in kb.all_cards()]
        + [row[0] for row in REMOVE]
        + LEAVE_ALONE
        + [row[0] for row in address.REMOVE]
        + address.LEAVE_ALONE
        + [row[0] for row in names.SIGN_OFFS]
        + names.SIGN_OFF_LEAVE_ALONE
    )


DEV_SET = Path(__file__).parent / "data" / "identifying_names_en.tsv"


def _dev_rows() -> list[tuple[str, set[str]]]:
    rows = []
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, _, names = line.partition("\t")
        rows.append((text, {n for n in names.split("|") if n}))
    return rows


def _overlaps(a: str, b: str) -> bool:
    return a in b or b in a


def _precision_recall(
    finder: Callable[[str], list[str]], rows: list[tuple[str, set[str]]]
) -> tuple[float, float, int, int]:
    predicted = right = expected = found = 0
    for text, gold in rows:
        names = set(finder(text))
        predicted += len(names)
        right += sum(any(_overlaps(n, g) for g in gold) for n in names)
        expected += len(gold)
        found += sum(any(_overlaps(n, g) for n in names) for g in gold)
    return right / max(predicted, 1), found / max(expected, 1), predicted - right, expected - found


def _identifying(repeats: int) -> None:
    from bot.cards import identifying

    start = time.perf_counter()
    identifying._english_pipeline()
    load = time.perf_counter() - start
    rows = _dev_rows()
    finders: dict[str, Callable[[str], list[str]]] = {
        "model only (en_core_web_sm ORG/GPE/LOC/FAC)": lambda t: identifying._english_names(
            t, with_heuristic=False
        ),
        "preposition rule only": identifying._preposition_names,
        "model + preposition rule (used)": lambda t: list(identifying.identifying_names(t, "en")),
    }
    texts = [t for t, _ in rows]
    per_text = _mean_seconds(lambda t: identifying.identifying_names(t, "en"), texts, repeats)
    print(f"identifying names: model load {load:.2f} s, {per_text * 1e3:.1f} ms/text")
    print(f"  dev set: {len(rows)} texts, {sum(len(g) for _, g in rows)} expected names")
    for label, finder in finders.items():
        p, r, false_alarms, misses = _precision_recall(finder, rows)
        print(f"  {label}: precision {p:.2f}, recall {r:.2f}", end="")
        print(f" ({false_alarms} false alarms, {misses} missed)")


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
    names = AuthorNames(first_name="Mia", last_name="Kowalski", username="sunny_sophie")
    with_names = _mean_seconds(lambda t: scrub(t, author_names=names), texts, args.repeats)
    print(f"  with the author's names passed: {with_names * 1e3:.2f} ms/text")
    _identifying(args.repeats)

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
