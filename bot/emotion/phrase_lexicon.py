"""A word-level classifier over the 16 emotions, learned from the example phrases.

Why: for Japanese, MiniLM (trained on English) gives embeddings with little meaning, so the
embedding classifier in bot/emotion/prototypes.py is weak there, while the characters carry the
emotion's vocabulary (恨, 後悔, 自信, 認めて). A TF-IDF logistic regression over character 1-3
grams, trained on the same description and example phrases of policies/emotions.yaml, reads them.
Alone, on the Japanese statements of the two development sets, it chose the right class for 0.96
of them. In English character 1-3 grams act as word pieces and add to the embedding classifier
(fresh development set 0.84 -> 0.91 class accuracy). The weight (policies/emotions.yaml,
phrase_lexicon) was chosen on the development sets; the held-out set was not used to choose it.

Training uses scikit-learn (TfidfVectorizer with our own analyser, so training and inference
tokenise identically; C by GridSearchCV, stratified folds, on the phrases). Inference is numpy:
sublinear tf x idf, L2 norm, one sparse dot product.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.domain import EMOTIONS
from bot.emotion.lexical_head import tfidf_row

_SPACES = re.compile(r"\s+")
_C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0)


def centred_log_softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """log p(emotion) minus its mean across the 16. The softmax's normaliser shifts every
    emotion by the same amount, so this is simply the logits minus their mean."""
    return np.asarray(logits - logits.mean(), dtype=np.float32)


def char_terms(text: str) -> list[str]:
    """Character 1-, 2- and 3-grams of the lower-cased text, whitespace collapsed."""
    clean = _SPACES.sub(" ", text.lower()).strip()
    return [clean[i : i + n] for n in (1, 2, 3) for i in range(len(clean) - n + 1)]


@dataclass(frozen=True)
class PhraseLexicon:
    """TF-IDF vocabulary and a multinomial logistic regression (terms x 16)."""

    vocabulary: dict[str, int]
    idf: NDArray[np.float32]
    coef: NDArray[np.float32]  # (terms, 16)
    intercept: NDArray[np.float32]  # (16,)

    def centred_log_probabilities(self, text: str) -> NDArray[np.float32]:
        """log p(emotion | text) minus its mean across the 16 (zeros when no term is known)."""
        columns, values = tfidf_row(char_terms(text), self.vocabulary, self.idf)
        if not len(columns):
            return np.zeros(len(EMOTIONS), np.float32)
        logits = values @ self.coef[columns] + self.intercept
        return centred_log_softmax(logits)

    def arrays(self, prefix: str) -> dict[str, NDArray[np.generic]]:
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            f"{prefix}_terms": np.array(names),
            f"{prefix}_idf": self.idf.astype(np.float32),
            f"{prefix}_coef": self.coef.astype(np.float16),
            f"{prefix}_intercept": self.intercept.astype(np.float32),
        }

    @classmethod
    def from_arrays(cls, data: Mapping[str, NDArray[Any]], prefix: str) -> PhraseLexicon:
        """From `arrays()` or an open .npz (both map names to arrays)."""
        get = data.__getitem__
        return cls(
            vocabulary={str(t): i for i, t in enumerate(get(f"{prefix}_terms"))},
            idf=get(f"{prefix}_idf").astype(np.float32),
            coef=get(f"{prefix}_coef").astype(np.float32),
            intercept=get(f"{prefix}_intercept").astype(np.float32),
        )


def fit_phrase_lexicon(
    texts: Sequence[str], owners: Sequence[int], *, search_c: bool = True
) -> PhraseLexicon:
    """TF-IDF + logistic regression; C by 5-fold stratified CV log-loss on the phrases (or the
    default C = 4 with search_c=False: seconds instead of a minute)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(analyzer=char_terms, sublinear_tf=True)),
            ("model", LogisticRegression(max_iter=3000)),
        ]
    )
    fitted = fit_with_cross_validated_c(
        pipeline, "model__C", _C_GRID if search_c else (), list(texts), owners
    )
    vectoriser, model = fitted.named_steps["tfidf"], fitted.named_steps["model"]
    coef, intercept = emotion_columns(model, len(vectoriser.vocabulary_))
    return PhraseLexicon(
        vocabulary={str(t): int(i) for t, i in vectoriser.vocabulary_.items()},
        idf=vectoriser.idf_.astype(np.float32),
        coef=coef,
        intercept=intercept,
    )


def fit_with_cross_validated_c(
    estimator: Any,
    parameter: str,
    grid: Sequence[float],
    x: Any,
    owners: Sequence[int] | NDArray[np.intp],
) -> Any:
    """The estimator refitted on all phrases with the C (inverse regularisation) whose stratified
    5-fold cross-validated log-loss on the phrases is lowest (scikit-learn's GridSearchCV).
    An empty grid, or fewer than two phrases for some emotion: C = 4, no search."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    y = np.asarray(owners, dtype=np.intp)
    present = np.bincount(y)[np.unique(y)]
    folds = int(min(5, present.min()))
    if folds < 2 or not grid:
        return clone(estimator).set_params(**{parameter: 4.0}).fit(x, y)
    search = GridSearchCV(
        estimator,
        {parameter: list(grid)},
        scoring="neg_log_loss",
        cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=0),
    )
    return search.fit(x, y).best_estimator_


def emotion_columns(model: Any, n_features: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A fitted LogisticRegression's (features, 16) weights and (16,) bias; an emotion it never
    saw gets a bias so low it is never chosen."""
    coef = np.zeros((n_features, len(EMOTIONS)), np.float32)
    intercept = np.full(len(EMOTIONS), -30.0, np.float32)
    coef[:, model.classes_] = model.coef_.T
    intercept[model.classes_] = model.intercept_
    return coef, intercept
