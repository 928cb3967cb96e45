"""Helplines by locale (kb/helplines.yaml), and the crisis message built from them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from bot.config import PROJECT_ROOT
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


def load_helplines(path: Path | None = None) -> HelplineDirectory:
    raw = read_yaml(path or DEFAULT_HELPLINES_PATH)
    directory = HelplineDirectory(locales=raw)
    directory.for_locale(None)  # a directory without a default is a configuration error
    return directory


def helpline_text(directory: HelplineDirectory, locale: str | None, *, intro: bool = True) -> str:
    """The lines for a locale; `intro=False` for places (the welcome) that frame them already."""
    entry = directory.for_locale(locale)
    lines = "\n".join(f"• {line.name}: {line.contact}" for line in entry.lines)
    return f"{entry.intro}\n{lines}" if intro else lines
