"""`needtotalk train moderation`: fit the moderation model on real data, reproducibly.

Data (each class below is a column of the model, bot/moderation/model.py):
- Davidson et al. 2017, "Automated Hate Speech Detection and the Problem of Offensive Language"
  (24,783 English tweets, MIT): class 0 hate speech -> toxic, 1 offensive -> offensive,
  2 neither -> inspirational (harmless). Split here, seeded, 80/10/10 stratified by class; the
  test tenth is only measured (benchmarks/moderation.py), never trained or tuned on. Of the
  training part, all hate tweets and a seeded 1,500 of the ~15,350 offensive and 2,000 of the
  ~3,330 neither tweets are used (they say the same few things, and each costs an embedding on
  a shared two-core machine); validation uses a seeded, stratified 600 of the validation tenth.
- GoEmotions (Reddit comments), single-label rows only: sadness, grief, remorse, disappointment,
  nervousness, fear, embarrassment -> vulnerable; gratitude, admiration, optimism, caring,
  approval, relief, pride, love, joy, neutral -> inspirational; amusement -> entertaining.
  A seeded sample of at most `GOEMOTIONS_PER_CLASS` per class from TRAIN; a fifth of that from
  DEV is validation.
- bot/moderation/examples.yaml: EN and JA phrases written for this model (the only source of
  crisis, of Japanese, of veiled contempt and self-harm encouragement, and of hard negatives),
  weighted `EXAMPLE_WEIGHT` each.

Each class gets the same total weight (so 48 crisis phrases count as much as 15,000 offensive
tweets), C is chosen on the validation rows (Davidson's validation tenth + GoEmotions DEV), and
the figures go next to the artefact.

Thresholds (policies/moderation.yaml) are chosen here, not on a card set: the written examples
are read out of fold (`FOLDS` fits, each without a fifth of the examples; the public rows always
train), and with the validation rows they give, per moderation analyser, the lowest toxic hold
that holds at most `FALSE_HOLD_BUDGET` of the harmless rows, and the lowest publish confidence
that publishes at most `FALSE_PUBLISH_BUDGET` of the harmful or sad rows. The figures file
records them and what they cost; the policy copies them (a person reviews the change).

Known limits of the public data are written into the
figures file and docs/moderation.md: tweets are mostly slurs and profanity, and models trained on
them flag African-American English as abusive far more often (Davidson et al. 2019).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.moderation.model import CLASSES, ModerationModel, hashing_vectorizer, ngram_matrix
from bot.yaml_files import read_yaml

EXAMPLES_PATH = Path(__file__).resolve().parent / "examples.yaml"
DAVIDSON_FILE = "labeled_data.csv"
DAVIDSON_CLASSES = ("toxic", "offensive", "inspirational")  # Davidson's 0, 1, 2
GOEMOTIONS_MAP: dict[str, str] = {
    **dict.fromkeys(
        ("sadness", "grief", "remorse", "disappointment", "nervousness", "fear", "embarrassment"),
        "vulnerable",
    ),
    **dict.fromkeys(
        (
            "gratitude",
            "admiration",
            "optimism",
            "caring",
            "approval",
            "relief",
            "pride",
            "love",
            "joy",
            "neutral",
        ),
        "inspirational",
    ),
    "amusement": "entertaining",
}
GOEMOTIONS_PER_CLASS = 600
OFFENSIVE_TRAIN_CAP = 1500  # of Davidson's ~15,350 offensive training tweets, a seeded sample
NEITHER_TRAIN_CAP = 2000  # of Davidson's ~3,330 "neither" training tweets
VALIDATION_DAVIDSON = 600  # a stratified, seeded part of the validation tenth
EXAMPLE_WEIGHT = 8.0
EXAMPLE_LABELS = {
    "toxic": "toxic",
    "crisis": "crisis",
    "vulnerable": "vulnerable",
    "supportive": "inspirational",
    "entertaining": "entertaining",
}
C_GRID = (1.0, 4.0)
FOLDS = 5
# Harmless rows (supportive, entertaining, sad) the toxic hold may hold: half the 10 %
# supportive-held budget, the other half left to the crisis screen.
FALSE_HOLD_BUDGET = 0.05
# Harmful or sad rows (toxic, crisis, sad) a publish confidence may let through; the target is 0,
# the other checks (rules, crisis screen, emotion reading) stand behind this one.
FALSE_PUBLISH_BUDGET = 0.02
THRESHOLD_GRID = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))  # 0.3 ... 0.9
_CACHE_FILE = "moderation-vectors.npz"
DATA_LIMITS = (
    "Davidson et al. 2017 tweets are mostly slurs and profanity, English only, with little veiled "
    "contempt and nothing about self-harm encouragement; models trained on them flag "
    "African-American English as abusive far more often (Davidson et al. 2019). Profanity alone "
    "is not toxicity in a peer-support card."
)


@dataclass
class Rows:
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, text: str, label: str, weight: float, source: str) -> None:
        self.texts.append(text)
        self.labels.append(CLASSES.index(label))
        self.weights.append(weight)
        self.sources.append(source)

    def extend(self, other: Rows) -> None:
        self.texts += other.texts
        self.labels += other.labels
        self.weights += other.weights
        self.sources += other.sources


def read_davidson(directory: Path) -> tuple[list[str], NDArray[np.int64]]:
    path = directory / DAVIDSON_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {directory} the hate-offensive folder?")
    texts: list[str] = []
    classes: list[int] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            texts.append(record["tweet"])
            classes.append(int(record["class"]))
    return texts, np.array(classes, dtype=np.int64)


def davidson_split(
    classes: NDArray[np.int64], seed: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Seeded 80/10/10 split of row indices, stratified by class (train, validation, test)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(classes))
    train, rest = train_test_split(rows, test_size=0.2, stratify=classes, random_state=seed)
    val, test = train_test_split(rest, test_size=0.5, stratify=classes[rest], random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


def read_examples(path: Path = EXAMPLES_PATH) -> Rows:
    data = read_yaml(path)
    rows = Rows()
    for name, by_language in data.items():
        for language, phrases in by_language.items():
            for phrase in phrases:
                rows.add(str(phrase), EXAMPLE_LABELS[name], EXAMPLE_WEIGHT, f"examples:{language}")
    return rows


def goemotions_rows(directory: Path, split: str, per_class: int | None, seed: int) -> Rows:
    from bot.emotion.goemotions_data import read_split

    data = read_split(directory, split)
    by_class: dict[str, list[str]] = {}
    for text, row in zip(data.texts, data.labels, strict=True):
        ids = np.flatnonzero(row)
        if len(ids) != 1:
            continue
        target = GOEMOTIONS_MAP.get(data.label_names[int(ids[0])])
        if target:
            by_class.setdefault(target, []).append(text)
    rng = np.random.default_rng(seed)
    rows = Rows()
    for target in sorted(by_class):
        texts = by_class[target]
        if per_class is not None and len(texts) > per_class:
            texts = [texts[i] for i in sorted(rng.choice(len(texts), per_class, replace=False))]
        for text in texts:
            rows.add(text, target, 1.0, f"goemotions:{split}")
    return rows


def davidson_rows(
    texts: Sequence[str], classes: NDArray[np.int64], index: NDArray[np.intp]
) -> Rows:
    rows = Rows()
    for i in index:
        rows.add(texts[i], DAVIDSON_CLASSES[int(classes[i])], 1.0, "davidson")
    return rows


def embed_cached(texts: Sequence[str], cache_dir: Path | None, label: str) -> NDArray[np.float32]:
    """MiniLM vectors, cached per text (by digest) and saved after every chunk, so an interrupted
    run on a busy machine resumes where it stopped; progress on stderr."""
    from bot.emotion.embeddings import EMBEDDING_DIM, bfloat16_is_fast, embed

    kind = "bf16" if bfloat16_is_fast() else "f32"  # the encoder's precision differs

    def digest(text: str) -> str:
        return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()

    known: dict[str, NDArray[np.float32]] = {}
    path = cache_dir / _CACHE_FILE if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as data:
            known = dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))
    keys = [digest(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    for start in range(0, len(missing), 512):
        part = missing[start : start + 512]
        for (key, _), vector in zip(part, embed([t for _, t in part]), strict=True):
            known[key] = vector
        print(f"embedding {label}: {start + len(part)}/{len(missing)} new", file=sys.stderr)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, keys=np.array(list(known)), vectors=np.array(list(known.values())))
    if not keys:
        return np.zeros((0, EMBEDDING_DIM), np.float32)
    return np.asarray(np.stack([known[k] for k in keys]), np.float32)


def balanced(labels: NDArray[np.int64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scale weights so every class has the same total (and the mean weight stays 1)."""
    out = weights.copy()
    k = len(CLASSES)
    total = weights.sum()
    for c in range(k):
        mask = labels == c
        if mask.any():
            out[mask] *= total / (k * weights[mask].sum())
    return out * (len(out) / out.sum())


