"""The languages the bot speaks: one pack per language, a directory prompts/<code>/ with a
manifest, prompts/<code>/language.yaml (docs/languages.md).

A pack holds everything about its language: the message catalogs, the question bank and the
assessment's phrases, the LLM prompts, its helplines, the scrubber's masks, optionally its own
crisis phrases, and the manifest that names the language, says how its script is told apart
from the others and which analysers read its free text (emotion, crisis classifier,
moderation), or `none`. Nothing in the code lists languages: the registry built here from the
manifests is the list, and `bot.domain.Language` is a code checked against it.

The analysers are the readers the code has: "en" (MiniLM, GoEmotions, VADER, English phrase
lists, English words) and "ja" (character n-grams, ML-Ask, the Tohoku polarity words, Japanese
phrase lists, UniDic words). A
pack names the one built for its language, or `none`: then its free text is not read for
emotion (a flat reading, and `classify` says so), a card in it is held by moderation's
`unreadable` rule, and the crisis screen's rules alone (every language's phrases run on every
text) screen it. Nothing falls back to another language's analyser silently.

The registry is process-wide because a `Language` value is checked wherever one is made (a
stored session, a CLI flag, a kb card). It is loaded from the project's prompts/ on first use;
`activate(prompts_dir)` replaces it (the services do that with `Settings.prompts_dir`, tests
with a throwaway pack).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.patterns import compiled
from bot.yaml_files import read_yaml

MANIFEST = "language.yaml"
# The project's (bot.config's PROJECT_ROOT / "prompts"; not imported: the settings check their
# default language against the packs).
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
# The analysers the code has for free text, by the language each was built for.
ANALYSERS: tuple[str, ...] = ("en", "ja")
# The files every pack has (beyond its manifest): catalogs, assessment, helplines, masks.
PACK_FILES: tuple[str, ...] = (
    "conversation.yaml",
    "cards.yaml",
    "counsellor.yaml",
    "checkin.yaml",
    "menu.yaml",
    "questions.yaml",
    "assessment.yaml",
    "assessment_llm.yaml",
)
_CODE = re.compile(r"^[a-z]{2,3}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScriptHints(_Strict):
    """How text in this language is recognised by its characters alone (bot/emotion/language.py).

    `marks`: characters only this language uses (Japanese kana); one is enough. `letters`: the
    characters of its script (a regular-expression character class without the brackets), which
    win when they outnumber the other scripts' letters. A language written in the default
    language's script (German in Latin letters) gives the same `letters` as the default: the
    script cannot tell it apart, so it is read in that language only when the person's session
    is in it."""

    marks: str = ""
    letters: str = ""

    @field_validator("marks", "letters")
    @classmethod
    def _class_compiles(cls, value: str) -> str:
        if value:
            compiled(f"[{value}]")
        return value


Analyser = Literal["en", "ja", "none"]


class Analysers(_Strict):
    """Which reader the code runs on this language's free text; "none": no reader (the
    explicit fallback each part documents, never another language's reader)."""

    emotion: Analyser
    crisis: Analyser
    moderation: Analyser
    # How its text is cut into words: the word overlap of the kb search
    # (bot/knowledge/word_overlap.py: "en" English words and stems, "ja" UniDic) and the
    # place and organisation names the scrubber warns of (bot/cards/identifying.py). "none": no
    # word overlap (the kb ranks that language's cards by the sentence embedding alone); names
    # are still looked for by script, on every card, as the scrubber's other finders are.
    words: Analyser = "none"


