"""kb/ cards and coping tips: Markdown files with YAML front matter, parsed and checked.

Layout: kb/<folder>/<language>/<id>.md, where <folder> is the `folder` option of a kb card
type in policies/card_types.yaml ("cards" for kb_inspirational / kb_entertaining, "coping" for
coping_tip). Each file:

    ---
    id: en-coping-003
    language: en
    content_class: inspirational
    card_type: coping_tip
    title: 5-4-3-2-1          # optional
    tags: [grounding]
    keywords: [anxious, panic, calm]   # optional: words a reader might search with
    ---
    Look around and name five things you can see, ...

These are written for the project in our own words: short, warm, peer-voiced, with no clinical
claims and no diagnoses. They fill the feed while there are few peer cards (cold start) and
answer "what can I do right now" with a coping tip. `kb_problems` checks every file against
its schema, the card types, the folder it sits in, and the scrubber (our own cards must not
carry an address or a number either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.cards.card_types import CardTypeCatalog, KbCardType, load_card_types
from bot.cards.scrub import scrub
from bot.config import Settings
from bot.domain import ContentClass, Language
from bot.policies import PolicyProblem, register_policy_check
from bot.yaml_files import load_yaml

MAX_BODY_CHARS = 600
_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n(?P<body>.*)\Z", re.DOTALL)


class KbFrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z]{2}-[a-z0-9_-]+$")
    language: Language
    content_class: ContentClass
    card_type: str
    title: str | None = Field(None, min_length=1, max_length=80)
    tags: tuple[str, ...] = Field(min_length=1)
    # Words a reader might use for what the card is about, when the card does not use them.
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KbCard:
    """One card from kb/. `text` is the Markdown body, ready to send."""

    id: str
    language: Language
    content_class: ContentClass
    card_type: str
    tags: tuple[str, ...]
    text: str
    title: str | None = None
    keywords: tuple[str, ...] = ()


class KbFileError(ValueError):
    """A kb/ file whose front matter or body is malformed (the message names the file)."""


def parse_kb_file(path: Path) -> KbCard:
    raw = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    match = _FRONT_MATTER.match(raw)
    if match is None:
        raise KbFileError(f"{path}: must start with '---', YAML front matter, then '---'")
    try:
        data = load_yaml(match["meta"])
        meta = KbFrontMatter.model_validate(data)
    except yaml.YAMLError as exc:
        raise KbFileError(f"{path}: front matter is not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise KbFileError(f"{path}: {where}: {first['msg']}") from exc
    body = match["body"].strip()
    if not body:
        raise KbFileError(f"{path}: the card has no text")
    if len(body) > MAX_BODY_CHARS:
        raise KbFileError(f"{path}: the card is {len(body)} characters (max {MAX_BODY_CHARS})")
    return KbCard(
        id=meta.id,
        language=meta.language,
        content_class=meta.content_class,
        card_type=meta.card_type,
        tags=meta.tags,
        text=body,
        title=meta.title,
        keywords=meta.keywords,
    )


def kb_folders(card_types: CardTypeCatalog) -> list[str]:
    return sorted({t.folder for t in card_types.values() if isinstance(t, KbCardType)})


def _paths_in(kb_dir: Path, folders: tuple[str, ...]) -> list[Path]:
    return sorted(p for folder in folders for p in (kb_dir / folder).glob("*/*.md"))


def kb_paths(kb_dir: Path, card_types: CardTypeCatalog) -> list[Path]:
    return _paths_in(kb_dir, tuple(kb_folders(card_types)))


@cache
def _cards_cached(files: tuple[tuple[Path, int, int], ...]) -> tuple[KbCard, ...]:
    return tuple(parse_kb_file(path) for path, _, _ in files)


def load_kb_cards(
    kb_dir: Path, language: Language | str | None = None, card_types: CardTypeCatalog | None = None
) -> list[KbCard]:
    """Every kb card (of one language, if given), sorted by path."""
    folders = tuple(kb_folders(card_types or load_card_types()))
    # Keyed by each file's modification time and size: an edited kb/ is read afresh, an
    # unchanged one is not parsed again.
    files = tuple(
        (path, stat.st_mtime_ns, stat.st_size)
        for path in _paths_in(kb_dir.resolve(), folders)
        for stat in (path.stat(),)
    )
    cards = _cards_cached(files)
    return [c for c in cards if language is None or c.language == language]


def _problems_of(path: Path, card: KbCard, card_types: CardTypeCatalog, kb_dir: Path) -> list[str]:
    problems: list[str] = []
    folder, language_dir = path.relative_to(kb_dir).parts[:2]
    card_type = card_types.get(card.card_type)
    if card_type is None:
        problems.append(f"card_type {card.card_type!r} is not in policies/card_types.yaml")
    elif not isinstance(card_type, KbCardType):
        problems.append(f"card_type {card.card_type!r} is not a kb card type")
    else:
        if not card_type.allows(card.content_class):
            problems.append(
                f"content_class {card.content_class.value!r} is not allowed for {card.card_type!r}"
            )
        if card_type.folder != folder:
            problems.append(f"{card.card_type!r} cards belong in kb/{card_type.folder}/")
    if language_dir != card.language.value:
        problems.append(f"language {card.language.value!r} but the file is in {language_dir}/")
    if path.stem != card.id:
        problems.append(f"id {card.id!r} differs from the file name {path.name!r}")
    if scrub(card.text, card.language.value).removed:
        problems.append("the text has something the scrubber would remove (address, number, …)")
    return problems


def kb_problems(settings: Settings) -> list[PolicyProblem]:
    """Every problem with every kb/ card file (front matter, card type, folder, ids, text)."""
    kb_dir = settings.kb_dir
    card_types_path = settings.policies_dir / "card_types.yaml"
    try:
        card_types = load_card_types(card_types_path)
    except ValueError:  # the card_types.yaml check reports it; kb/ is checked once it is fixed
        return []
    problems: list[PolicyProblem] = []
    seen: dict[str, Path] = {}
    for path in kb_paths(kb_dir, card_types):
        relative = f"kb/{path.relative_to(kb_dir).as_posix()}"
        try:
            card = parse_kb_file(path)
        except (KbFileError, OSError, UnicodeDecodeError) as exc:
            problems.append(PolicyProblem(relative, "", str(exc).split(": ", 1)[-1]))
            continue
        problems.extend(
            PolicyProblem(relative, "", message)
            for message in _problems_of(path, card, card_types, kb_dir)
        )
        if card.id in seen:
            problems.append(
                PolicyProblem(relative, "id", f"{card.id!r} is also used by {seen[card.id].name}")
            )
        seen[card.id] = path
    return problems


register_policy_check("kb files", kb_problems)
