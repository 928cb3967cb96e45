"""What the bot says, per language, from prompts/<lang>/<catalog>.yaml.

The languages are the packs of the language registry (bot/languages.py, docs/languages.md).
Every language must define the same keys as the default language (checked on load), so adding a
language is adding a pack, and a missing translation fails at start-up instead of in front of a
person.
"""

from __future__ import annotations

from pathlib import Path

from bot.languages import LanguageRegistry, registry, registry_for
from bot.yaml_files import read_yaml


def ui_language(locale: str | None) -> str:
    """The catalog language for a Telegram language_code such as "ja" or "en-GB": its pack, or
    the default language when it has none."""
    return registry().resolve(locale)


CATALOGS = ("conversation", "cards", "counsellor", "checkin", "menu")


class Texts:
    def __init__(
        self,
        prompts_dir: Path,
        catalogs: tuple[str, ...] = CATALOGS,
        languages: LanguageRegistry | None = None,
    ) -> None:
        """`languages`: the registry whose packs to load; by default the active one when it
        reads `prompts_dir`, else the packs found there."""
        languages = languages or registry_for(prompts_dir)
        self.catalogs = catalogs
        self.languages: tuple[str, ...] = languages.codes
        self.default = languages.default
        self._by_language: dict[str, dict[str, str]] = {lang: {} for lang in self.languages}
        for language in self.languages:
            for catalog in catalogs:
                path = prompts_dir / language / f"{catalog}.yaml"
                raw = read_yaml(path)
                if not isinstance(raw, dict):
                    raise ValueError(f"{path}: expected a mapping of message keys to texts")
                clash = set(raw) & set(self._by_language[language])
                if clash:
                    raise ValueError(f"{path}: keys defined in another catalog: {sorted(clash)}")
                self._by_language[language].update({str(k): str(v) for k, v in raw.items()})
        reference = set(self._by_language[self.default])
        for language, messages in self._by_language.items():
            missing = reference - set(messages)
            if missing:
                raise ValueError(f"prompts/{language}/ lacks message keys: {sorted(missing)}")

    def keys(self, prefix: str = "") -> list[str]:
        """The message keys starting with `prefix`, in the order the default language's files
        give them (every language has the same keys)."""
        return [key for key in self._by_language[self.default] if key.startswith(prefix)]

    def get(self, language: str, key: str, **values: object) -> str:
        code = (language or "").lower().split("-")[0].split("_")[0]
        messages = self._by_language.get(code, self._by_language[self.default])
        template = messages[key]
        return template.format(**values) if values else template
