"""Text -> EmotionReading: a distribution over seed 1's 16 emotions (Fig. 4) and a polarity.

Evidence, blended in logit space with weights from policies/emotions.yaml:
- prototypes: cosine similarity of the text's MiniLM embedding to each emotion's description and
  example phrases (in the text's language);
- the GoEmotions head (bot/emotion/head.py, trained on GoEmotions; Demszky et al. 2020): its 28
  probabilities mapped onto the 16 through the yaml's per-emotion weights;
- lexicons: the yaml's cue phrases; for Japanese, ML-Ask's emotion categories (mapped through the
  yaml) and the Tohoku polarity words; for English valence, VADER (Hutto & Gilbert 2014, MIT).

Calibration: the logits are multiplied by an *affect* factor in [0, 1], how much the text speaks
about feelings at all (GoEmotions' non-neutral mass, cues, lexicon hits). Below a floor the
distribution is exactly flat: "ok" or "はい" says nothing about which of the 16 a person feels.

The polarity (pos, neg) feeds seed 2's Pos() (knapsack-connections-mood-disorders.txt §IV-B):
smoothed shares of positive and negative evidence, 0.5 / 0.5 when there is none.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import ThreadpoolController

from bot.domain import (
    ANALYSER_LANGUAGES,
    EMOTIONS,
    Emotion,
    EmotionReading,
    Language,
    Polarity,
    UserClass,
)
from bot.emotion import japanese
from bot.emotion.embeddings import cached_embeddings, load_embedder
from bot.emotion.goemotions_data import SENTIMENT_GROUPS
from bot.emotion.head import DEFAULT_HEAD_PATH, GoEmotionsHead
from bot.emotion.language import detect_language
from bot.emotion.ngrams import NgramIndex
from bot.emotion.phrases import PhraseMatcher
from bot.emotion.policy import MLASK_CATEGORIES, EmotionPolicy, load_emotion_policy
from bot.emotion.prototypes import load_prototypes, prototype_phrases
from bot.languages import registry
from bot.recent_cache import RecentCache

logger = logging.getLogger(__name__)
DEFAULT_POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
_CACHE_SIZE = 512
_ANALYSER = {lang.value: lang for lang in ANALYSER_LANGUAGES}


_NOBODY = re.compile(r"\b(nobody|no one|no-one|noone)\b", re.IGNORECASE)


def vader_negations(text: str) -> str:
    """VADER negates the words after "not" but not after "nobody": "nobody cares about me"
    scores as positive. Rewriting it as "not anybody" lets VADER's own negation rule apply."""
    return _NOBODY.sub("not anybody", text)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything read from one text: the reading plus the raw evidence behind it."""

    reading: EmotionReading
    goemotions: dict[str, float]
    affect: float  # 0 = says nothing about feelings, 1 = clearly emotional
    cue_hits: dict[Emotion, tuple[str, ...]]
    # The MiniLM sentence vector the reading came from, so the moderation model reuses it
    # instead of embedding the same text twice (an embedding is most of a card's time).
    embedding: NDArray[np.float32] | None = None
    # Which analyser read it ("en", "ja"), or None: the text's language pack declares no emotion
    # analyser, so the reading is flat on purpose (docs/languages.md), not a verdict.
    analyser: str | None = None


def unread(language: Language) -> Analysis:
    """The explicit fallback for a language whose pack has no emotion analyser: the flat
    reading the engine gives text that says nothing about feelings ("ok"), never another
    language's analyser's guess."""
    return Analysis(
        reading=EmotionReading(
            scores=dict.fromkeys(EMOTIONS, 1.0 / len(EMOTIONS)),
            polarity=Polarity(0.5, 0.5),
            language=language,
        ),
        goemotions={},
        affect=0.0,
        cue_hits={},
        embedding=None,
        analyser=None,
    )


class EmotionEngine:
    """Reads emotion evidence from English or Japanese text. Immutable after loading."""

    def __init__(
        self, policy: EmotionPolicy, head: GoEmotionsHead, *, cache_size: int = _CACHE_SIZE
    ) -> None:
        self.policy = policy
        self.head = head
        combo = policy.combination
        self._labels = head.labels
        self._go_map = self._weights_matrix(lambda e: policy.emotions[e].goemotions, head.labels)
        self._mlask_map = self._weights_matrix(lambda e: policy.emotions[e].mlask, MLASK_CATEGORIES)
        # GoEmotions files "desire" as positive; for valence it is not ("I wish I was dead").
        self._positive = np.array(
            [label in SENTIMENT_GROUPS["positive"] and label != "desire" for label in head.labels]
        )
        self._negative = np.array([label in SENTIMENT_GROUPS["negative"] for label in head.labels])
        self._neutral = head.labels.index("neutral")
        self._affect_weights = np.array(
            [
                0.0
                if label == "neutral"
                else combo.cognitive_affect
                if label in combo.cognitive_labels
                else 1.0
                for label in head.labels
            ],
            np.float32,
        )
        self._class_sets = {
            c: np.array([head.labels.index(label) for label in labels])
            for c, labels in combo.class_goemotions.items()
        }
        self._class_members = {
            c: np.array([e.user_class is c for e in EMOTIONS], np.float32) for c in UserClass
        }
        self._cues = {
            lang: {
                e: PhraseMatcher(policy.emotions[e].cues.get(lang.value, []), lang)
                for e in EMOTIONS
            }
            for lang in ANALYSER_LANGUAGES
        }
        self._top_k = combo.prototype_top_k
        self._layouts: dict[int, tuple[NDArray[np.intp], NDArray[np.bool_]]] = {}
        focus = policy.focus_words
        self._self_words = {
            lang: PhraseMatcher(focus.self.get(lang.value, []), lang) for lang in ANALYSER_LANGUAGES
        }
        self._other_words = {
            lang: PhraseMatcher(focus.others.get(lang.value, []), lang)
            for lang in ANALYSER_LANGUAGES
        }
        self._distress_words = {
            lang: PhraseMatcher(policy.distress_words.get(lang.value, []), lang)
            for lang in ANALYSER_LANGUAGES
        }
        classes = [e.user_class for e in EMOTIONS]
        self._good = np.array([1.0 if c.feels_good else -1.0 for c in classes], np.float32)
        self._towards_others = np.array(
            [
                1.0 if c in (UserClass.POTENTIAL_HEALING, UserClass.HARMFUL) else -1.0
                for c in classes
            ],
            np.float32,
        )
        load_embedder()  # load MiniLM and the Japanese analysers now, so no reading waits
        japanese.polarity_dictionaries()
        japanese.mlask_emotions("はい")
        self._prototypes, self.prototypes_cached = load_prototypes(policy)
        ja_phrases, ja_owners = prototype_phrases(policy, Language.JA)
        self._ja_ngrams = NgramIndex(ja_phrases)
        self._ja_owners = np.array(ja_owners)
        if not self.prototypes_cached:
            logger.warning(
                "emotion prototypes embedded at start-up (policies/emotions.yaml changed); run "
                "`needtotalk train emotion-prototypes` to ship them precomputed"
            )
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self._cache: RecentCache[tuple[str, Language], Analysis] = RecentCache(cache_size)

    @staticmethod
    def _weights_matrix(weights_of: object, sources: Sequence[str]) -> NDArray[np.float32]:
        """(sources, 16): column e holds emotion e's weights, normalised to sum to one."""
        matrix = np.zeros((len(sources), len(EMOTIONS)), dtype=np.float32)
        for j, emotion in enumerate(EMOTIONS):
            for source, weight in weights_of(emotion).items():  # type: ignore[operator]
                matrix[list(sources).index(source), j] = weight
            total = matrix[:, j].sum()
            if total > 0:
                matrix[:, j] /= total
        return matrix

    # ---- public API --------------------------------------------------------------------------

    def read(self, text: str, language: Language | None = None) -> EmotionReading:
        return self.analyse_many([text], language)[0].reading

    def read_many(
        self, texts: Sequence[str], language: Language | None = None
    ) -> list[EmotionReading]:
        """Batch reading: one embedding call for all texts (much faster than `read` in a loop)."""
        return [a.reading for a in self.analyse_many(texts, language)]

    def goemotions(self, text: str) -> dict[str, float]:
        """The head's 28 GoEmotions label probabilities by name (English-trained)."""
        return self.analyse_many([text])[0].goemotions

    def analyse(self, text: str, language: Language | None = None) -> Analysis:
        return self.analyse_many([text], language)[0]

    def analyse_many(
        self, texts: Sequence[str], language: Language | None = None
    ) -> list[Analysis]:
        """Readings with their evidence; recent texts are served from a small cache."""
        out: list[Analysis | None] = [None] * len(texts)
        keys = [(text, language or detect_language(text)) for text in texts]
        missing: list[int] = []
        for i, key in enumerate(keys):
            out[i] = self._cache.get(key)
            if out[i] is None:
                missing.append(i)
        if missing:
            fresh = self._analyse_uncached([keys[i] for i in missing])
            for i, analysis in zip(missing, fresh, strict=True):
                out[i] = self._cache.put(keys[i], analysis)
        return [a for a in out if a is not None]

    # ---- evidence ----------------------------------------------------------------------------

    def _analyse_uncached(self, items: Sequence[tuple[str, Language]]) -> list[Analysis]:
        """Each text by its language's emotion analyser (its pack's `analysers.emotion`); a
        language with none gets `unread`."""
        languages = registry()
        analysers = [languages.get(language).analyser("emotion") for _, language in items]
        read = [i for i, analyser in enumerate(analysers) if analyser is not None]
        out = [unread(language) for _, language in items]
        if not read:
            return out
        vectors = cached_embeddings([items[i][0] for i in read])
        with one_blas_thread():
            probabilities = self.head.probabilities(vectors)
            for row, i in enumerate(read):
                text, language = items[i]
                out[i] = self._analyse_one(
                    text,
                    vectors[row],
                    probabilities[row],
                    _ANALYSER[str(analysers[i])],
                    language,
                )
        return out

    def _find_cues(self, lowered: str, language: Language) -> dict[Emotion, tuple[str, ...]]:
        """Cue phrases per emotion; a cue inside a longer cue of another emotion is dropped, so
        "i hate myself" counts for negative self-talk and not also as "i hate" for hatred."""
        spans = [
            (start, end, phrase, emotion)
            for emotion in EMOTIONS
            for start, end, phrase in self._cues[language][emotion].spans(lowered)
        ]
        kept: dict[Emotion, list[str]] = {}
        for start, end, phrase, emotion in spans:
            inside = any(
                s <= start and end <= e and (e - s) > (end - start) for s, e, _, _ in spans
            )
            if not inside and phrase not in kept.setdefault(emotion, []):
                kept[emotion].append(phrase)
        return {e: tuple(kept.get(e, ())) for e in EMOTIONS}

    def _prototype_similarity(
        self, vector: NDArray[np.float32], language: Language
    ) -> NDArray[np.float32]:
        """Mean of the top-k similarities to each emotion's phrases, centred across emotions."""
        sims = self._prototypes.vectors[language] @ vector
        return self._top_k_by_emotion(sims, self._prototypes.owners[language])

    def _top_k_by_emotion(
        self, sims: NDArray[np.float32], owners: NDArray[np.intp]
    ) -> NDArray[np.float32]:
        """Per emotion, the mean of its `top_k` best similarities; centred across emotions."""
        layout = self._layouts.get(id(owners))
        if layout is None:  # owners arrays are fixed at load; one (16, widest) index table each
            layout = self._layouts[id(owners)] = _group_layout(owners)
        index, valid = layout
        table = np.where(valid, sims[index], -np.inf)
        top = -np.sort(-table, axis=1)[:, : self._top_k]
        counts = np.minimum(valid.sum(1), self._top_k)
        best = np.where(
            counts > 0, np.where(np.isfinite(top), top, 0.0).sum(1) / np.maximum(counts, 1), 0.0
        ).astype(np.float32)
        return best - best.mean()

    def _analyse_one(
        self,
        text: str,
        vector: NDArray[np.float32],
        probabilities: NDArray[np.float32],
        language: Language,
        reading_language: Language,
    ) -> Analysis:
        """`language`: the analyser's (what the phrase lists and weights are keyed by);
        `reading_language`: the text's, which the reading reports."""
        combo = self.policy.combination
        weights = combo.weights[language.value]
        lowered = text.lower().replace("’", "'")
        cue_hits = self._find_cues(lowered, language)
        cue_counts = np.array([min(len(cue_hits[e]), 2) for e in EMOTIONS], dtype=np.float32)
        words = len(lowered.split()) if language == Language.EN else len(lowered) / 3
        brevity = min(1.0, words / combo.affect_min_words)
        # Evidence learned from whole example sentences is noise on a word or two ("つらい",
        # "tired"): a one-word text's nearest phrases and n-grams say little. It is scaled by
        # brevity, so on short texts the cues, lexicons and distress words decide.
        logits = np.zeros(len(EMOTIONS), np.float32)
        if weights.prototype:  # Japanese leaves MiniLM evidence out (weight 0): skip the work
            logits += (
                weights.prototype
                * self._prototype_similarity(vector, language)
                / combo.prototype_temperature
            )
        if weights.phrase_classifier:
            classifier = self._prototypes.classifiers[language]
            logits += weights.phrase_classifier * classifier.centred_log_probabilities(vector)
        if weights.phrase_lexicon:
            lexicon = self._prototypes.lexicons[language]
            logits += weights.phrase_lexicon * lexicon.centred_log_probabilities(text)
        logits *= brevity
        logits += weights.goemotions * (probabilities @ self._go_map)
        logits += weights.cues * cue_counts
        for user_class, members in self._class_sets.items():
            evidence = float(probabilities[members].max()) if len(members) else 0.0
            logits += weights.goemotions_classes * evidence * self._class_members[user_class]
        non_neutral = brevity * float((probabilities * self._affect_weights).max())
        distress = min(len(self._distress_words[language].spans(lowered)), 2)
        cue_affect = combo.cue_affect if cue_counts.any() or distress else 0.0
        logits += combo.class_distress * distress * self._class_members[UserClass.VULNERABLE]

        if language == Language.EN:
            vader = self._vader.polarity_scores(vader_negations(text))
            affect = max(
                non_neutral,
                cue_affect,
                brevity * min(1.0, combo.vader_affect * abs(vader["compound"])),
            )
            pos_evidence = 0.5 * vader["pos"] + 0.5 * float(probabilities[self._positive].max())
            neg_evidence = 0.5 * vader["neg"] + 0.5 * float(probabilities[self._negative].max())
        else:
            mlask = japanese.mlask_emotions(text)
            counts = japanese.polarity_counts(text)
            mlask_vector = np.array(
                [mlask.categories.get(c, 0) for c in MLASK_CATEGORIES], dtype=np.float32
            )
            ngram_sims = self._ja_ngrams.similarities(text)
            logits += (
                brevity
                * weights.ngrams
                * self._top_k_by_emotion(ngram_sims, self._ja_owners)
                / combo.ngram_temperature
            )
            if mlask_vector.any():
                logits += weights.mlask * (mlask_vector / mlask_vector.sum()) @ self._mlask_map
            polar_words = counts.positive + counts.negative
            affect = max(
                combo.mlask_affect if mlask.categories else 0.0,
                cue_affect,
                min(1.0, combo.polarity_word_affect * polar_words),
                brevity * min(1.0, combo.ngram_affect * max(0.0, float(ngram_sims.max()) - 0.2)),
            )
            positive = counts.positive + mlask.positive
            negative = counts.negative + mlask.negative
            total = max(1, positive + negative)
            pos_evidence, neg_evidence = positive / total, negative / total

        # Seed 1's classes as good/bad x others/self (see policies/emotions.yaml, class_focus).
        n_self = len(self._self_words[language].spans(lowered))
        n_others = len(self._other_words[language].spans(lowered))
        focus = (n_others - n_self) / (n_others + n_self + 1)
        valence = pos_evidence - neg_evidence
        logits += combo.class_valence * valence * self._good
        logits += combo.class_focus * focus * self._towards_others

        if affect < combo.affect_floor:
            affect = 0.0
        scaled = affect * logits
        scores = np.exp(scaled - scaled.max())
        scores /= scores.sum()
        smoothing = combo.polarity_smoothing
        pos_e, neg_e = affect * pos_evidence, affect * neg_evidence
        polarity = Polarity(
            pos=(pos_e + smoothing) / (pos_e + neg_e + 2 * smoothing),
            neg=(neg_e + smoothing) / (pos_e + neg_e + 2 * smoothing),
        )
        reading = EmotionReading(
            scores={e: float(s) for e, s in zip(EMOTIONS, scores, strict=True)},
            polarity=polarity,
            language=reading_language,
        )
        return Analysis(
            reading=reading,
            goemotions={
                label: float(p) for label, p in zip(self._labels, probabilities, strict=True)
            },
            affect=float(affect),
            cue_hits={e: hits for e, hits in cue_hits.items() if hits},
            embedding=vector,
            analyser=language.value,
        )


@cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


_blas_lock = threading.Lock()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's OpenBLAS on one thread while the engine's small matrices are multiplied.

    The head and prototype products are tiny (a batch x 384 x 512 at most); with OpenBLAS's
    default of one thread per core they were 40x slower (15 ms instead of 0.35 ms a batch),
    because its threads spin against torch's on the same cores. Measured with cProfile on
    `classify`: 205 -> 258 texts/s on one loaded core. Scoped, so training code keeps its
    threads; entering and leaving costs ~10 us (threadpoolctl, a scikit-learn dependency).
    The limit is process-wide, so overlapping readings (the Telegram channel runs turns in
    worker threads) take turns: otherwise one could restore the default while another still
    computes, or leave the limit set for good."""
    with _blas_lock, _blas_controller().limit(limits=1, user_api="blas"):
        yield


# The old private name, for callers written before it was shared with bot/moderation.
_one_blas_thread = one_blas_thread


def _group_layout(owners: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """(16, widest) indices of each emotion's rows in `owners`, and which entries are real."""
    members = [np.flatnonzero(owners == i) for i in range(len(EMOTIONS))]
    width = max(1, max(len(m) for m in members))
    index = np.zeros((len(EMOTIONS), width), dtype=np.intp)
    valid = np.zeros((len(EMOTIONS), width), dtype=bool)
    for i, m in enumerate(members):
        index[i, : len(m)] = m
        valid[i, : len(m)] = True
    return index, valid


def load_engine(policies_dir: Path | None = None, head_path: Path | None = None) -> EmotionEngine:
    """A fresh engine from a policies folder (default: the project's) and a head artefact."""
    policy = load_emotion_policy(policies_dir or DEFAULT_POLICIES_DIR)
    return EmotionEngine(policy, GoEmotionsHead.load(head_path or DEFAULT_HEAD_PATH))


def get_engine(policies_dir: Path | None = None) -> EmotionEngine:
    """The process-wide engine, loaded once (MiniLM, head, lexicons: a few seconds)."""
    return _engine_for((policies_dir or DEFAULT_POLICIES_DIR).resolve())


@cache
def _engine_for(policies_dir: Path) -> EmotionEngine:
    return load_engine(policies_dir)
