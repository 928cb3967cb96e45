"""CLI: `needtotalk train emotion-head` and `needtotalk classify`.

`train emotion-head` fits the GoEmotions head (bot/emotion/training.py) and writes the artefact
and its training figures. `classify` is the developer's window into the engine: one JSON object
per input line, so a policy change can be checked by piping a file of statements through it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.domain import Language
from bot.emotion.head import DEFAULT_HEAD_PATH
from bot.languages import languages, registry

_FIGURES_SUFFIX = ".json"


def register_train(train_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    head = train_sub.add_parser(
        "emotion-head",
        help="the GoEmotions head on MiniLM embeddings (bot/emotion/artefacts/)",
        description=(
            "Train the GoEmotions head: an MLP on all-MiniLM-L6-v2 embeddings predicting the "
            "28 GoEmotions labels. Thresholds are tuned on a held-out part of TRAIN; the dev "
            "split is only measured. Writes OUT (.npz) and its figures next to it (.json). "
            "Progress goes to stderr."
        ),
    )
    head.add_argument(
        "--data",
        type=Path,
        required=True,
        help="folder with GoEmotions original_train.tsv, original_dev.tsv, original_labels.txt",
    )
    head.add_argument("--out", type=Path, default=DEFAULT_HEAD_PATH, help="artefact path (.npz)")
    head.add_argument(
        "--cache",
        type=Path,
        default=Path("var/emotion-cache"),
        help="folder for cached embeddings (default var/emotion-cache; 'none' to disable)",
    )
    head.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    head.add_argument("--epochs", type=int, default=40, help="maximum epochs (default 40)")
    head.add_argument(
        "--hidden", type=int, default=512, help="hidden units per member (default 512)"
    )
    head.add_argument(
        "--ensemble",
        type=int,
        default=None,
        help=(
            "MLPs fitted with seeds SEED, SEED+1, ... and merged into one net that averages "
            "their logits (default 5, fixed a priori: see TrainConfig in "
            "bot/emotion/training.py); the shipped hidden layer is ENSEMBLE x HIDDEN wide"
        ),
    )
    head.add_argument("--limit", type=int, default=None, help="use only the first N rows per split")
    head.set_defaults(handler=run_train_head)
    protos = train_sub.add_parser(
        "emotion-prototypes",
        help="embed policies/emotions.yaml's phrases and train the phrase classifiers on them",
        description=(
            "Embed each emotion's description and example phrases (policies/emotions.yaml) with "
            "MiniLM, train the two phrase classifiers on them (logistic regression on the "
            "embeddings, and on character 1-3 grams; C by cross-validation on the phrases) and "
            "store everything in bot/emotion/artefacts/prototypes.npz, so the engine loads it "
            "instead of computing it at start-up. Run after editing the phrases (about a minute)."
        ),
    )
    protos.set_defaults(handler=run_train_prototypes)
    lexical = train_sub.add_parser(
        "emotion-lexical",
        help="the word-level GoEmotions head blended with the MLP head (bot/emotion/artefacts/)",
        description=(
            "Fit TF-IDF + one logistic regression per GoEmotions label on 90%% of TRAIN, then "
            "choose its blend weight with the MLP head and all thresholds on the held-out 10%%; "
            "dev is only measured. Needs the MLP head (`train emotion-head`) first. Writes "
            "bot/emotion/artefacts/goemotions_lexical.npz and its figures (.json)."
        ),
    )
    lexical.add_argument("--data", type=Path, required=True, help="GoEmotions folder")
    lexical.add_argument(
        "--cache", type=Path, default=Path("var/emotion-cache"), help="embedding cache folder"
    )
    lexical.add_argument("--limit", type=int, default=None, help="first N rows per split only")
    lexical.set_defaults(handler=run_train_lexical)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    classify = subparsers.add_parser(
        "classify",
        help="read lines of text on stdin, print one JSON reading per line",
        description=(
            "Read text lines from stdin and print, per line, a JSON object with the top emotion, "
            "user class, all 16 scores, polarity, crisis flag, language, the 28 GoEmotions "
            "probabilities, the card content class and `affect` (0-1: how much the line speaks "
            "about feelings). A line with affect 0 reads flat: its emotion and user class are "
            "null. `analysers` names what read each part and `fallback` says where the "
            "language's pack has none (docs/languages.md). Blank lines are skipped."
        ),
    )
    classify.add_argument("--language", choices=languages(), help="force a language")
    classify.add_argument("--batch", type=int, default=64, help="lines read per batch")
    classify.set_defaults(handler=run_classify)


def run_train_head(args: argparse.Namespace, settings: Settings) -> int:
    from bot.emotion.training import TrainConfig, train_head

    if not args.data.is_dir():
        print(f"needtotalk: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    cache = None if str(args.cache).lower() == "none" else args.cache
    ensemble = TrainConfig.ensemble if args.ensemble is None else args.ensemble
    if ensemble < 1:
        print("needtotalk: --ensemble must be at least 1", file=sys.stderr)
        return 2
    config = TrainConfig(
        seed=args.seed,
        epochs=args.epochs,
        hidden=args.hidden,
        limit=args.limit,
        ensemble=ensemble,
    )
    try:
        head, figures = train_head(args.data, config, cache)
    except FileNotFoundError as exc:
        print(f"needtotalk: {exc}", file=sys.stderr)
        return 2
    out: Path = args.out
    head.save(out)
    figures_path = out.with_suffix(_FIGURES_SUFFIX)
    previous = _read_json(figures_path)
    if "benchmark" in previous:  # keep the benchmark's figures; they are refreshed separately
        figures["benchmark"] = previous["benchmark"]
    figures_path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", "utf-8")
    dev = figures["dev_macro_f1"]
    print(
        f"wrote {out} and {figures_path}; dev macro-F1 {dev['labels28']:.3f} (28 labels), "
        f"{dev['ekman']:.3f} (Ekman), {dev['sentiment']:.3f} (sentiment)",
        file=sys.stderr,
    )
    return 0


def run_train_lexical(args: argparse.Namespace, settings: Settings) -> int:
    from bot.emotion.head import GoEmotionsHead
    from bot.emotion.lexical_head import DEFAULT_LEXICAL_PATH
    from bot.emotion.lexical_training import train_lexical_head
    from bot.emotion.training import TrainConfig

    if not args.data.is_dir():
        print(f"needtotalk: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    cache = None if str(args.cache).lower() == "none" else args.cache
    try:
        mlp = GoEmotionsHead.load(DEFAULT_HEAD_PATH)
        head, figures = train_lexical_head(args.data, mlp, cache, TrainConfig(limit=args.limit))
    except FileNotFoundError as exc:
        print(f"needtotalk: {exc}", file=sys.stderr)
        return 2
    head.save(DEFAULT_LEXICAL_PATH)
    figures_path = DEFAULT_LEXICAL_PATH.with_suffix(_FIGURES_SUFFIX)
    figures_path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", "utf-8")
    dev = figures["dev_macro_f1"]
    print(
        f"wrote {DEFAULT_LEXICAL_PATH} and {figures_path}; blend {figures['blend']}; dev "
        f"macro-F1 {dev['labels28']:.3f} (28), {dev['ekman']:.3f} (Ekman), "
        f"{dev['sentiment']:.3f} (sentiment)",
        file=sys.stderr,
    )
    return 0


def run_train_prototypes(args: argparse.Namespace, settings: Settings) -> int:
    from bot.emotion.policy import load_emotion_policy
    from bot.emotion.prototypes import DEFAULT_PROTOTYPES_PATH, phrases_key, save_prototypes

    policy = load_emotion_policy(settings.policies_dir)
    print("embedding the phrases and cross-validating the phrase classifiers...", file=sys.stderr)
    prototypes = save_prototypes(policy)
    rows = sum(len(v) for v in prototypes.vectors.values())
    print(
        f"wrote {DEFAULT_PROTOTYPES_PATH} ({rows} phrases, key {phrases_key(policy)})",
        file=sys.stderr,
    )
    return 0


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def classify_lines(lines: list[str], language: Language | None = None) -> list[dict[str, Any]]:
    """The `classify` output objects for these lines (one embedding batch)."""
    from bot.emotion.content_class import get_content_classifier
    from bot.emotion.engine import get_engine

    engine = get_engine()
    classifier = get_content_classifier()
    from bot.safety.crisis_screen import full_screen

    screen = full_screen()
    languages = registry()
    analyses = engine.analyse_many(lines, language)
    out: list[dict[str, Any]] = []
    for line, analysis in zip(lines, analyses, strict=True):
        reading = analysis.reading
        says_something = analysis.affect > 0.0
        crisis = screen.screen(line)
        pack = languages.get(reading.language)
        # Which analyser read each part, "none" where the language's pack declares none: then
        # that part is the explicit fallback (docs/languages.md), never another language's.
        analysers = {
            "emotion": analysis.analyser or "none",
            "crisis": crisis.model or "none (rules only)",
            "moderation": pack.analyser("moderation") or "none",
        }
        code = reading.language.value
        fallbacks: list[str] = []
        if pack.analyser("emotion") is None:
            fallbacks.append(f"no emotion analyser for {code}: a flat reading")
        if pack.analyser("moderation") is None:
            fallbacks.append(f"no moderation analyser for {code}: cards held as unreadable")
        if pack.analyser("crisis") is None and crisis.language == code:
            fallbacks.append(f"no crisis model for {code}: the rules alone")
        out.append(
            {
                "text": line,
                # A flat reading has no top emotion: null rather than the first of 16 ties.
                "emotion": reading.top.value if says_something else None,
                "user_class": reading.user_class.value if says_something else None,
                "affect": round(analysis.affect, 4),
                "scores": {e.value: round(s, 4) for e, s in reading.scores.items()},
                "polarity": {
                    "pos": round(reading.polarity.pos, 4),
                    "neg": round(reading.polarity.neg, 4),
                },
                "crisis": crisis.is_crisis,
                "language": reading.language.value,
                "analysers": analysers,
                "fallback": fallbacks,
                "goemotions": {k: round(v, 4) for k, v in analysis.goemotions.items()},
                "content_class": classifier.classify(line, reading).content_class.value,
            }
        )
    return out


def run_classify(args: argparse.Namespace, settings: Settings) -> int:
    language = Language(args.language) if args.language else None
    batch: list[str] = []

    def flush() -> None:
        for obj in classify_lines(batch, language):
            sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        batch.clear()

    for raw in sys.stdin:
        line = raw.strip()
        if not line:
            continue
        batch.append(line)
        if len(batch) >= max(1, args.batch):
            flush()
    if batch:
        flush()
    return 0
