"""CLI: `needtotalk moderate` and `needtotalk train moderation`.

`moderate` is the developer's and counsellor's window into moderation: every stdin line gets
exactly the decision /share would give it for a first-time author (the same `Moderator`), so a
policy or model change can be checked by piping a file of cards through it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.languages import languages


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "moderate",
        help="decide, per stdin line, whether a card would be published, restricted or held",
        description=(
            "Read one card per line on standard input and print how /share would moderate it "
            "for a first-time author: the decision (publish: the listed reader classes, first "
            "stage; restrict: readers who feel good only; hold: nobody, a counsellor reviews "
            "it), the reader classes, the content class, whether it holds crisis language, the "
            "moderation model's scores, the reasons, and the text exactly as it would be "
            "relayed (scrubbed). Blank lines are skipped. Example: "
            "echo 'It gets better, I promise.' | needtotalk moderate --json"
        ),
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help=(
            "one JSON object per line: decision, readers, content_class, crisis, scores, "
            "reasons, scrubbed"
        ),
    )
    parser.add_argument(
        "--language",
        choices=languages(),
        help="the author's language (default: guessed from each line's script)",
    )
    parser.set_defaults(handler=run_moderate)


def register_train(train_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`needtotalk train moderation`, added to the `train` group that bot/emotion owns."""
    train = train_sub.add_parser(
        "moderation",
        help="the moderation model (bot/moderation/artefacts/)",
        description=(
            "Fit the moderation model: multinomial logistic regression on MiniLM embeddings and "
            "character n-gram TF-IDF, over the Davidson et al. 2017 hate/offensive tweets "
            "(split here 80/10/10, seed SEED, stratified; the test tenth is never used), "
            "GoEmotions (single-label rows) and bot/moderation/examples.yaml. C is chosen on "
            "the validation rows. Writes bot/moderation/artefacts/moderation_model.npz and its "
            "figures (.json). Embeddings are cached in CACHE. Progress goes to stderr."
        ),
    )
    train.add_argument(
        "--hate-offensive",
        type=Path,
        required=True,
        help="folder with labeled_data.csv (Davidson et al. 2017)",
    )
    train.add_argument(
        "--goemotions",
        type=Path,
        required=True,
        help="GoEmotions folder (original_train.tsv, original_dev.tsv, original_labels.txt)",
    )
    train.add_argument(
        "--cache",
        type=Path,
        default=Path("var/moderation-cache"),
        help="folder for cached embeddings (default var/moderation-cache; 'none' to disable)",
    )
    train.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    train.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace, settings: Settings) -> int:
    from bot.moderation.model import DEFAULT_MODEL_PATH
    from bot.moderation.training import train_moderation

    for folder in (args.hate_offensive, args.goemotions):
        if not folder.is_dir():
            print(f"needtotalk: {folder} is not a folder", file=sys.stderr)
            return 2
    cache = None if str(args.cache).lower() == "none" else args.cache
    try:
        model, figures = train_moderation(args.hate_offensive, args.goemotions, cache, args.seed)
    except FileNotFoundError as exc:
        print(f"needtotalk: {exc}", file=sys.stderr)
        return 2
    model.save(DEFAULT_MODEL_PATH)
    figures_path = DEFAULT_MODEL_PATH.with_suffix(".json")
    figures_path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(
        f"wrote {DEFAULT_MODEL_PATH} and {figures_path}; C {figures['C']}, validation "
        f"macro-F1 {figures['validation_macro_f1']:.3f}",
        file=sys.stderr,
    )
    return 0


def moderate_line(line: str, language: str | None, settings: Settings) -> dict[str, Any]:
    """The `--json` object for one line (the Moderator is built once per process)."""
    from bot.emotion.language import detect_language

    moderator = _moderator(settings)
    lang = language or detect_language(line).value
    return moderator.moderate(line, lang).as_json()


_MODERATORS: dict[Path, Any] = {}


def _moderator(settings: Settings) -> Any:
    from bot.emotion.content_class import get_content_classifier
    from bot.moderation.pipeline import Moderator

    key = settings.policies_dir.resolve()
    if key not in _MODERATORS:
        _MODERATORS[key] = Moderator(classifier=get_content_classifier(key))
    return _MODERATORS[key]


def run_moderate(args: argparse.Namespace, settings: Settings) -> int:
    for raw in sys.stdin:
        line = raw.strip()
        if not line:
            continue
        row = moderate_line(line, args.language, settings)
        if args.json:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            readers = ", ".join(row["readers"]) or "nobody"
            crisis = " CRISIS" if row["crisis"] else ""
            why = "; ".join(row["reasons"])
            sys.stdout.write(
                f"{row['decision'].upper():8} {row['content_class']:13} -> {readers}{crisis}"
                f"  ({why})  {row['scrubbed']}\n"
            )
        sys.stdout.flush()
    return 0