def fit_idf(texts: Sequence[str]) -> NDArray[np.float32]:
    """Smoothed idf over the training texts, as TfidfTransformer(smooth_idf=True) computes it."""
    counts = hashing_vectorizer().transform(list(texts)).tocsc()
    df = np.diff(counts.indptr).astype(np.float64)
    n = counts.shape[0]
    return np.asarray(np.log((1.0 + n) / (1.0 + df)) + 1.0, np.float32)


def features(texts: Sequence[str], vectors: NDArray[np.float32], idf: NDArray[np.float32]) -> Any:
    from scipy import sparse

    return sparse.hstack([sparse.csr_matrix(vectors), ngram_matrix(texts, idf)]).tocsr()


def per_class_report(
    truth: NDArray[np.int64], predicted: NDArray[np.int64], names: Sequence[str]
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for c, name in enumerate(names):
        tp = int(np.sum((predicted == c) & (truth == c)))
        fp = int(np.sum((predicted == c) & (truth != c)))
        fn = int(np.sum((predicted != c) & (truth == c)))
        if tp + fn == 0:
            continue
        out[name] = {
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn),
            "support": tp + fn,
        }
    return out


def _lowest(grid: Sequence[float], rate: Any, budget: float) -> float:
    """The first threshold of `grid` whose `rate(threshold)` is within `budget` (else the last)."""
    for value in grid:
        if rate(value) <= budget:
            return float(value)
    return float(grid[-1])


