"""Prototype embeddings: each emotion's description and example phrases (policies/emotions.yaml)
embedded with MiniLM, per language.

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

from bot.domain import EMOTIONS, Language
from bot.emotion.embeddings import embed
from bot.emotion.head import ARTEFACT_DIR
from bot.emotion.policy import EmotionPolicy

DEFAULT_PROTOTYPES_PATH = ARTEFACT_DIR / "prototypes.npz"
_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Prototypes:
    """Per language: unit vectors (n, 384) and the index (into EMOTIONS) that owns each row."""

    vectors: dict[Language, NDArray[np.float32]]
    owners: dict[Language, NDArray[np.intp]]


def prototype_phrases(policy: EmotionPolicy, language: Language) -> tuple[list[str], list[int]]:
    texts: list[str] = []
    owners: list[int] = []
    for i, emotion in enumerate(EMOTIONS):
        entry = policy.emotions[emotion]
        for phrase in [
            entry.description.get(language.value, ""),
            *getattr(entry.examples, language),
        ]:
            if phrase:
                texts.append(phrase)
                owners.append(i)
    return texts, owners


def phrases_key(policy: EmotionPolicy) -> str:
    payload = {lang.value: prototype_phrases(policy, lang) for lang in Language}
    blob = json.dumps([_MODEL, payload], ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:20]


def compute_prototypes(policy: EmotionPolicy) -> Prototypes:
    vectors, owners = {}, {}
    for lang in Language:
        texts, who = prototype_phrases(policy, lang)
        vectors[lang] = embed(texts)
        owners[lang] = np.array(who, dtype=np.intp)
    return Prototypes(vectors=vectors, owners=owners)


def save_prototypes(policy: EmotionPolicy, path: Path = DEFAULT_PROTOTYPES_PATH) -> Prototypes:
    prototypes = compute_prototypes(policy)
    arrays: dict[str, NDArray[np.generic]] = {"key": np.array(phrases_key(policy))}
    for lang in Language:
        arrays[f"{lang.value}_vectors"] = prototypes.vectors[lang].astype(np.float16)
        arrays[f"{lang.value}_owners"] = prototypes.owners[lang]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return prototypes


def load_prototypes(
    policy: EmotionPolicy, path: Path = DEFAULT_PROTOTYPES_PATH
) -> tuple[Prototypes, bool]:
    """(prototypes, from_cache): the shipped vectors if they match the policy, else fresh ones."""
    if path.is_file():
        with np.load(path) as data:
            if str(data["key"]) == phrases_key(policy):
                return (
                    Prototypes(
                        vectors={
                            lang: data[f"{lang.value}_vectors"].astype(np.float32)
                            for lang in Language
                        },
                        owners={lang: data[f"{lang.value}_owners"] for lang in Language},
                    ),
                    True,
                )
    return compute_prototypes(policy), False
