"""Card types: data in policies/card_types.yaml, code behind them registered by name.

Rasa's recipe pattern (docs/architecture.md): a kind of card type is a class registered with
`@register_card_type("name")`; the YAML lists card types, each naming the `kind` to use (or a
dotted path "package.module:ClassName" for code outside this package) and giving `options`,
which the kind's own pydantic `Options` model validates. Adding a card type that an existing
kind can serve is a YAML edit; a new behaviour is one decorated class.

The ids are what cards, kb/ front matter and the Q-table's actions (seed 1 §3.6) refer to.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.config import PROJECT_ROOT
from bot.domain import ContentClass
from bot.policies import load_policy_file, register_policy_schema

DEFAULT_CARD_TYPES_PATH = PROJECT_ROOT / "policies" / "card_types.yaml"
Source = Literal["peer", "kb"]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardTypeKind:
    """The code behind card types of one kind. Subclasses set `source` and `Options`."""

    source: ClassVar[Source]
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, spec: CardTypeSpec, options: BaseModel) -> None:
        self.id = spec.id
        self.description = spec.description
        self.content_classes = frozenset(spec.content_classes)
        self.options = options

    def allows(self, content_class: ContentClass) -> bool:
        return content_class in self.content_classes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


_KINDS: dict[str, type[CardTypeKind]] = {}


def register_card_type(
    name: str,
) -> Callable[[type[CardTypeKind]], type[CardTypeKind]]:
    """Class decorator: make a CardTypeKind available to the YAML as `kind: <name>`."""

    def decorate(cls: type[CardTypeKind]) -> type[CardTypeKind]:
        if name in _KINDS and _KINDS[name] is not cls:
            raise ValueError(f"card type kind {name!r} is registered twice")
        _KINDS[name] = cls
        return cls

    return decorate


def resolve_kind(name: str) -> type[CardTypeKind]:
    """A registered kind, or "package.module:ClassName" imported on demand."""
    if name in _KINDS:
        return _KINDS[name]
    if ":" not in name:
        known = ", ".join(sorted(_KINDS))
        raise ValueError(f"unknown card type kind {name!r} (known: {known}; or module:Class)")
    module_name, _, attr = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import card type kind {name!r}: {exc}") from exc
    if not (isinstance(found, type) and issubclass(found, CardTypeKind)):
        raise ValueError(f"{name!r} is not a CardTypeKind subclass")
    return found


@register_card_type("peer_post")
class PeerPost(CardTypeKind):
    """Words a person wrote: scrubbed and classified before anyone else sees them."""

    source = "peer"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_chars: int = Field(1000, ge=20, le=4000)
        min_chars: int = Field(3, ge=1, le=100)

    def text_problem(self, text: str) -> str | None:
        """Why this text cannot be a card of this type ("empty", "too_long", "too_short"),
        or None."""
        options = self.options
        if not text.strip():
            return "empty"
        if len(text) > options.max_chars:  # type: ignore[attr-defined]
            return "too_long"
        if len(text.strip()) < options.min_chars:  # type: ignore[attr-defined]
            return "too_short"
        return None


@register_card_type("peer_question")
class PeerQuestion(PeerPost):
    """A peer's question for a reader to answer kindly. The asker may be struggling, so only
    readers the matching policy lets see `readers_must_see` cards (vulnerable, seed 1 §3.7
    "Protective measure") are offered it, and the learner never leans towards it for others."""

    class Options(PeerPost.Options):
        readers_must_see: ContentClass = ContentClass.VULNERABLE

    def readable_by(self, may_see: Callable[[ContentClass], bool]) -> bool:
        """`may_see`: the matching policy's answer for this reader's class."""
        return may_see(self.options.readers_must_see)  # type: ignore[attr-defined]


@register_card_type("kb_card")
class KbCardType(CardTypeKind):
    """A card we wrote, kept as Markdown under kb/<folder>/<language>/."""

    source = "kb"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        folder: Literal["cards", "coping", "exercises"]

    @property
    def folder(self) -> str:
        return str(self.options.folder)  # type: ignore[attr-defined]


class CardTypeSpec(BaseModel):
    """One entry of policies/card_types.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    source: Source
    content_classes: tuple[ContentClass, ...] = Field(min_length=1)
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)

    def build(self) -> CardTypeKind:
        cls = resolve_kind(self.kind)
        if cls.source != self.source:
            raise ValueError(
                f"kind {self.kind!r} serves source {cls.source!r}, not {self.source!r}"
            )
        try:
            options = cls.Options.model_validate(self.options)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ValueError(f"options of {self.id!r}: {details}") from exc
        return cls(self, options)


class CardTypesFile(BaseModel):
    """policies/card_types.yaml: ids unique, each kind known and its options valid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    card_types: tuple[CardTypeSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _kinds_and_options_valid(self) -> CardTypesFile:
        ids = [spec.id for spec in self.card_types]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"card type ids used twice: {duplicates}")
        for spec in self.card_types:
            spec.build()
        return self


register_policy_schema("policies/card_types.yaml", CardTypesFile, required=True)


@dataclass(frozen=True)
class CardTypeCatalog(Mapping[str, CardTypeKind]):
    """Card types by id, as loaded from the YAML."""

    by_id: Mapping[str, CardTypeKind]

    def __getitem__(self, card_type_id: str) -> CardTypeKind:
        return self.by_id[card_type_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_id)

    def __len__(self) -> int:
        return len(self.by_id)

    def from_source(self, source: Source) -> list[CardTypeKind]:
        return [t for t in self.by_id.values() if t.source == source]


@cache
def _load_cached(path: Path) -> CardTypeCatalog:
    parsed = load_policy_file(path, CardTypesFile)
    return CardTypeCatalog({spec.id: spec.build() for spec in parsed.card_types})


def load_card_types(path: Path | str | None = None) -> CardTypeCatalog:
    """The card types at `path` (default: the project's policies/card_types.yaml)."""
    return _load_cached(Path(path) if path is not None else DEFAULT_CARD_TYPES_PATH)
