"""Train the word-level head (bot/emotion/lexical_head.py) and its blend with the MLP head.

`needtotalk train emotion-lexical --data DIR`. Same seeded 10% hold-out of GoEmotions TRAIN as
the MLP (bot/emotion/training.py): the logistic regressions are fitted on the other 90%; the blend
weight, the blend space (probabilities or log-odds, bot/emotion/lexical_head.py `blend`), the 28
label thresholds and the Ekman / sentiment group thresholds are chosen on the hold-out (criterion:
mean of its three macro-F1s). DEV is only measured.

The regularisation C=4 was checked on the hold-out too (C in 1, 2, 4, 8, 16, with either blend
space and the single or the ensemble MLP): 4 was best or within 0.001 of it every time, so it stays.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.emotion.goemotions_data import (
    EKMAN_GROUPS,
    SENTIMENT_GROUPS,
    embed_cached,
    group_matrix,
    read_split,
)
from bot.emotion.head import GoEmotionsHead
from bot.emotion.lexical_head import BLEND_SPACES, LexicalHead, blend
from bot.emotion.training import (
    PAPER_BASELINE,
    TARGETS,
    TrainConfig,
    f1_scores,
    group_scores,
    tune_thresholds,
)

BLEND_GRID = tuple(round(0.1 * i, 1) for i in range(10))
_GROUPS = {"ekman": EKMAN_GROUPS, "sentiment": SENTIMENT_GROUPS}


def macro_f1(
    labels: NDArray[np.float32],
    probabilities: NDArray[np.float32],
    label_names: tuple[str, ...],
    thresholds: NDArray[np.float32],
    group_thresholds: dict[str, NDArray[np.float32]],
) -> dict[str, float]:
    """28-label, Ekman and sentiment macro-F1 at the given thresholds (groups: noisy-or)."""
    out = {"labels28": float(f1_scores(labels, probabilities >= thresholds).mean())}
    for name, groups in _GROUPS.items():
        membership = group_matrix(label_names, groups)
        truth = np.asarray((labels @ membership) > 0, dtype=np.float32)
        scores = group_scores(probabilities, membership)
        out[name] = float(f1_scores(truth, scores >= group_thresholds[name]).mean())
    return out


def _tune(
    labels: NDArray[np.float32], probabilities: NDArray[np.float32], names: tuple[str, ...]
) -> tuple[NDArray[np.float32], dict[str, NDArray[np.float32]]]:
    groups = {}
    for name, grouping in _GROUPS.items():
        membership = group_matrix(names, grouping)
        truth = np.asarray((labels @ membership) > 0, dtype=np.float32)
        groups[name] = tune_thresholds(truth, group_scores(probabilities, membership))
    return tune_thresholds(labels, probabilities), groups


def train_lexical_head(
    data_dir: Path,
    mlp: GoEmotionsHead,
    cache_dir: Path | None,
    config: TrainConfig | None = None,
    progress: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True),
) -> tuple[LexicalHead, dict[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    config = config or TrainConfig()
    started = time.perf_counter()
    train = read_split(data_dir, "train", limit=config.limit)
    dev = read_split(data_dir, "dev", limit=config.limit)
    order = np.random.default_rng(config.seed).permutation(len(train.texts))
    n_held = max(1, round(config.holdout * len(order)))
    held, fit = order[:n_held], order[n_held:]
    texts = np.array(train.texts, dtype=object)
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), min_df=3, sublinear_tf=True, max_features=40000, dtype=np.float32
    )
    x_fit = vectorizer.fit_transform(texts[fit])
    coef = np.zeros((x_fit.shape[1], len(train.label_names)), np.float32)
    intercept = np.zeros(len(train.label_names), np.float32)
    for j, name in enumerate(train.label_names):
        if train.labels[fit, j].min() == train.labels[fit, j].max():
            intercept[j] = -10.0 if train.labels[fit, j].max() == 0 else 10.0
            continue
        model = LogisticRegression(C=4.0, solver="liblinear", max_iter=200)
        model.fit(x_fit, train.labels[fit, j])
        coef[:, j], intercept[j] = model.coef_[0], model.intercept_[0]
        progress(f"logistic regression {j + 1}/{len(train.label_names)} ({name})")
    vocabulary = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
    idf = np.asarray(vectorizer.idf_, np.float32)
    provisional = LexicalHead(
        vocabulary, idf, coef.astype(np.float16).astype(np.float32), intercept, 0.0,
        np.zeros(0, np.float32), {},
    )  # fmt: skip
    mlp_held = mlp.probabilities(embed_cached(train.texts, cache_dir, "train")[held])
    lexical_held = provisional.logits(list(texts[held]))
    table: dict[str, dict[str, dict[str, float]]] = {space: {} for space in BLEND_SPACES}
    best: tuple[float, float, str] = (-1.0, 0.0, BLEND_SPACES[0])
    for space in BLEND_SPACES:
        for weight in BLEND_GRID:
            p = blend(mlp_held, lexical_held, weight, space)
            figures = macro_f1(
                train.labels[held],
                p,
                train.label_names,
                *_tune(train.labels[held], p, train.label_names),
            )
            table[space][str(weight)] = {k: round(v, 4) for k, v in figures.items()}
            score = float(np.mean(list(figures.values())))
            progress(f"blend {weight} ({space}): held-out {table[space][str(weight)]}")
            if score > best[0]:
                best = (score, weight, space)
    _, weight, space = best
    p_held = blend(mlp_held, lexical_held, weight, space)
    thresholds, group_thresholds = _tune(train.labels[held], p_held, train.label_names)
    head = LexicalHead(
        vocabulary, idf, provisional.coef, intercept, weight, thresholds, group_thresholds, space
    )
    x_dev = embed_cached(dev.texts, cache_dir, "dev")
    p_dev = head.blended(mlp.probabilities(x_dev), dev.texts)
    dev_figures = macro_f1(dev.labels, p_dev, train.label_names, thresholds, group_thresholds)
    held_figures = table[space][str(weight)]
    figures_out: dict[str, Any] = {
        "model": "TF-IDF word uni+bigrams (min_df 3, 40k terms, sublinear tf) + one logistic "
        "regression per label (C=4), blended with the MLP head",
        "blend": weight,
        "blend_space": space,
        "held_out_train_by_blend": table,
        "held_out_train_macro_f1": held_figures,
        "dev_macro_f1": {k: round(v, 4) for k, v in dev_figures.items()},
        "paper_bert_base_test_macro_f1": PAPER_BASELINE,
        "targets": TARGETS,
        "targets_met": {k: bool(dev_figures[k] >= v) for k, v in TARGETS.items()},
        "terms": len(vocabulary),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return head, figures_out
