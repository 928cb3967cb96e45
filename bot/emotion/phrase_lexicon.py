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
tokenise identically; C by stratified cross-validation on the phrases). Inference is numpy:
sublinear tf x idf, L2 norm, one sparse dot product.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.domain import EMOTIONS

_SPACES = re.compile(r"\s+")
_C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0)


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
        counts = Counter(t for t in char_terms(text) if t in self.vocabulary)
        if not counts:
            return np.zeros(len(EMOTIONS), np.float32)
        columns = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.intp)
        values = np.array([1.0 + math.log(c) for c in counts.values()], np.float32)
        values *= self.idf[columns]
        values /= np.linalg.norm(values)
        logits = values @ self.coef[columns] + self.intercept
        log_p = logits - logits.max()
        log_p = log_p - np.log(np.exp(log_p).sum())
        return np.asarray(log_p - log_p.mean(), dtype=np.float32)

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


def fit_phrase_lexicon(texts: Sequence[str], owners: Sequence[int]) -> PhraseLexicon:
    """TF-IDF + logistic regression; C by 5-fold stratified CV log-loss on the phrases."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(owners, dtype=np.intp)
    folds = int(min(5, np.bincount(y, minlength=len(EMOTIONS)).min()))
    best_c, best_loss = 4.0, float("inf")
    if folds >= 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        for c in _C_GRID:
            loss = 0.0
            for fit, held in splitter.split(np.zeros(len(y)), y):
                vectoriser = TfidfVectorizer(analyzer=char_terms, sublinear_tf=True)
                x_fit = vectoriser.fit_transform([texts[i] for i in fit])
                model = LogisticRegression(C=c, max_iter=3000).fit(x_fit, y[fit])
                proba = model.predict_proba(vectoriser.transform([texts[i] for i in held]))
                loss += log_loss(y[held], proba, labels=model.classes_) * len(held)
            if loss < best_loss:
                best_c, best_loss = c, loss
    vectoriser = TfidfVectorizer(analyzer=char_terms, sublinear_tf=True)
    x = vectoriser.fit_transform(list(texts))
    model = LogisticRegression(C=best_c, max_iter=3000).fit(x, y)
    coef = np.zeros((x.shape[1], len(EMOTIONS)), np.float32)
    intercept = np.full(len(EMOTIONS), -30.0, np.float32)  # no phrases: never chosen
    coef[:, model.classes_] = model.coef_.T
    intercept[model.classes_] = model.intercept_
    return PhraseLexicon(
        vocabulary={str(t): int(i) for t, i in vectoriser.vocabulary_.items()},
        idf=vectoriser.idf_.astype(np.float32),
        coef=coef,
        intercept=intercept,
    )
