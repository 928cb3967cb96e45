"""GoEmotions splits (Demszky et al., ACL 2020; CC BY 4.0) from a folder, embedded with a cache.

The folder holds `original_train.tsv`, `original_dev.tsv` (text, comma-separated label ids,
comment id) and `original_labels.txt` (names in id order; 27 = neutral). The project does not
ship the tsvs: training and benchmarks take `--data DIR`.

Embedding 48k comments with MiniLM takes minutes on a small CPU, so embeddings are cached in a
(gitignored) folder keyed by a hash of the texts: a changed split never reuses stale vectors.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.emotion.embeddings import embed

# The paper's groupings (README of the data; Demszky et al. 2020, §5).
SENTIMENT_GROUPS: dict[str, tuple[str, ...]] = {
    "positive": tuple(
        [
            "admiration",
            "amusement",
            "approval",
            "caring",
            "desire",
            "excitement",
            "gratitude",
            "joy",
            "love",
            "optimism",
            "pride",
            "relief",
        ]
    ),
    "negative": tuple(
        [
            "anger",
            "annoyance",
            "disappointment",
            "disapproval",
            "disgust",
            "embarrassment",
            "fear",
            "grief",
            "nervousness",
            "remorse",
            "sadness",
        ]
    ),
    "ambiguous": ("confusion", "curiosity", "realization", "surprise"),
    "neutral": ("neutral",),
}
EKMAN_GROUPS: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": SENTIMENT_GROUPS["positive"],
    "sadness": ("disappointment", "embarrassment", "grief", "remorse", "sadness"),
    "surprise": ("confusion", "curiosity", "realization", "surprise"),
    "neutral": ("neutral",),
}


@dataclass(frozen=True)
class Split:
    """One split: texts and a multi-hot label matrix (n, len(labels))."""

    texts: list[str]
    labels: NDArray[np.float32]
    label_names: tuple[str, ...]


def read_label_names(directory: Path) -> tuple[str, ...]:
    path = directory / "original_labels.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {directory} a GoEmotions folder?")
    return tuple(line.strip() for line in path.read_text("utf-8").splitlines() if line.strip())


def read_split(directory: Path, name: str, limit: int | None = None) -> Split:
    """Read `original_<name>.tsv`; `limit` keeps the first rows (for quick runs and tests)."""
    names = read_label_names(directory)
    path = directory / f"original_{name}.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    texts: list[str] = []
    rows: list[list[int]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(record) < 2:
                continue
            texts.append(record[0])
            rows.append([int(i) for i in record[1].split(",") if i])
            if limit is not None and len(texts) >= limit:
                break
    labels = np.zeros((len(texts), len(names)), dtype=np.float32)
    for i, ids in enumerate(rows):
        labels[i, ids] = 1.0
    return Split(texts=texts, labels=labels, label_names=names)


def group_matrix(
    label_names: Sequence[str], groups: dict[str, tuple[str, ...]]
) -> NDArray[np.float32]:
    """(labels, groups) 0/1 matrix: a label belongs to one group."""
    matrix = np.zeros((len(label_names), len(groups)), dtype=np.float32)
    for j, members in enumerate(groups.values()):
        for member in members:
            matrix[label_names.index(member), j] = 1.0
    return matrix


def _texts_key(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def embed_cached(
    texts: Sequence[str], cache_dir: Path | None, label: str = "texts", chunk: int = 2048
) -> NDArray[np.float32]:
    """Embeddings of `texts`, read from / written to `cache_dir` when given; progress on stderr."""
    from bot.emotion.embeddings import bfloat16_is_fast

    kind = "minilm-bf16" if bfloat16_is_fast() else "minilm"  # the encoder's precision differs
    path = cache_dir / f"{kind}-{_texts_key(texts)}.npy" if cache_dir else None
    if path is not None and path.is_file():
        cached = np.load(path)
        if cached.shape[0] == len(texts):
            return np.asarray(cached, dtype=np.float32)
    parts: list[NDArray[np.float32]] = []
    for start in range(0, len(texts), chunk):
        parts.append(embed(list(texts[start : start + chunk])))
        done = min(start + chunk, len(texts))
        print(f"embedding {label}: {done}/{len(texts)}", file=sys.stderr, flush=True)
    vectors = np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors
