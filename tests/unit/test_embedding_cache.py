"""The shared embedding cache (bot/emotion/embeddings.py): each text's vector is exactly its
vector alone, whatever it is asked with; repeats are served from a bounded, thread-safe cache;
the crisis screen embeds a message and its sentences in one call."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.emotion import embeddings
from bot.emotion.embeddings import (
    EmbeddingCache,
    cached_embedding,
    cached_embeddings,
    clear_embedding_cache,
    embed,
    embedding_cache,
    word_pieces,
)

TEXTS = [
    "I have the pills ready, I'm going to take them all tonight.",
    "What's the point of living anymore?",
    "work was fine today",
    "anyway, any show recommendations? I finished the one about the bakers",
    "ok",
    "we went out for food",  # the same number of word pieces as the next one
    "my cat is asleep now",
    "今日は少し疲れた",
    "",
    "word " * 600,  # longer than MiniLM's 256 word pieces: truncated as `encode` truncates
]


def _vector(value: float) -> np.ndarray:
    return np.full(4, value, dtype=np.float32)


# ---- the cache alone (no model) ---------------------------------------------------------------


def test_the_cache_serves_what_was_put_read_only_and_counts_hits() -> None:
    cache = EmbeddingCache(size=4)
    assert cache.get((1, 2)) is None
    stored = cache.put((1, 2), _vector(1.0))
    assert cache.get((1, 2)) is stored
    assert not stored.flags.writeable  # a caller cannot change another caller's vector
    with pytest.raises(ValueError):
        stored[0] = 5.0
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = EmbeddingCache(size=3)
    for i in range(3):
        cache.put((i,), _vector(float(i)))
    assert cache.get((0,)) is not None  # (0,) is now the most recently used
    cache.put((3,), _vector(3.0))
    assert len(cache) == 3
    assert cache.get((1,)) is None  # the least recently used went out
    assert all(cache.get((i,)) is not None for i in (0, 2, 3))
    with pytest.raises(ValueError):
        EmbeddingCache(size=0)


def test_clearing_forgets_every_vector() -> None:
    cache = EmbeddingCache(size=3)
    cache.put((1,), _vector(1.0))
    cache.clear()
    assert len(cache) == 0 and cache.get((1,)) is None


def test_the_cache_stays_consistent_under_threads() -> None:
    """Eight threads putting and reading overlapping keys: never more than `size` entries, every
    read returns the vector of its own key, and a key stored twice keeps its first vector."""
    cache = EmbeddingCache(size=50)
    errors: list[str] = []

    def work(seed: int) -> None:
        for i in range(2000):
            key = ((seed * 7 + i) % 120,)
            kept = cache.put(key, _vector(float(key[0])))
            if kept[0] != key[0]:
                errors.append(f"put {key} returned {kept[0]}")
            hit = cache.get(key)
            if hit is not None and hit[0] != key[0]:
                errors.append(f"get {key} returned {hit[0]}")
            if len(cache) > cache.size:
                errors.append("over the bound")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(cache) == 50


# ---- with the model ---------------------------------------------------------------------------


@pytest.mark.slow
def test_every_vector_is_exactly_the_texts_vector_alone() -> None:
    """Bit for bit what `embed([text])` gives, asked alone, in a batch of mixed lengths, or from
    the cache: the packed forward pass never pads a text nor lets two texts' attention mix."""
    alone = np.stack([embed([t])[0] for t in TEXTS])
    clear_embedding_cache()
    batch = cached_embeddings(TEXTS)
    np.testing.assert_array_equal(batch, alone)
    np.testing.assert_array_equal(cached_embeddings(list(reversed(TEXTS)))[::-1], alone)
    clear_embedding_cache()
    np.testing.assert_array_equal(np.stack([cached_embedding(t) for t in TEXTS]), alone)


@pytest.mark.slow
def test_a_repeated_text_is_embedded_once_and_case_shares_an_entry() -> None:
    """MiniLM is uncased: the screen's lower-cased reading and the message share one entry."""
    clear_embedding_cache()
    cache = embedding_cache()
    first = cached_embedding("I Need To Talk To Someone")
    assert cached_embedding("i need to talk to someone") is first
    cached_embeddings(["I Need To Talk To Someone", "i need to talk to someone"])
    assert len(cache) == 1 and cache.misses == 1 and cache.hits == 2
    assert word_pieces(["I Need To Talk"]) == word_pieces(["i need to talk"])
    clear_embedding_cache()
    assert len(cache) == 0 and not embeddings._PIECES  # the remembered word pieces too
    again = cached_embedding("I Need To Talk To Someone")
    assert again is not first
    np.testing.assert_array_equal(again, first)


