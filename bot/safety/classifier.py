"""The learned crisis layer: a logistic regression per language beside the phrase rules.

Why a model at all: phrasings are endless, and rules are always one phrasing behind (issue 10:
"I have the pills ready, I'm going to take them all tonight.", "What's the point of living
anymore?" got the next quiz question). A sentence embedding places an unseen phrasing near the
examples that mean the same; character n-grams carry Japanese, where MiniLM (trained on
English) says little, and misspellings in English.

Features, per text: the MiniLM embedding (384, unit length, as `bot.emotion.embeddings.embed`
serves it; English only, see EMBEDDING_LANGUAGES) next to a TF-IDF vector of character 1-3
grams (sublinear tf, L2 norm; the same terms as the emotion phrase lexicon,
`bot.emotion.phrase_lexicon.char_terms`). Model: one
scikit-learn LogisticRegression per language (English, Japanese), trained on
policies/crisis_examples.yaml (`needtotalk train crisis-classifier`, bot/safety/training.py).
Serving is numpy only (scikit-learn is a training dependency): one dot product per part.

The artefact is keyed by a hash of the examples file; a unit test fails while it is stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, field_validator

from bot.config import PROJECT_ROOT

# The shared cache of recent texts' embeddings (bot/emotion/embeddings.py): the same words are
# often read twice in a turn (the screen, the emotion engine, a card made of the message), and
# one embedding is most of the screen's time.
from bot.emotion.embeddings import cached_embedding, cached_embeddings
from bot.emotion.japanese import tokenize
from bot.emotion.lexical_head import tfidf_row
from bot.emotion.phrase_lexicon import char_terms

log = logging.getLogger(__name__)

ARTEFACT_DIR = Path(__file__).resolve().parent / "artefacts"
DEFAULT_CLASSIFIER_PATH = ARTEFACT_DIR / "crisis_classifier.npz"
DEFAULT_EXAMPLES_PATH = PROJECT_ROOT / "policies" / "crisis_examples.yaml"
MODEL_LANGUAGES = ("en", "ja")
# MiniLM was trained on English; for Japanese its embedding made the classifier worse (out-of-fold
# AUC 0.75 with characters alone, 0.70 with the embedding added, on the first 162 Japanese
# examples), so Japanese is read by its characters only.
EMBEDDING_LANGUAGES = frozenset({"en"})
WINDOW = 1000  # characters of a long text the classifier reads at each end
# Sentence-level reading (see CrisisClassifier.probability): up to this many sentences of a
# text are read one by one; a longer text is read in this many runs of neighbouring sentences
# (`sentences`), so no sentence goes unread. A sentence shorter than MIN_SENTENCE characters is
# read with the one after it. 64, not 12 as before the review of the seventh round: a crisis
# after the twelfth sentence was read only inside the 1,000-character tail window, diluted
# (0.04 for "Took all my pills." after fifteen sentences about the weather; 0.83 alone), and
# runs of two sentences dilute it as much. A Telegram message (4,096 characters) rarely has
# more than 64 sentences; reading 64 costs embedding 64 short texts (in passes of 16).
MAX_SENTENCES = 64
MIN_SENTENCE = {"en": 12, "ja": 5}
# A sentence ends after . ! ? 。！？… or a line break; in texting without full stops, a comma or
# semicolon before a new clause about "I" ends one too ("..., i think im gonna do it").
_SENTENCE_END = re.compile(
    r"(?<=[.!?。！？…\n])(?!(?<=\d\.)\d)\s*"
    r"|(?<=[,、;])\s+(?=(?:and |but |also |anyway |then |so )?i(?:'|\s|m |ve ))"
)
# Bumped when the features change, so an artefact from other features counts as stale too.
FEATURES_VERSION = "minilm-384(en)+char-1-3(+words-1-2 en, unidic-lemmas-1-2 ja)-tfidf/v4"
_WORDS = re.compile(r"[a-z0-9']+")


def sentences(text: str, language: str) -> list[str]:
    """The text cut into sentences (at . ! ? 。！？… and line breaks), each at least
    MIN_SENTENCE characters (a short one is joined to the next), at most MAX_SENTENCES: a
    longer text is cut into MAX_SENTENCES runs of neighbouring sentences, so every sentence is
    read in one of them (each embedding costs time, and the screen runs on every message).

    Why: a crisis sentence buried in a long, ordinary message ("work was fine... I've counted the
    pills... anyway, any show recommendations?") is diluted in one embedding of the whole
    message; read alone it is as clear as it would be on its own. Until the review of the
    seventh round only the first MAX_SENTENCES were kept, so "Years ago it was bad." and
    fourteen ordinary sentences, then "Took all my pills.", went unread at its end."""
    out = _each_sentence(text, language)
    if len(out) > MAX_SENTENCES:
        size = -(-len(out) // MAX_SENTENCES)  # sentences per run, rounded up
        out = [" ".join(out[i : i + size]) for i in range(0, len(out), size)]
    return out


def too_many_sentences(text: str, language: str) -> bool:
    """Whether `sentences` reads this text in runs of several sentences, not one by one."""
    return len(_each_sentence(text, language)) > MAX_SENTENCES


def _each_sentence(text: str, language: str) -> list[str]:
    """Every sentence of the text, a short one joined to the next (`sentences` without runs)."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    shortest = MIN_SENTENCE.get(language, MIN_SENTENCE["en"])
    out: list[str] = []
    carry = ""
    for piece in pieces:
        carry = f"{carry} {piece}".strip() if carry else piece
        if len(carry) >= shortest:
            out.append(carry)
            carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


def terms(text: str, language: str) -> list[str]:
    """The sparse terms of a text: character 1-3 grams, and its words and word pairs
    ("w:death's", "w:death's door"): an idiom is a word pair the characters alone blur.
    English words are runs of letters (out-of-fold AUC 0.901 -> 0.905 on the training examples,
    third round). Japanese has no spaces: its words are UniDic dictionary forms from fugashi
    (bot.emotion.japanese.tokenize: "死にたかった" -> 死ぬ, たい, た), so a conjugated form
    shares the weight of its lemma and the past-tense auxiliary is a term of its own (sixth
    round: out-of-fold AUC 0.919 -> 0.921, chosen on the training examples)."""
    grams = char_terms(text)
    if language == "ja":
        lemmas = [t.base for t in tokenize(text) if t.base.strip()]
        return [
            *grams,
            *(f"w:{w}" for w in lemmas),
            *(f"w:{a} {b}" for a, b in pairwise(lemmas)),
        ]
    words = _WORDS.findall(text)
    return [
        *grams,
        *(f"w:{w}" for w in words),
        *(f"w:{a} {b}" for a, b in pairwise(words)),
    ]


class CrisisExamples(BaseModel):
    """policies/crisis_examples.yaml: per label, per language, the example texts."""

    crisis: dict[str, list[str]] = Field(min_length=1)
    not_crisis: dict[str, list[str]] = Field(min_length=1)

    @field_validator("crisis", "not_crisis")
    @classmethod
    def _models_have_examples(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for language in MODEL_LANGUAGES:
            if len(value.get(language, [])) < 10:
                raise ValueError(f"at least 10 examples in {language!r} are needed to train")
        return value


@dataclass(frozen=True)
class LanguageModel:
    """One language's logistic regression: embedding weights (384,), character-gram vocabulary,
    idf and weights, and the intercept."""

    embedding_coef: NDArray[np.float32]
    vocabulary: dict[str, int]
    idf: NDArray[np.float32]
    char_coef: NDArray[np.float32]
    intercept: float
    # Subtracted from the logit of a sentence read alone, out of its message (see
    # CrisisClassifier.probability): chosen out of fold on the training examples
    # (bot/safety/training.py `sentence_offset`), 0.0 in artefacts that predate it.
    sentence_offset: float = 0.0

    def logit(self, vector: NDArray[np.float32], text: str, language: str = "en") -> float:
        columns, values = tfidf_row(terms(text, language), self.vocabulary, self.idf)
        chars = float(values @ self.char_coef[columns]) if len(columns) else 0.0
        return float(vector @ self.embedding_coef) + chars + self.intercept

    def arrays(self, prefix: str) -> dict[str, NDArray[Any]]:
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            f"{prefix}_embedding_coef": self.embedding_coef.astype(np.float32),
            f"{prefix}_terms": np.array(names, dtype=str),
            f"{prefix}_idf": self.idf.astype(np.float32),
            f"{prefix}_char_coef": self.char_coef.astype(np.float32),
            f"{prefix}_intercept": np.array([self.intercept], np.float32),
            f"{prefix}_sentence_offset": np.array([self.sentence_offset], np.float32),
        }

    @classmethod
    def from_arrays(cls, data: Mapping[str, NDArray[Any]], prefix: str) -> LanguageModel:
        return cls(
            embedding_coef=np.asarray(data[f"{prefix}_embedding_coef"], np.float32),
            vocabulary={str(t): i for i, t in enumerate(data[f"{prefix}_terms"])},
            idf=np.asarray(data[f"{prefix}_idf"], np.float32),
            char_coef=np.asarray(data[f"{prefix}_char_coef"], np.float32),
            intercept=float(data[f"{prefix}_intercept"][0]),
            sentence_offset=(
                float(data[f"{prefix}_sentence_offset"][0])
                if f"{prefix}_sentence_offset" in data
                else 0.0
            ),
        )


def embedded_texts(text: str, parts: list[str], *, whole: bool) -> list[str]:
    """What `CrisisClassifier.probability` embeds for `text` in its one batch: the text (when
    `whole`: the caller has no vector for it) or, longer than WINDOW, its first and last
    windows; and its sentences `parts` when there are several. Callers that embed ahead for
    the classifier (moderation's one pass per card) ask here, so they predict exactly this."""
    several = parts if len(parts) >= 2 else []
    if len(text) > WINDOW:
        return [text[:WINDOW], text[-WINDOW:], *several]
    return [text, *several] if whole else several


@dataclass(frozen=True)
class CrisisClassifier:
    models: dict[str, LanguageModel]
    key: str  # hash of the examples the models were trained on (see examples_key)

    def model_name(self, model: str) -> str:
        """`model` when the artefact has it; else a ValueError (the screen logs it and keeps the
        rules' answer), never silently another language's model."""
        if model not in self.models:
            raise ValueError(f"no crisis model {model!r} (models: {', '.join(self.models)})")
        return model

    def probability(
        self,
        text: str,
        language: str,
        vector: NDArray[np.float32] | None = None,
        *,
        by_sentence: bool = True,
    ) -> float:
        """P(crisis | text) from the model `language` names ("en", "ja": the crisis analyser
        the text's pack declares, or the policy's `unspoken_model` for a language without a
        pack; CrisisScreen.model_for chooses, so no language falls into another's model here).

        The larger of: the whole text (a long text as its first and last WINDOW characters:
        MiniLM reads at most 256 word pieces anyway, and a 4,000-character message must not cost
        seconds), and, with `by_sentence` and more than one sentence, each sentence read alone
        (`sentences`; all of them embedded in one batch). The screen turns `by_sentence` off for
        a story that is over (a recovery cue, no relapse cue): there the past-tense sentence
        read alone is exactly what must not be flagged. The rules read all of the text.
        `vector`: the whole text's embedding, when the caller has it already (used for a text
        within one window)."""
        parts = sentences(text, language) if by_sentence else []
        if self.model_name(language) in EMBEDDING_LANGUAGES:
            # One embedding call for the whole text (or its two windows) and its sentences;
            # the reads below find them in the shared cache.
            cached_embeddings(embedded_texts(text, parts, whole=vector is None))
        if len(text) <= WINDOW:
            whole = self._probability(text, language, vector)
        else:
            whole = max(
                self._probability(text[:WINDOW], language),
                self._probability(text[-WINDOW:], language),
            )
        if not by_sentence:
            return whole
        if len(parts) < 2:
            return whole
        return max(whole, self.largest(parts, language, out_of_context=True))

    def largest(self, parts: list[str], language: str, *, out_of_context: bool = False) -> float:
        """The largest P(crisis) among `parts`, each read alone (embedded in one batch).

        `out_of_context`: the parts are the sentences of one message, read to find a crisis
        sentence buried in it. A sentence cut from its message is shorter and less clear than
        the message ("Lost my job today." without "...but I'll figure it out"), and the model
        was trained on whole messages: its logit is lowered by the language model's
        `sentence_offset`, chosen out of fold on the training examples."""
        name = self.model_name(language)
        vectors: list[NDArray[np.float32] | None] = [None] * len(parts)
        if name in EMBEDDING_LANGUAGES:
            vectors = list(cached_embeddings(parts))
        offset = self.models[name].sentence_offset if out_of_context else 0.0
        return max(
            self._probability(p, language, v, offset) for p, v in zip(parts, vectors, strict=True)
        )

    def _probability(
        self,
        text: str,
        language: str,
        vector: NDArray[np.float32] | None = None,
        offset: float = 0.0,
    ) -> float:
        name = self.model_name(language)
        model = self.models[name]
        if name in EMBEDDING_LANGUAGES:
            if vector is None:
                vector = cached_embedding(text)
        else:
            vector = np.zeros(len(model.embedding_coef), np.float32)
        return float(1.0 / (1.0 + np.exp(-(model.logit(vector, text, name) - offset))))

    def save(self, path: Path = DEFAULT_CLASSIFIER_PATH) -> None:
        arrays: dict[str, NDArray[Any]] = {"key": np.array(self.key)}
        for language, model in self.models.items():
            arrays.update(model.arrays(language))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def examples_key(raw_examples: Any, real_selection: Any = None) -> str:
    """A hash of the examples (as parsed, so comments and layout do not count), the features and,
    when the model was trained with everyday text from many writers, the spec of that selection
    (bot/safety/real_texts.py selection_spec: sources, seed, sizes, reviewed ids)."""
    parts = [FEATURES_VERSION, raw_examples]
    if real_selection is not None:
        parts.append(real_selection)
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_crisis_classifier(path: Path = DEFAULT_CLASSIFIER_PATH) -> CrisisClassifier | None:
    """The shipped classifier, or None (logged) when the artefact is missing or unreadable: the
    rules still screen every message, so the bot keeps answering crises."""
    try:
        with np.load(path, allow_pickle=False) as data:
            models = {lang: LanguageModel.from_arrays(data, lang) for lang in MODEL_LANGUAGES}
            key = str(data["key"])
    except (OSError, KeyError, ValueError) as exc:
        log.error("crisis classifier not loaded (%s); the rules alone screen", type(exc).__name__)
        return None
    return CrisisClassifier(models=models, key=key)
