"""A word-level GoEmotions classifier (TF-IDF + logistic regression) blended with the MLP head.

Why: the MLP on frozen MiniLM sentence vectors tops out near 0.53 Ekman / 0.61 sentiment dev
macro-F1; sentence embeddings blur the single words ("lol", "sorry", "ugh", "congrats") that carry
much of GoEmotions' labels. One logistic regression per label on word uni/bigrams sees exactly
those, and the two err differently. The blend weight, the space it is applied in (probabilities,
or log-odds: a weighted product of the two models' odds) and every threshold are chosen on the
same held-out 10% of TRAIN the MLP was tuned on; DEV is only measured
(bot/emotion/artefacts/README.md).

Inference is plain Python/numpy, no scikit-learn at run time: the tokenisation reproduces
scikit-learn's TfidfVectorizer defaults (lower-case, tokens of 2+ word characters, uni+bigrams,
sublinear tf, idf, L2 norm), which the unit test checks against scikit-learn itself.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.emotion.head import ARTEFACT_DIR, sigmoid

DEFAULT_LEXICAL_PATH = ARTEFACT_DIR / "goemotions_lexical.npz"
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
BLEND_SPACES = ("probability", "logit")


def blend(
    mlp_probabilities: NDArray[np.float32],
    lexical_logits: NDArray[np.float32],
    weight: float,
    space: str,
) -> NDArray[np.float32]:
    """(1 - weight) * MLP + weight * words, on probabilities or on log-odds (then squashed).

    In log-odds the blend is a weighted geometric mean of the two models' odds: a label one model
    is confident against stays unlikely, where averaging probabilities would leave it near half the
    other's. The MLP's probabilities are clipped to [1e-6, 1 - 1e-6] before taking log-odds."""
    if space == "logit":
        p = np.clip(mlp_probabilities.astype(np.float64), 1e-6, 1.0 - 1e-6)
        mlp_logits = np.log(p) - np.log1p(-p)
        return sigmoid(
            np.asarray((1.0 - weight) * mlp_logits + weight * lexical_logits, np.float32)
        )
    if space == "probability":
        mixed = (1.0 - weight) * mlp_probabilities + weight * sigmoid(lexical_logits)
        return np.asarray(mixed, np.float32)
    raise ValueError(f"blend space must be one of {BLEND_SPACES}, not {space!r}")


def terms(text: str) -> list[str]:
    """scikit-learn's default analyzer with ngram_range=(1, 2)."""
    words = _TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def tfidf_row(
    text_terms: Sequence[str], vocabulary: dict[str, int], idf: NDArray[np.float32]
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """One text's TfidfVectorizer row as (columns, values): sublinear tf x idf, L2-normalised,
    as scikit-learn computes it with sublinear_tf=True (both may be empty)."""
    counts = Counter(t for t in text_terms if t in vocabulary)
    columns = np.fromiter((vocabulary[t] for t in counts), dtype=np.intp, count=len(counts))
    values = np.array([1.0 + math.log(c) for c in counts.values()], np.float32)
    if len(columns):
        values *= idf[columns]
        values /= np.linalg.norm(values)
    return columns, values


@dataclass(frozen=True)
class LexicalHead:
    vocabulary: dict[str, int]
    idf: NDArray[np.float32]
    coef: NDArray[np.float32]  # (terms, 28)
    intercept: NDArray[np.float32]  # (28,)
    blend: float  # weight of this head against the MLP head's probabilities
    thresholds: NDArray[np.float32]  # (28,) on the blended probabilities
    group_thresholds: dict[str, NDArray[np.float32]]  # "ekman", "sentiment"
    blend_space: str = "probability"  # or "logit" (see `blend`); artefacts before it: probability

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(n, 28) label probabilities from words alone."""
        return sigmoid(self.logits(texts))

    def logits(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(n, 28) label log-odds from words alone."""
        logits = np.tile(self.intercept, (len(texts), 1)).astype(np.float32)
        for row, text in enumerate(texts):
            columns, values = tfidf_row(terms(text), self.vocabulary, self.idf)
            if len(columns):
                logits[row] += values @ self.coef[columns]
        return logits

    def blended(
        self, mlp_probabilities: NDArray[np.float32], texts: Sequence[str]
    ) -> NDArray[np.float32]:
        """The ensemble's probabilities: (1 - blend) * MLP + blend * words, in `blend_space`."""
        return blend(mlp_probabilities, self.logits(texts), self.blend, self.blend_space)

    def save(self, path: Path = DEFAULT_LEXICAL_PATH) -> None:
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        groups: dict[str, NDArray[np.float32]] = {
            f"group_{k}": v.astype(np.float32) for k, v in self.group_thresholds.items()
        }
        np.savez_compressed(
            path,
            allow_pickle=False,
            terms=np.array(names),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            blend=np.float32(self.blend),
            blend_space=np.array(self.blend_space),
            thresholds=self.thresholds.astype(np.float32),
            **groups,
        )

    @classmethod
    def load(cls, path: Path = DEFAULT_LEXICAL_PATH) -> LexicalHead:
        if not path.is_file():
            raise FileNotFoundError(
                f"lexical head {path} not found; train it with "
                "`needtotalk train emotion-lexical --data DIR`"
            )
        with np.load(path) as data:
            return cls(
                vocabulary={str(t): i for i, t in enumerate(data["terms"])},
                idf=data["idf"].astype(np.float32),
                coef=data["coef"].astype(np.float32),
                intercept=data["intercept"].astype(np.float32),
                blend=float(data["blend"]),
                thresholds=data["thresholds"].astype(np.float32),
                group_thresholds={
                    k[len("group_") :]: data[k].astype(np.float32)
                    for k in data.files
                    if k.startswith("group_")
                },
                blend_space=(
                    str(data["blend_space"]) if "blend_space" in data.files else "probability"
                ),
            )
