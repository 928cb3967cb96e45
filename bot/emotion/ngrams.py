"""Character n-gram similarity for Japanese prototypes.

MiniLM was trained on English; on Japanese its similarities carry little meaning. Kanji and
kana n-grams do: 憎, 後悔, 自信, 不安 carry an emotion's vocabulary, so a text's character
bigrams (and kanji unigrams) are compared with each Japanese example phrase by cosine.
Hiragana unigrams (particles, endings) are left out as noise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_DROP = re.compile(r"[\s、。！？!?「」（）()…・,.，．ー〜~]")


def ngrams(text: str) -> Counter[str]:
    chars = _DROP.sub("", text)
    grams: Counter[str] = Counter(chars[i : i + 2] for i in range(len(chars) - 1))
    grams.update(c for c in chars if _KANJI.match(c))
    return grams


class NgramIndex:
    """Unit-normalised n-gram count vectors of the phrases, in a shared vocabulary."""

    def __init__(self, phrases: Sequence[str]) -> None:
        counts = [ngrams(p) for p in phrases]
        self.vocabulary = {g: i for i, g in enumerate(sorted({g for c in counts for g in c}))}
        self.matrix = np.zeros((len(phrases), len(self.vocabulary)), dtype=np.float32)
        for row, grams in enumerate(counts):
            for gram, n in grams.items():
                self.matrix[row, self.vocabulary[gram]] = n
        norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
        self.matrix /= np.where(norms > 0, norms, 1.0)

    def similarities(self, text: str) -> NDArray[np.float32]:
        vector = np.zeros(len(self.vocabulary), dtype=np.float32)
        for gram, n in ngrams(text).items():
            index = self.vocabulary.get(gram)
            if index is not None:
                vector[index] = n
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            return np.zeros(len(self.matrix), dtype=np.float32)
        return np.asarray(self.matrix @ (vector / norm), dtype=np.float32)
