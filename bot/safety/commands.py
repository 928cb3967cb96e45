"""CLI: `needtotalk train crisis-classifier` (registered under the `train` group)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings


def register_train(train_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    crisis = train_sub.add_parser(
        "crisis-classifier",
        help="the learned crisis layer from policies/crisis_examples.yaml (bot/safety/artefacts/)",
        description=(
            "Train the crisis classifier (logistic regression per language on MiniLM embeddings "
            "and character 1-3 grams; C by cross-validation on the examples) from "
            "policies/crisis_examples.yaml, and write bot/safety/artefacts/crisis_classifier.npz "
            "and its figures (.json: out-of-fold recall and false alarms per threshold). Run after "
            "editing the examples (a few minutes); a unit test fails until you do. With "
            "--goemotions and --hate-offensive, English also learns from everyday text by many "
            "writers and its threshold is chosen on a part of it never trained on (the fifth "
            "round's experiment, not shipped: docs/crisis.md)."
        ),
    )
    crisis.add_argument(
        "--goemotions",
        type=Path,
        metavar="DIR",
        help="with --hate-offensive: English also learns from real comments (fifth round, not "
        "shipped: docs/crisis.md); without them, the written examples alone (as shipped)",
    )
    crisis.add_argument(
        "--hate-offensive",
        type=Path,
        metavar="DIR",
        help="the Davidson et al. 2017 folder (labeled_data.csv)",
    )
    crisis.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep MiniLM vectors per text here between runs (optional; e.g. data/cache)",
    )
    crisis.set_defaults(handler=run_train_crisis_classifier)


def run_train_crisis_classifier(args: argparse.Namespace, settings: Settings) -> int:
    from bot.safety.classifier import DEFAULT_CLASSIFIER_PATH
    from bot.safety.crisis_screen import load_safety_policy
    from bot.safety.real_texts import read_real_texts
    from bot.safety.training import save, train

    policy = load_safety_policy(settings.policies_dir / "safety.yaml")
    print("embedding the crisis examples and cross-validating...", file=sys.stderr)
    if bool(args.goemotions) != bool(args.hate_offensive):
        print("--goemotions and --hate-offensive go together", file=sys.stderr)
        return 2
    real = read_real_texts(args.goemotions, args.hate_offensive) if args.goemotions else None
    classifier, figures = train(
        settings.policies_dir / "crisis_examples.yaml", policy, real, args.cache
    )
    save(classifier, figures)
    for language, entry in figures["languages"].items():
        threshold = policy.classifier.threshold_for(language)
        at = entry["out_of_fold"].get(str(threshold), {"recall": "-", "false_alarms": "-"})
        print(
            f"{language}: {entry['examples']} C={entry['C']} out-of-fold at threshold "
            f"{threshold}: recall {at['recall']}, false alarms "
            f"{at['false_alarms']}; real tune false alarms "
            f"{at.get('real_tune_false_alarms', '-')}; chosen on real text: "
            f"{entry.get('threshold_chosen', '-')}",
            file=sys.stderr,
        )
    print(f"wrote {DEFAULT_CLASSIFIER_PATH} (key {classifier.key})", file=sys.stderr)
    return 0
