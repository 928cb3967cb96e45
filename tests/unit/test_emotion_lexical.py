"""The word-level GoEmotions head: scikit-learn-exact features, training, the shipped artefact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.emotion.goemotions_data import read_split
from bot.emotion.head import GoEmotionsHead, sigmoid
from bot.emotion.lexical_head import BLEND_SPACES, LexicalHead, blend, terms
from bot.emotion.lexical_training import BLEND_GRID, train_lexical_head

TINY = Path(__file__).parents[1] / "data" / "goemotions_tiny"


def test_features_match_scikit_learn_tfidf() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = list(read_split(TINY, "train").texts)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(matrix.shape[1], 28)).astype(np.float32)
    intercept = rng.normal(size=28).astype(np.float32)
    head = LexicalHead(
        vocabulary={str(t): int(i) for t, i in vectorizer.vocabulary_.items()},
        idf=np.asarray(vectorizer.idf_, np.float32),
        coef=coef,
        intercept=intercept,
        blend=0.5,
        thresholds=np.full(28, 0.5, np.float32),
        group_thresholds={},
    )
    expected = sigmoid(np.asarray(matrix @ coef) + intercept)
    np.testing.assert_allclose(head.probabilities(texts), expected, atol=1e-5)
    assert terms("I can't BELIEVE it") == ["can", "believe", "it", "can believe", "believe it"]


def test_training_chooses_blend_on_held_out_train_and_round_trips(tmp_path: Path) -> None:
    mlp = GoEmotionsHead.load()
    head, figures = train_lexical_head(TINY, mlp, tmp_path / "cache", progress=lambda _: None)
    assert head.blend in BLEND_GRID and figures["blend"] == head.blend
    assert head.blend_space in BLEND_SPACES and figures["blend_space"] == head.blend_space
    assert set(figures["held_out_train_by_blend"]) == set(BLEND_SPACES)
    for space in BLEND_SPACES:
        assert set(figures["held_out_train_by_blend"][space]) == {str(b) for b in BLEND_GRID}
    assert head.thresholds.shape == (28,) and set(head.group_thresholds) == {"ekman", "sentiment"}
    path = tmp_path / "lexical.npz"
    head.save(path)
    loaded = LexicalHead.load(path)
    texts = ["thank you so much, this made my day", "why would anyone do that"]
    np.testing.assert_allclose(loaded.probabilities(texts), head.probabilities(texts), atol=2e-3)
    assert loaded.blend == head.blend and loaded.blend_space == head.blend_space


def test_shipped_head_reads_words() -> None:
    head = LexicalHead.load()
    labels = GoEmotionsHead.load().labels
    p = head.probabilities(["thank you so much!", "I'm so sorry, that was my fault", "", "ok"])
    assert labels[int(p[0].argmax())] == "gratitude"
    assert labels[int(p[1].argmax())] == "remorse"
    np.testing.assert_allclose(p[2], sigmoid(head.intercept))  # no known words: base rates


def test_blend_spaces() -> None:
    mlp = np.array([[0.9, 0.5, 1e-9]], np.float32)
    words = np.array([[-2.0, 0.0, 3.0]], np.float32)  # log-odds
    # probabilities: a weighted mean of the two heads' probabilities
    np.testing.assert_allclose(
        blend(mlp, words, 0.25, "probability"), 0.75 * mlp + 0.25 * sigmoid(words), atol=1e-6
    )
    # log-odds: a weighted mean of the log-odds (the MLP's clipped to 1e-6), squashed
    mlp_logits = np.log(np.clip(mlp, 1e-6, 1) / (1 - np.clip(mlp, 1e-6, 1)))
    expected = sigmoid(0.75 * mlp_logits + 0.25 * words)
    np.testing.assert_allclose(blend(mlp, words, 0.25, "logit"), expected, atol=1e-5)
    # the ends of the blend are the heads themselves, in either space
    for space in BLEND_SPACES:
        np.testing.assert_allclose(blend(mlp, words, 0.0, space)[0, :2], mlp[0, :2], atol=1e-5)
        np.testing.assert_allclose(blend(mlp, words, 1.0, space), sigmoid(words), atol=1e-6)
    with pytest.raises(ValueError):
        blend(mlp, words, 0.5, "odds")
