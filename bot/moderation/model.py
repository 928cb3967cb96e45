"""The moderation model: what a card *is* (toxic, offensive, crisis, vulnerable, inspirational or
entertaining), learned from real data rather than phrase lists alone.

Features: the text's all-MiniLM-L6-v2 sentence embedding (meaning, English) next to a hashed
character 1-3-gram TF-IDF vector (spelling: slurs, misspellings, and Japanese, which MiniLM
barely reads), one multinomial logistic regression over both. Japanese text also adds its UniDic
words (fugashi: dictionary forms, single and in pairs) to the same hashed vector: character
n-grams cut across word boundaries, so "税金の無駄" and "無駄な税金" share few of them, while
the words and their pairs are what a reader recognises in a new sentence. Trained by
`needtotalk train moderation` (bot/moderation/training.py) on the Davidson et al. (2017) hate and
offensive tweets, GoEmotions and the phrase examples in bot/moderation/examples.yaml; the weights
ship in bot/moderation/artefacts/ and are never refitted at run time.

Training and inference hash n-grams with the same scikit-learn `HashingVectorizer`, so there is
no vocabulary to ship and nothing to drift between the two; only the idf vector is stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

ARTEFACT_DIR = Path(__file__).resolve().parent / "artefacts"
DEFAULT_MODEL_PATH = ARTEFACT_DIR / "moderation_model.npz"

# The model's classes, in the artefact's order. "offensive" is Davidson's class 1 (abusive or
# profane language without group hate); the others are the content classes plus crisis.
CLASSES: tuple[str, ...] = (
    "toxic",
    "offensive",
    "crisis",
    "vulnerable",
    "inspirational",
    "entertaining",
)
NGRAM_RANGE = (1, 3)
N_FEATURES = 2**18


def normalise(text: str) -> str:
    """NFKC (full-width letters to ASCII), lower case, curly quotes straight: one spelling."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("\u2019", "'").replace("\u2018", "'")


# Kana or CJK ideographs: the text gets UniDic word features too.
_JAPANESE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_NOT_WORDS = frozenset({"補助記号", "空白"})  # UniDic's punctuation and blanks


def japanese_words(text: str) -> list[str]:
    """UniDic dictionary forms of a (normalised) Japanese text, single ("w:") and adjacent
    pairs ("w2:"), punctuation left out: one feature per word however it is conjugated."""
    from bot.emotion.japanese import tokenize

    bases = [t.base for t in tokenize(text) if t.pos not in _NOT_WORDS]
    return [f"w:{b}" for b in bases] + [f"w2:{a} {b}" for a, b in pairwise(bases)]


@cache
def _char_ngrams() -> Callable[[str], list[str]]:
    analyse: Callable[[str], list[str]] = HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAM_RANGE
    ).build_analyzer()
    return analyse


def analyse(text: str) -> list[str]:
    """The hashed terms of a text: character 1-3-grams inside words, plus UniDic words and word
    pairs when the text has Japanese script."""
    clean = normalise(text)
    terms = _char_ngrams()(clean)
    if _JAPANESE_SCRIPT.search(clean):
        terms += japanese_words(clean)
    return terms


@cache
def hashing_vectorizer() -> HashingVectorizer:
    """`analyse`'s terms, hashed: no vocabulary to ship, Japanese included."""
    return HashingVectorizer(
        analyzer=analyse,
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
    )


def ngram_matrix(texts: Sequence[str], idf: NDArray[np.float32]) -> sparse.csr_matrix:
    """Sublinear tf x idf, L2-normalised rows: what TfidfTransformer(sublinear_tf=True) does."""
    counts = hashing_vectorizer().transform(list(texts)).tocsr().astype(np.float32)
    # idf applied to the stored values only: multiplying by a dense (1, 2**18) row costs more
    # than the rest of a card's n-grams (cProfile: ~5 ms of a card's time).
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    return normalize(counts, norm="l2", copy=False)


@dataclass(frozen=True)
class ModerationModel:
    """One multinomial logistic regression over [embedding | char n-gram TF-IDF]."""

    classes: tuple[str, ...]
    embedding_coef: NDArray[np.float32]  # (classes, 384)
    ngram_coef: NDArray[np.float32]  # (classes, N_FEATURES)
    intercept: NDArray[np.float32]  # (classes,)
    idf: NDArray[np.float32]  # (N_FEATURES,)
    key: str  # a digest of the training data and settings, for the figures file

    @cached_property
    def _ngram_coef_t(self) -> NDArray[np.float32]:
        """(N_FEATURES, classes), contiguous: made once, not per card."""
        return np.ascontiguousarray(self.ngram_coef.T, dtype=np.float32)

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL_PATH) -> ModerationModel:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: run `needtotalk train moderation`")
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=tuple(str(c) for c in data["classes"]),
                embedding_coef=data["embedding_coef"].astype(np.float32),
                ngram_coef=data["ngram_coef"].astype(np.float32),
                intercept=data["intercept"].astype(np.float32),
                idf=data["idf"].astype(np.float32),
                key=str(data["key"]),
            )

    def save(self, path: Path = DEFAULT_MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            classes=np.array(self.classes),
            embedding_coef=self.embedding_coef.astype(np.float32),
            # float16 halves the artefact; the logits move by < 1e-3 (unit test)
            ngram_coef=self.ngram_coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            idf=self.idf.astype(np.float32),
            key=np.array(self.key),
        )

    def logits(self, texts: Sequence[str], embeddings: NDArray[np.float32]) -> NDArray[np.float32]:
        ngrams = ngram_matrix(texts, self.idf)
        # (ngram_coef @ ngrams.T).T reads only the columns a text has; ngrams @ ngram_coef.T
        # walked the transposed (classes, 2**18) matrix.
        sparse_part = np.asarray((ngrams @ self._ngram_coef_t).astype(np.float32))
        out = embeddings @ self.embedding_coef.T + sparse_part + self.intercept
        return np.asarray(out, np.float32)

    def probabilities(
        self, texts: Sequence[str], embeddings: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """(texts, classes) softmax probabilities; each row sums to 1."""
        z = self.logits(texts, embeddings)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True), np.float32)

    def scores(self, text: str, embedding: NDArray[np.float32]) -> dict[str, float]:
        row = self.probabilities([text], embedding.reshape(1, -1))[0]
        return {c: float(p) for c, p in zip(self.classes, row, strict=True)}