def choose_thresholds(
    probs: NDArray[np.float64], labels: NDArray[np.int64], languages: Sequence[str]
) -> dict[str, Any]:
    """Toxic hold per language and the publish confidence, from out-of-fold or validation
    probabilities (`languages`: "en", "ja", or "" for the public rows, which count as English).

    Toxic hold: the lowest of `THRESHOLD_GRID` at which at most `FALSE_HOLD_BUDGET` of the
    language's harmless rows (vulnerable, inspirational, entertaining) read P(toxic) at or above
    it. Publish confidence: the lowest (from 0.55, the old setting) at which at most
    `FALSE_PUBLISH_BUDGET` of the toxic, crisis and vulnerable rows read P(good) at or above it.
    """
    toxic = CLASSES.index("toxic")
    harmless = np.isin(
        labels, [CLASSES.index(c) for c in ("vulnerable", "inspirational", "entertaining")]
    )
    bad = np.isin(labels, [CLASSES.index(c) for c in ("toxic", "crisis", "vulnerable")])
    good = probs[:, CLASSES.index("inspirational")] + probs[:, CLASSES.index("entertaining")]
    lang = np.array([language or "en" for language in languages])
    out: dict[str, Any] = {"false_hold_budget": FALSE_HOLD_BUDGET, "toxic_hold": {}}
    for language in ("en", "ja"):
        pool = probs[harmless & (lang == language), toxic]
        targets = probs[(labels == toxic) & (lang == language), toxic]
        if not len(pool):
            continue
        value = _lowest(THRESHOLD_GRID, lambda t, p=pool: float(np.mean(p >= t)), FALSE_HOLD_BUDGET)
        out["toxic_hold"][language] = {
            "threshold": value,
            "harmless_held": float(np.mean(pool >= value)),
            "toxic_recall": float(np.mean(targets >= value)) if len(targets) else None,
            "harmless_rows": len(pool),
            "toxic_rows": len(targets),
            # each threshold: shares of harmless rows held and of toxic rows caught
            "curve": {
                str(t): [
                    round(float(np.mean(pool >= t)), 4),
                    round(float(np.mean(targets >= t)), 4) if len(targets) else None,
                ]
                for t in THRESHOLD_GRID
            },
        }
    grid = [t for t in THRESHOLD_GRID if t >= 0.55]
    value = _lowest(grid, lambda t: float(np.mean(good[bad] >= t)), FALSE_PUBLISH_BUDGET)
    out["publish_confidence"] = {
        "threshold": value,
        "false_publish_budget": FALSE_PUBLISH_BUDGET,
        "bad_published": float(np.mean(good[bad] >= value)),
        "good_published": float(np.mean(good[~bad] >= value)),
        "bad_rows": int(bad.sum()),
        # what each threshold would cost: shares of bad and of good rows published
        "curve": {
            str(t): [
                round(float(np.mean(good[bad] >= t)), 4),
                round(float(np.mean(good[~bad] >= t)), 4),
            ]
            for t in grid
        },
    }
    return out


