"""The moderation model: its features match scikit-learn's, training runs end to end on real
(if tiny) data, and the shipped artefact is the one its figures describe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfTransformer

from bot.moderation.model import (
    CLASSES,
    DEFAULT_MODEL_PATH,
    ModerationModel,
    analyse,
    hashing_vectorizer,
    ngram_matrix,
)
from bot.moderation.training import (
    FALSE_HOLD_BUDGET,
    FALSE_PUBLISH_BUDGET,
    balanced,
    choose_thresholds,
    davidson_split,
    fit_idf,
    read_examples,
    train_moderation,
)
from tests.support.public_data import write_davidson

TEXTS = ["This shit is hard, but I made it.", "外国人は出ていけ", "ＦＵＬＬ width ＴＥＸＴ", ""]


def test_ngram_features_are_scikit_learns_sublinear_tfidf() -> None:
    counts = hashing_vectorizer().transform(TEXTS)
    reference = TfidfTransformer(sublinear_tf=True, smooth_idf=True).fit(counts)
    idf = fit_idf(TEXTS)
    np.testing.assert_allclose(idf[counts.indices], reference.idf_[counts.indices], rtol=1e-6)
    ours = ngram_matrix(TEXTS, idf).toarray()
    np.testing.assert_allclose(ours, reference.transform(counts).toarray(), atol=1e-6)


def test_full_width_text_is_read_like_ascii() -> None:
    idf = np.ones(hashing_vectorizer().n_features, np.float32)
    a = ngram_matrix(["ＦＵＬＬ width"], idf).toarray()
    b = ngram_matrix(["full WIDTH"], idf).toarray()
    np.testing.assert_allclose(a, b)


def test_japanese_text_gets_its_words_whatever_their_order() -> None:
    # Character trigrams of "税金の無駄" and "無駄な税金" barely overlap; the words do.
    a, b = set(analyse("税金の無駄")), set(analyse("無駄な税金"))
    assert {"w:税金", "w:無駄"} <= a & b
    assert "w2:税金 の" in a and "w2:無駄 だ" in b  # な is the copula だ, dictionary form
    assert not any(term.startswith("w:") for term in analyse("plain English, no words added"))


def _rows(
    toxic_scores: list[float], label: str, language: str
) -> list[tuple[list[float], str, str]]:
    rows = []
    for p in toxic_scores:
        probs = [0.0] * len(CLASSES)
        probs[CLASSES.index("toxic")] = p
        probs[CLASSES.index("inspirational")] = 1.0 - p
        rows.append((probs, label, language))
    return rows


def test_thresholds_are_the_lowest_within_their_budgets() -> None:
    en = _rows([0.1] * 18 + [0.42, 0.62], "inspirational", "en")
    en += _rows([0.7, 0.45], "toxic", "en")
    ja = _rows([0.2] * 18 + [0.66, 0.81], "inspirational", "ja") + _rows([0.7], "toxic", "ja")
    sad = _rows([0.0] * 10, "vulnerable", "ja")  # harmless for the toxic hold, bad to publish
    rows = en + ja + sad
    probs = np.array([r[0] for r in rows])
    labels = np.array([CLASSES.index(r[1]) for r in rows])
    chosen = choose_thresholds(probs, labels, [r[2] for r in rows])
    assert FALSE_HOLD_BUDGET == 0.05 and FALSE_PUBLISH_BUDGET == 0.02
    # en: 0.3 to 0.4 hold 2 of 20 harmless rows (10 %); 0.45 holds one (5 %)
    assert chosen["toxic_hold"]["en"]["threshold"] == 0.45
    assert chosen["toxic_hold"]["en"]["toxic_recall"] == 1.0
    # ja: 30 harmless rows (with the sad ones); 0.65 holds 2 (6.7 %), 0.7 one (3.3 %)
    assert chosen["toxic_hold"]["ja"]["threshold"] == 0.7
    # the sad rows read as good (P(good) 1.0): no threshold is within budget, the grid's top
    assert chosen["publish_confidence"]["threshold"] == 0.9


def test_split_is_seeded_stratified_and_disjoint() -> None:
    classes = np.array([0] * 100 + [1] * 700 + [2] * 200)
    train, val, test = davidson_split(classes, seed=13)
    assert (len(train), len(val), len(test)) == (800, 100, 100)
    assert not set(train) & set(val) and not set(val) & set(test) and not set(train) & set(test)
    for part in (val, test):
        assert np.bincount(classes[part]).tolist() == [10, 70, 20]
    again = davidson_split(classes, seed=13)
    assert all((a == b).all() for a, b in zip((train, val, test), again, strict=True))


def test_balanced_weights_give_every_class_the_same_total() -> None:
    labels = np.array([0, 0, 0, 1, 2, 2, 3, 4, 5, 5])
    weights = balanced(labels, np.array([1.0] * 9 + [8.0]))
    totals = [weights[labels == c].sum() for c in range(len(CLASSES))]
    np.testing.assert_allclose(totals, totals[0])
    assert weights.mean() == pytest.approx(1.0)


def test_examples_cover_every_class_in_both_languages() -> None:
    rows = read_examples()
    seen = {
        (CLASSES[label], source) for label, source in zip(rows.labels, rows.sources, strict=True)
    }
    for name in ("toxic", "crisis", "vulnerable", "inspirational", "entertaining"):
        assert (name, "examples:en") in seen and (name, "examples:ja") in seen


@pytest.mark.slow
def test_training_end_to_end_on_tiny_data(tmp_path: Path) -> None:
    tweets = [
        (0, "those people are vermin and animals"),
        (1, "shut up you stupid idiot"),
        (2, "what a lovely sunny day at the park"),
    ]
    hate = write_davidson(
        tmp_path / "hate", [(tweets[i % 3][0], f"{tweets[i % 3][1]} {i}") for i in range(60)]
    )
    go = tmp_path / "go"
    go.mkdir()
    labels = ["admiration", "amusement", "sadness", "neutral"]
    (go / "original_labels.txt").write_text("\n".join(labels) + "\n", "utf-8")
    for split in ("train", "dev"):
        lines = [f"so sad today {i}\t2\tx" for i in range(8)]
        lines += [f"haha that is funny {i}\t1\tx" for i in range(8)]
        lines += [f"you are wonderful {i}\t0\tx" for i in range(8)]
        (go / f"original_{split}.tsv").write_text("\n".join(lines) + "\n", "utf-8")

    model, figures = train_moderation(hate, go, tmp_path / "cache", seed=3)
    assert model.classes == CLASSES
    assert figures["train_rows"]["crisis"] > 0 and figures["examples"] > 100
    assert "African-American English" in figures["data_limits"]
    chosen = figures["thresholds_chosen"]  # out of fold, for policies/moderation.yaml
    assert set(chosen["toxic_hold"]) == {"en", "ja"}
    assert 0.3 <= chosen["publish_confidence"]["threshold"] <= 0.9
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = ModerationModel.load(path)
    from bot.emotion.embeddings import embed

    texts = ["I will find you and hurt you", "so sad today"]
    vectors = embed(texts)
    np.testing.assert_allclose(
        loaded.probabilities(texts, vectors).sum(axis=1), [1.0, 1.0], rtol=1e-5
    )
    np.testing.assert_allclose(
        loaded.logits(texts, vectors), model.logits(texts, vectors), atol=2e-2
    )
    # resumed from the per-text cache: the same features, no new embedding
    assert (tmp_path / "cache" / "moderation-vectors.npz").is_file()


def test_shipped_artefact_matches_its_figures() -> None:
    model = ModerationModel.load()
    figures = json.loads(DEFAULT_MODEL_PATH.with_suffix(".json").read_text("utf-8"))
    assert model.key == figures["key"]
    assert model.classes == CLASSES
    assert model.ngram_coef.shape == (len(CLASSES), hashing_vectorizer().n_features)