@pytest.mark.slow
def test_misses_are_embedded_in_one_call_and_one_forward_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_embedding_cache()
    passes: list[list[int]] = []
    forward = embeddings._forward

    def counted(rows: list[tuple[int, ...]]) -> np.ndarray:
        passes.append([len(r) for r in rows])
        return forward(rows)

    monkeypatch.setattr(embeddings, "_forward", counted)
    texts = ["we went out for food", "my cat is asleep now", "ok", "ok", "I can't sleep again"]
    cached_embeddings(texts)
    assert len(passes) == 1 and sorted(passes[0]) == [3, 7, 7, 8]  # "ok" once, no padding
    passes.clear()
    cached_embeddings(texts)
    assert passes == []  # all from the cache
    clear_embedding_cache()
    cached_embeddings([f"text number {i}" for i in range(embeddings.FORWARD_ROWS + 1)])
    assert [len(p) for p in passes] == [embeddings.FORWARD_ROWS, 1]  # bounded passes


@pytest.mark.slow
def test_the_crisis_screen_embeds_a_message_and_its_sentences_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole message and its sentences: one `cached_embeddings` call, one miss each, and the
    probability the same as when every vector is computed on its own (no padding, no cache)."""
    from bot.safety import classifier as crisis_classifier
    from bot.safety.classifier import load_crisis_classifier, sentences

    model = load_crisis_classifier()
    assert model is not None
    text = (
        "Work was fine, nothing special happened today. I've counted the pills twice now. "
        "Anyway, any show recommendations for the weekend?"
    )
    parts = sentences(text, "en")
    assert len(parts) == 3
    clear_embedding_cache()
    calls: list[int] = []
    batch = embeddings.cached_embeddings

    def counted(texts: list[str]) -> np.ndarray:
        if texts:
            calls.append(len(texts))
        return batch(texts)

    monkeypatch.setattr(crisis_classifier, "cached_embeddings", counted)
    once = model.probability(text, "en")
    # one call embeds the message and its three sentences; later reads are cache hits only
    assert calls[0] == 1 + len(parts)
    assert embedding_cache().misses == 1 + len(parts)

    # the same reading from vectors computed one by one, outside any cache
    en = model.models["en"]
    whole = 1 / (1 + np.exp(-en.logit(embed([text])[0], text)))
    alone = [1 / (1 + np.exp(-(en.logit(embed([p])[0], p) - en.sentence_offset))) for p in parts]
    assert once == pytest.approx(max(whole, *alone), abs=1e-9)


@pytest.mark.slow
def test_many_texts_of_mixed_lengths_packed_together_match_their_vectors_alone() -> None:
    """The first development crisis set's lines (EN and JA, 3 to ~100 word pieces), packed 16
    to a pass in their file order: every vector bit for bit equal to the line's vector alone."""
    from bot.config import PROJECT_ROOT
    from bot.yaml_files import read_yaml

    data = read_yaml(PROJECT_ROOT / "tests" / "data" / "crisis_holdout.yaml")
    lines = [*data["crisis"]["en"], *data["crisis"]["ja"]]
    for groups in data["not_crisis"].values():
        for texts in groups.values():
            lines += texts
    lines = list(dict.fromkeys(lines))
    assert len(lines) > 200
    alone = np.stack([embed([t])[0] for t in lines])
    clear_embedding_cache()
    np.testing.assert_array_equal(cached_embeddings(lines), alone)


@pytest.mark.slow
def test_a_pass_runs_on_one_torch_thread_and_restores_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Serving passes run torch on one thread (a short text gains nothing from splitting, and
    threads spin against a busy core); the process's own setting is back afterwards."""
    import torch

    seen: list[int] = []
    scaled = torch.nn.functional.scaled_dot_product_attention

    def watched(*args: object, **kwargs: object) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return scaled(*args, **kwargs)  # type: ignore[arg-type]

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", watched)
        clear_embedding_cache()
        cached_embedding("a text to embed on one thread")
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
