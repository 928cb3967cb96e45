"""`needtotalk kb index` and `needtotalk kb search`: the knowledge base for developers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.config import Settings
from bot.domain import ContentClass
from bot.languages import languages


def register(subparsers: Any) -> None:
    kb = subparsers.add_parser(
        "kb",
        help="index and search the knowledge base (kb/ cards and coping tips)",
        description="The knowledge base: kb/ Markdown cards embedded into chromadb.",
    )
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)

    index = kb_sub.add_parser(
        "index",
        help="embed kb/ and bring the chromadb collection up to date (idempotent)",
        description=(
            "Read every card under kb/, embed new and changed ones with the bundled MiniLM "
            "model and upsert them into chromadb (CHROMA_PATH, or the server at CHROMA_HOST); "
            "cards removed from kb/ are deleted. Safe to run any number of times."
        ),
    )
    index.add_argument(
        "-v", "--verbose", action="store_true", help="list the id of every card that changed"
    )
    index.set_defaults(handler=run_index)

    search = kb_sub.add_parser(
        "search",
        help="show the kb cards nearest in meaning to some text",
        description="Search the indexed knowledge base (indexes first if it is empty).",
    )
    search.add_argument("text", help="what to search for, e.g. 'I can't sleep'")
    search.add_argument("--lang", choices=languages(), default=None, help="card language")
    search.add_argument("-n", type=int, default=5, help="how many cards (default 5)")
    search.add_argument(
        "--class",
        dest="content_classes",
        action="append",
        choices=[c.value for c in ContentClass],
        help="only cards of this content class (repeatable)",
    )
    search.set_defaults(handler=run_search)


def _knowledge_base(settings: Settings) -> Any:
    from bot.knowledge.knowledge_base import KnowledgeBase

    return KnowledgeBase(settings)


def run_index(args: argparse.Namespace, settings: Settings) -> int:
    """Index kb/; print what changed."""
    from bot.knowledge.kb_files import KbFileError

    where = settings.chroma_host or settings.chroma_path
    print(f"indexing {settings.kb_dir} into chromadb at {where}", file=sys.stderr)
    try:
        report = _knowledge_base(settings).index(
            progress=lambda message: print(message, file=sys.stderr)
        )
    except KbFileError as exc:
        print(f"needtotalk kb index: {exc}", file=sys.stderr)
        return 1
    languages = ", ".join(f"{lang}: {n}" for lang, n in sorted(report.by_language.items()))
    print(
        f"indexed {report.total} cards ({languages}): {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed"
    )
    if args.verbose:
        for label, ids in (
            ("added", report.added),
            ("updated", report.updated),
            ("removed", report.removed),
        ):
            for card_id in ids:
                print(f"  {label}: {card_id}")
    return 0


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    """Print the nearest cards with their similarity."""
    if args.n < 1:
        print("needtotalk kb search: -n must be at least 1", file=sys.stderr)
        return 2
    language = args.lang or settings.default_language
    classes = {ContentClass(c) for c in args.content_classes} if args.content_classes else None
    results = _knowledge_base(settings).search_scored(args.text, language, args.n, classes)
    if not results:
        print("no matching cards", file=sys.stderr)
        return 1
    for card, similarity in results:
        title = f" {card.title}:" if card.title else ""
        print(f"{similarity:.3f}  {card.id} [{card.card_type}]{title} {card.text}")
    return 0