def out_of_fold_examples(
    x: Any,
    y: NDArray[np.int64],
    raw_weights: NDArray[np.float64],
    sources: Sequence[str],
    c_value: float,
    seed: int,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Probabilities of every written example from a fit that did not see it (`FOLDS` folds,
    stratified by class and language; the public rows are in every fit)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    examples = np.flatnonzero([s.startswith("examples:") for s in sources])
    strata = [f"{y[i]}:{sources[int(i)]}" for i in examples]
    probs = np.zeros((len(examples), len(CLASSES)))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for number, (_, held) in enumerate(folds.split(examples, strata), start=1):
        print(f"out-of-fold fit {number}/{FOLDS}...", file=sys.stderr, flush=True)
        keep = np.setdiff1d(np.arange(len(y)), examples[held])
        model = LogisticRegression(C=c_value, max_iter=2000, random_state=seed)
        model.fit(x[keep], y[keep], sample_weight=balanced(y[keep], raw_weights[keep]))
        probs[held] = model.predict_proba(x[examples[held]])
    return examples, probs


def train_moderation(
    davidson_dir: Path,
    goemotions_dir: Path,
    cache_dir: Path | None,
    seed: int = 13,
    folds: bool = True,
) -> tuple[ModerationModel, dict[str, Any]]:
    """Fit the model; return it and its validation figures (the test tenth is not touched)."""
    from sklearn.linear_model import LogisticRegression

    from bot.emotion.engine import one_blas_thread

    tweets, classes = read_davidson(davidson_dir)
    train_idx, val_idx, _test_idx = davidson_split(classes, seed)
    rng = np.random.default_rng(seed)
    for cls, cap in ((1, OFFENSIVE_TRAIN_CAP), (2, NEITHER_TRAIN_CAP)):
        members = train_idx[classes[train_idx] == cls]
        if len(members) > cap:  # they say the same few things, and each costs an embedding
            drop = rng.choice(len(members), len(members) - cap, replace=False)
            train_idx = np.setdiff1d(train_idx, members[drop])
    train = davidson_rows(tweets, classes, train_idx)
    train.extend(goemotions_rows(goemotions_dir, "train", GOEMOTIONS_PER_CLASS, seed))
    examples = read_examples()
    train.extend(examples)
    if len(val_idx) > VALIDATION_DAVIDSON:
        from sklearn.model_selection import train_test_split

        val_idx, _ = train_test_split(
            val_idx, train_size=VALIDATION_DAVIDSON, stratify=classes[val_idx], random_state=seed
        )
        val_idx = np.sort(val_idx)
    val = davidson_rows(tweets, classes, val_idx)
    val.extend(goemotions_rows(goemotions_dir, "dev", GOEMOTIONS_PER_CLASS // 5, seed))

    x_train_vec = embed_cached(train.texts, cache_dir, "moderation train")
    x_val_vec = embed_cached(val.texts, cache_dir, "moderation validation")
    idf = fit_idf(train.texts)
    x_train = features(train.texts, x_train_vec, idf)
    x_val = features(val.texts, x_val_vec, idf)
    y_train = np.array(train.labels, dtype=np.int64)
    y_val = np.array(val.labels, dtype=np.int64)
    w_train = balanced(y_train, np.array(train.weights, dtype=np.float64))

    best: tuple[float, float, Any] | None = None
    grid: dict[str, float] = {}
    for c_value in C_GRID:
        print(f"fitting C={c_value}...", file=sys.stderr, flush=True)
        model = LogisticRegression(C=c_value, max_iter=2000, random_state=seed)
        model.fit(x_train, y_train, sample_weight=w_train)
        predicted = model.predict(x_val)
        report = per_class_report(y_val, predicted, CLASSES)
        macro = float(
            np.mean(
                [
                    2 * r["precision"] * r["recall"] / max(1e-9, r["precision"] + r["recall"])
                    for r in report.values()
                ]
            )
        )
        grid[str(c_value)] = macro
        print(f"  validation macro-F1 {macro:.3f}", file=sys.stderr, flush=True)
        if best is None or macro > best[0]:
            best = (macro, c_value, model)
    assert best is not None
    macro, c_best, fitted = best
    dim = x_train_vec.shape[1]
    coef = np.asarray(fitted.coef_, np.float32)
    key = hashlib.sha256(
        json.dumps([seed, c_best, len(train.texts), sorted(set(train.sources))]).encode()
        + "\n".join(examples.texts).encode()
    ).hexdigest()[:16]
    trained = ModerationModel(
        classes=CLASSES,
        embedding_coef=coef[:, :dim],
        ngram_coef=coef[:, dim:],
        intercept=np.asarray(fitted.intercept_, np.float32),
        idf=idf,
        key=key,
    )
    with one_blas_thread():
        val_probs = trained.probabilities(val.texts, x_val_vec)
    val_pred = val_probs.argmax(axis=1)
    thresholds: dict[str, Any] = {}
    if folds:
        raw = np.array(train.weights, dtype=np.float64)
        rows, oof = out_of_fold_examples(x_train, y_train, raw, train.sources, c_best, seed)
        probs = np.vstack([oof, val_probs.astype(np.float64)])
        labels = np.concatenate([y_train[rows], y_val])
        langs = [train.sources[i].removeprefix("examples:") for i in rows] + [""] * len(y_val)
        thresholds = choose_thresholds(probs, labels, langs)
    figures: dict[str, Any] = {
        "key": key,
        "seed": seed,
        "C": c_best,
        "C_grid_validation_macro_f1": grid,
        "train_rows": {name: int(np.sum(y_train == c)) for c, name in enumerate(CLASSES)},
        "examples": len(examples.texts),
        "validation_macro_f1": macro,
        "validation_per_class": per_class_report(y_val, val_pred, CLASSES),
        "thresholds_chosen": thresholds,
        "data_limits": DATA_LIMITS,
    }
    return trained, figures
