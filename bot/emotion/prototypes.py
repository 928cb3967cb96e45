"""Prototype embeddings: each emotion's description and example phrases (policies/emotions.yaml)
embedded with MiniLM, per language, and a classifier learned from them.

Nearest-phrase similarity alone generalises poorly: a new statement is rarely close to one phrase,
and the mean of the top-k similarities rewards emotions with many near-duplicate phrases. So the
same phrases also train, per language, a multinomial logistic regression on their embeddings
(scikit-learn, C chosen by stratified cross-validation on the phrases themselves, never on the
test statements). The engine adds its centred log-probabilities to the 16 logits.

Embedding ~180 phrases costs seconds on a busy CPU, more than the engine's load budget, so the
vectors ship precomputed in artefacts/prototypes.npz, keyed by a hash of the phrases. When the
yaml changes the key no longer matches and the engine embeds the phrases itself (slower start)
until `needtotalk train emotion-prototypes` rewrites the file; a unit test fails meanwhile.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.domain import ANALYSER_LANGUAGES, EMOTIONS, Language
from bot.emotion.embeddings import embed
from bot.emotion.head import ARTEFACT_DIR
from bot.emotion.phrase_lexicon import (
    PhraseLexicon,
    centred_log_softmax,
    emotion_columns,
    fit_phrase_lexicon,
    fit_with_cross_validated_c,
)
from bot.emotion.policy import EmotionPolicy

DEFAULT_PROTOTYPES_PATH = ARTEFACT_DIR / "prototypes.npz"
_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class PhraseClassifier:
    """Linear softmax over the 16 emotions: weights (384, 16), bias (16,)."""

    weights: NDArray[np.float32]
    bias: NDArray[np.float32]

    def centred_log_probabilities(self, vector: NDArray[np.float32]) -> NDArray[np.float32]:
        """log p(emotion | text) minus its mean across the 16: comparable to the other evidence."""
        logits = vector @ self.weights + self.bias
        return centred_log_softmax(logits)


@dataclass(frozen=True)
class Prototypes:
    """Per language: unit vectors (n, 384), the index (into EMOTIONS) that owns each row, and the
    classifier trained on them."""

    vectors: dict[Language, NDArray[np.float32]]
    owners: dict[Language, NDArray[np.intp]]
    classifiers: dict[Language, PhraseClassifier]
    lexicons: dict[Language, PhraseLexicon]  # character n-gram twin (bot/emotion/phrase_lexicon.py)


def prototype_phrases(policy: EmotionPolicy, language: Language) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    owners: list[int] = []
    for i, emotion in enumerate(EMOTIONS):
        entry = policy.emotions[emotion]
        for phrase in [
            entry.description.get(language.value, ""),
            *entry.examples.get(language, []),
        ]:
            if phrase:
                texts.append(phrase)
                owners.append(i)
    return texts, owners


def phrases_key(policy: EmotionPolicy) -> str:
    payload = {lang.value: prototype_phrases(policy, lang) for lang in ANALYSER_LANGUAGES}
    blob = json.dumps([_MODEL, payload], ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:20]


_C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def fit_classifier(
    vectors: NDArray[np.float32], owners: NDArray[np.intp], *, search_c: bool = True
) -> PhraseClassifier:
    """Multinomial logistic regression; C picked by 5-fold stratified CV log-loss on the phrases."""
    from sklearn.linear_model import LogisticRegression

    model = fit_with_cross_validated_c(
        LogisticRegression(max_iter=2000), "C", _C_GRID if search_c else (), vectors, owners
    )
    weights, bias = emotion_columns(model, vectors.shape[1])
    return PhraseClassifier(weights=weights, bias=bias)


def compute_prototypes(policy: EmotionPolicy, *, search_c: bool = True) -> Prototypes:
    """Embeddings and classifiers; search_c=False skips the cross-validated choice of C (the
    engine's fallback when the shipped artefact is stale: a slower start, not a minute's)."""
    vectors, owners, classifiers, lexicons = {}, {}, {}, {}
    for lang in ANALYSER_LANGUAGES:
        texts, who = prototype_phrases(policy, lang)
        vectors[lang] = embed(texts)
        owners[lang] = np.array(who, dtype=np.intp)
        # trained on the float16 vectors that ship, so a fresh start and a cached one agree
        shipped = vectors[lang].astype(np.float16).astype(np.float32)
        classifiers[lang] = fit_classifier(shipped, owners[lang], search_c=search_c)
        lexicons[lang] = fit_phrase_lexicon(texts, who, search_c=search_c)
    return Prototypes(vectors=vectors, owners=owners, classifiers=classifiers, lexicons=lexicons)


def save_prototypes(policy: EmotionPolicy, path: Path = DEFAULT_PROTOTYPES_PATH) -> Prototypes:
    prototypes = compute_prototypes(policy)
    arrays: dict[str, NDArray[np.generic]] = {"key": np.array(phrases_key(policy))}
    for lang in ANALYSER_LANGUAGES:
        arrays[f"{lang.value}_vectors"] = prototypes.vectors[lang].astype(np.float16)
        arrays[f"{lang.value}_owners"] = prototypes.owners[lang]
        arrays[f"{lang.value}_weights"] = prototypes.classifiers[lang].weights
        arrays[f"{lang.value}_bias"] = prototypes.classifiers[lang].bias
        arrays.update(prototypes.lexicons[lang].arrays(f"{lang.value}_lexicon"))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return prototypes


def load_prototypes(
    policy: EmotionPolicy, path: Path = DEFAULT_PROTOTYPES_PATH
) -> tuple[Prototypes, bool]:
    """(prototypes, from_cache): the shipped vectors if they match the policy, else fresh ones."""
    if path.is_file():
        with np.load(path) as data:
            if str(data["key"]) == phrases_key(policy) and "en_lexicon_terms" in data.files:
                return (
                    Prototypes(
                        vectors={
                            lang: data[f"{lang.value}_vectors"].astype(np.float32)
                            for lang in ANALYSER_LANGUAGES
                        },
                        owners={lang: data[f"{lang.value}_owners"] for lang in ANALYSER_LANGUAGES},
                        classifiers={
                            lang: PhraseClassifier(
                                weights=data[f"{lang.value}_weights"].astype(np.float32),
                                bias=data[f"{lang.value}_bias"].astype(np.float32),
                            )
                            for lang in ANALYSER_LANGUAGES
                        },
                        lexicons={
                            lang: PhraseLexicon.from_arrays(data, f"{lang.value}_lexicon")
                            for lang in ANALYSER_LANGUAGES
                        },
                    ),
                    True,
                )
    return compute_prototypes(policy, search_c=False), False