class LanguageManifest(_Strict):
    """prompts/<code>/language.yaml."""

    code: str
    name: str = Field(min_length=1)  # in English, for people running the bot
    native_name: str = Field(min_length=1)
    # The language for a person whose app language has no pack; exactly one pack says so.
    default: bool = False
    # Whether words are separated by spaces: phrase lists then match whole words; if not
    # (Japanese, Chinese), phrases match anywhere.
    spaces_between_words: bool = True
    script: ScriptHints = Field(default_factory=ScriptHints)
    analysers: Analysers
    helplines: str = "helplines.yaml"
    scrub: str = "scrub.yaml"
    # The language's crisis phrases (labels, patterns, idioms, softeners, never-say list,
    # recovery cues, typos), merged into policies/safety.yaml's under the pack's code
    # (bot/safety/crisis_screen.py `with_pack_phrases`); relative to the pack.
    crisis_phrases: str | None = None

    @field_validator("code")
    @classmethod
    def _code_shape(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError("a language code is two or three lower-case letters (ISO 639)")
        return value


@dataclass(frozen=True, slots=True)
class LanguagePack:
    manifest: LanguageManifest
    directory: Path

    @property
    def code(self) -> str:
        return self.manifest.code

    def analyser(self, kind: Literal["emotion", "crisis", "moderation", "words"]) -> str | None:
        """The analyser for `kind`, or None when the pack declares `none`."""
        name: str = getattr(self.manifest.analysers, kind)
        return None if name == "none" else name

    def path(self, relative: str) -> Path:
        return self.directory / relative


class LanguagePackError(ValueError):
    """A pack that cannot be used (path and reason)."""


class LanguageRegistry:
    """The packs found in one prompts directory, checked together."""

    def __init__(self, packs: list[LanguagePack], prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self.packs: dict[str, LanguagePack] = {p.code: p for p in sorted(packs, key=_order)}
        defaults = [p.code for p in packs if p.manifest.default]
        if len(defaults) != 1:
            raise LanguagePackError(
                f"{prompts_dir}: exactly one language pack must say `default: true` "
                f"(found {defaults or 'none'})"
            )
        self.default = defaults[0]
        self._marks = [
            (p.code, compiled(f"[{p.manifest.script.marks}]"))
            for p in self.packs.values()
            if p.manifest.script.marks
        ]
        default_letters = self.packs[self.default].manifest.script.letters
        # One counter per script; packs written like the default share the default's.
        self._scripts: dict[str, tuple[re.Pattern[str], list[str]]] = {}
        for pack in self.packs.values():
            letters = pack.manifest.script.letters
            if letters:
                entry = self._scripts.setdefault(letters, (compiled(f"[{letters}]"), []))
                entry[1].append(pack.code)
        self._default_letters = default_letters

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code, the default first, then alphabetically."""
        return tuple(self.packs)

    def get(self, code: str) -> LanguagePack:
        try:
            return self.packs[code]
        except KeyError:
            raise KeyError(f"no language pack {code!r} (packs: {', '.join(self.codes)})") from None

    def __contains__(self, code: object) -> bool:
        return code in self.packs

    def resolve(self, locale: str | None) -> str:
        """The pack for a locale such as "ja" or "en-GB" (a Telegram language_code), or the
        default language when there is none for it."""
        code = (locale or "").lower().split("-")[0].split("_")[0]
        return code if code in self.packs else self.default

    def shares_default_script(self, code: str) -> bool:
        return self.packs[code].manifest.script.letters == self._default_letters

    def any_script(self, text: str) -> str:
        """The first pack other than the default whose own characters (marks, or letters not
        the default's) occur in the text at all, else the default: for wording a mask, where
        one Japanese character makes a mixed card's masks Japanese."""
        for code, pack in self.packs.items():
            hints = pack.manifest.script
            if code == self.default:
                continue
            if hints.marks and compiled(f"[{hints.marks}]").search(text):
                return code
            own_letters = hints.letters and hints.letters != self._default_letters
            if own_letters and compiled(f"[{hints.letters}]").search(text):
                return code
        return self.default

    def detect(self, text: str, session: str | None = None) -> str:
        """The language of a text from its characters: a pack's marks, else the script with
        the most letters (on a tie, another script before the default's). When that is the
        default's script, or there are no letters, the session's language if it is written in
        the default's script too, else the default."""
        for code, marks in self._marks:
            if marks.search(text):
                return code
        counts = {
            letters: len(pattern.findall(text)) for letters, (pattern, _) in self._scripts.items()
        }
        best = max(counts.values(), default=0)
        if best > 0:
            for letters, count in counts.items():
                if count == best and letters != self._default_letters:
                    codes = self._scripts[letters][1]
                    return session if session in codes else codes[0]
        if session in self.packs and self.shares_default_script(session):
            return session
        return self.default


def _order(pack: LanguagePack) -> tuple[bool, str]:
    return (not pack.manifest.default, pack.code)


def load_pack(directory: Path) -> LanguagePack:
    """One pack: its manifest valid, its code the directory's name, its files present."""
    path = directory / MANIFEST
    try:
        raw = read_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise LanguagePackError(f"{path}: cannot read: {exc}") from exc
    try:
        manifest = LanguageManifest.model_validate(raw)
    except ValidationError as exc:
        first = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise LanguagePackError(f"{path}: {first}") from exc
    if manifest.code != directory.name:
        raise LanguagePackError(
            f"{path}: code {manifest.code!r} but the pack is in {directory.name}/"
        )
    wanted = [*PACK_FILES, manifest.helplines, manifest.scrub]
    if manifest.crisis_phrases:
        wanted.append(manifest.crisis_phrases)
    missing = [name for name in wanted if not (directory / name).is_file()]
    if missing:
        raise LanguagePackError(f"{directory}: the pack lacks {', '.join(missing)}")
    return LanguagePack(manifest, directory)


def load_registry(prompts_dir: Path) -> LanguageRegistry:
    """Every pack under `prompts_dir` (each subdirectory with a language.yaml)."""
    if not prompts_dir.is_dir():
        raise LanguagePackError(f"{prompts_dir}: no prompts directory")
    packs = [
        load_pack(child)
        for child in sorted(prompts_dir.iterdir())
        if child.is_dir() and (child / MANIFEST).is_file()
    ]
    return LanguageRegistry(packs, prompts_dir)


_lock = threading.Lock()
_active: LanguageRegistry | None = None


def registry() -> LanguageRegistry:
    """The process's registry (the project's prompts/ unless `activate` chose another)."""
    global _active
    with _lock:
        if _active is None:
            _active = load_registry(DEFAULT_PROMPTS_DIR)
        return _active


def activate(prompts_dir: Path) -> LanguageRegistry:
    """Make the packs under `prompts_dir` the process's languages (loaded and checked first, so
    a broken pack leaves the previous registry in place)."""
    global _active
    loaded = load_registry(prompts_dir)
    with _lock:
        _active = loaded
    return loaded


def restore(previous: LanguageRegistry | None) -> None:
    """Put back a registry `current()` returned (for tests that activate a throwaway pack)."""
    global _active
    with _lock:
        _active = previous


def current() -> LanguageRegistry | None:
    """The active registry, or None before anything loaded one."""
    return _active


@contextmanager
def using(prompts_dir: Path) -> Iterator[LanguageRegistry]:
    """The packs under `prompts_dir` as the process's languages inside the block (the policies
    check validates a prompts directory other than the running one's), the previous after."""
    previous = current()
    try:
        yield activate(prompts_dir)
    finally:
        restore(previous)


def registry_for(prompts_dir: Path) -> LanguageRegistry:
    """The active registry when it reads `prompts_dir`, else the packs found there (a tool or
    test pointing at another prompts directory gets that directory's languages)."""
    active = registry()
    if active.prompts_dir.resolve() == prompts_dir.resolve():
        return active
    return load_registry(prompts_dir)


def languages() -> tuple[str, ...]:
    return registry().codes


def default_language() -> str:
    return registry().default
