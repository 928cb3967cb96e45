"""Helplines by locale, and the crisis message built from them.

Each language pack lists its locales' lines in prompts/<code>/helplines.yaml (its manifest's
`helplines`, docs/languages.md): "en", "en-gb", ... in the English pack, "ja" in the Japanese.
kb/helplines.yaml holds what belongs to no language: `default` (a locale no pack covers) and
`international` (a crisis in a language the bot does not speak)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from bot.config import PROJECT_ROOT
from bot.languages import LanguageRegistry, registry
from bot.yaml_files import read_yaml

DEFAULT_HELPLINES_PATH = PROJECT_ROOT / "kb" / "helplines.yaml"


class Helpline(BaseModel):
    name: str
    contact: str


class LocaleHelplines(BaseModel):
    intro: str
    lines: list[Helpline]


class HelplineDirectory(BaseModel):
    locales: dict[str, LocaleHelplines]

    def for_locale(self, locale: str | None) -> LocaleHelplines:
        """Exact locale ("en-gb"), then its language ("en"), then "default"."""
        code = (locale or "").lower().replace("_", "-")
        for candidate in (code, code.split("-")[0], "default"):
            if candidate in self.locales:
                return self.locales[candidate]
        raise KeyError("helplines.yaml has no 'default' entry")


INTERNATIONAL = "international"


def crisis_locale(person_locale: str | None, *, spoken: bool) -> str:
    """Which helplines a crisis answer lists: the person's locale when the text is in a language
    the bot speaks; the international entry (findahelpline.com, the local emergency number) when
    it is not. "Ich will mich umbringen." from an en-GB account is not known to be in the UK.
    """
    return (person_locale or "") if spoken else INTERNATIONAL


def _pack_locales(languages: LanguageRegistry) -> dict[str, LocaleHelplines]:
    """Every pack's helplines; a pack lists only its own language's locales ("en", "en-gb")."""
    found: dict[str, LocaleHelplines] = {}
    for code, pack in languages.packs.items():
        path = pack.path(pack.manifest.helplines)
        raw = read_yaml(path)
        if not isinstance(raw, dict) or not raw:
            raise ValueError(f"{path}: expected a mapping of locales to helplines")
        for locale, entry in raw.items():
            name = str(locale).lower()
            if name != code and not name.startswith(code + "-"):
                raise ValueError(f"{path}: locale {name!r} is not {code!r} or {code}-<region>")
            found[name] = LocaleHelplines.model_validate(entry)
        if code not in found:
            raise ValueError(f"{path}: no entry for the language itself ({code!r})")
    return found


def load_helplines(
    path: Path | None = None, languages: LanguageRegistry | None = None
) -> HelplineDirectory:
    """kb/helplines.yaml (or `path`) with every language pack's helplines (the active
    registry's unless `languages` is given)."""
    raw = read_yaml(path or DEFAULT_HELPLINES_PATH)
    if not isinstance(raw, dict):
        raise ValueError(f"{path or DEFAULT_HELPLINES_PATH}: expected a mapping of locales")
    packs = _pack_locales(languages or registry())
    shared = {str(k).lower() for k in raw}
    clash = sorted(shared & set(packs))
    if clash:
        raise ValueError(f"locales in both kb/helplines.yaml and a language pack: {clash}")
    directory = HelplineDirectory(locales={**raw, **packs})
    directory.for_locale(None)  # a directory without a default is a configuration error
    if INTERNATIONAL not in directory.locales:
        raise KeyError("helplines.yaml has no 'international' entry")
    return directory


def helpline_text(directory: HelplineDirectory, locale: str | None, *, intro: bool = True) -> str:
    """The lines for a locale; `intro=False` for places (the welcome) that frame them already."""
    entry = directory.for_locale(locale)
    lines = "\n".join(f"• {line.name}: {line.contact}" for line in entry.lines)
    return f"{entry.intro}\n{lines}" if intro else lines
