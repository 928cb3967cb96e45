"""What the bot says, per language, from prompts/<lang>/<catalog>.yaml.

Every language must define the same keys as English (checked on load), so adding a language is
adding files, and a missing translation fails at start-up instead of in front of a person.
"""

from __future__ import annotations

from pathlib import Path

from bot.yaml_files import read_yaml

SUPPORTED_LANGUAGES = ("en", "ja")


def ui_language(locale: str | None) -> str:
    """The catalog language for a Telegram language_code such as "ja" or "en-GB"."""
    code = (locale or "").lower().split("-")[0].split("_")[0]
    return code if code in SUPPORTED_LANGUAGES else "en"


CATALOGS = ("conversation", "cards", "counsellor", "checkin", "menu")


class Texts:
    def __init__(self, prompts_dir: Path, catalogs: tuple[str, ...] = CATALOGS) -> None:
        self._by_language: dict[str, dict[str, str]] = {lang: {} for lang in SUPPORTED_LANGUAGES}
        for language in SUPPORTED_LANGUAGES:
            for catalog in catalogs:
                path = prompts_dir / language / f"{catalog}.yaml"
                raw = read_yaml(path)
                if not isinstance(raw, dict):
                    raise ValueError(f"{path}: expected a mapping of message keys to texts")
                clash = set(raw) & set(self._by_language[language])
                if clash:
                    raise ValueError(f"{path}: keys defined in another catalog: {sorted(clash)}")
                self._by_language[language].update({str(k): str(v) for k, v in raw.items()})
        english = set(self._by_language["en"])
        for language, messages in self._by_language.items():
            missing = english - set(messages)
            if missing:
                raise ValueError(f"prompts/{language}/ lacks message keys: {sorted(missing)}")

    def keys(self, prefix: str = "") -> list[str]:
        """The message keys starting with `prefix`, in the order the English files give them
        (every language has the same keys)."""
        return [key for key in self._by_language["en"] if key.startswith(prefix)]

    def get(self, language: str, key: str, **values: object) -> str:
        messages = self._by_language.get(ui_language(language), self._by_language["en"])
        template = messages[key]
        return template.format(**values) if values else template
