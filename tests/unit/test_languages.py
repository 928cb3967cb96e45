"""The language registry (bot/languages.py, docs/languages.md): packs are found, checked
together, and tell languages apart by script without another language's guess."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import languages
from bot.config import PROJECT_ROOT
from bot.domain import Language
from bot.languages import LanguagePackError, load_registry
from bot.safety.crisis_screen import load_safety_policy
from bot.safety.helplines import load_helplines

POLICY = PROJECT_ROOT / "policies" / "safety.yaml"
HELPLINES = PROJECT_ROOT / "kb" / "helplines.yaml"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """The project's packs and "de", a copy of English (Latin script, no analysers)."""
    directory = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", directory)
    shutil.copytree(directory / "en", directory / "de")
    manifest = yaml.safe_load((directory / "de" / "language.yaml").read_text("utf-8"))
    manifest.update(
        code="de",
        name="German",
        native_name="Deutsch",
        default=False,
        analysers={"emotion": "none", "crisis": "none", "moderation": "none"},
    )
    _write(directory / "de" / "language.yaml", manifest)
    _write(directory / "de" / "helplines.yaml", {"de": _line("TelefonSeelsorge")})
    return directory


@pytest.fixture
def active(prompts: Path) -> Iterator[languages.LanguageRegistry]:
    with languages.using(prompts) as registry:
        yield registry


def _write(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def _line(name: str) -> dict[str, object]:
    return {"intro": "Hilfe:", "lines": [{"name": name, "contact": "0800 111 0 111"}]}


def test_the_project_has_english_as_default_and_japanese() -> None:
    registry = load_registry(PROJECT_ROOT / "prompts")
    assert registry.codes == ("en", "ja") and registry.default == "en"
    assert registry.get("ja").analyser("emotion") == "ja"
    assert registry.resolve("en-GB") == "en" and registry.resolve("de") == "en"


def test_a_language_is_a_pack_not_a_closed_list(active: languages.LanguageRegistry) -> None:
    assert [str(code) for code in Language] == ["en", "de", "ja"]
    assert Language("DE") is Language("de") and Language("de").value == "de"
    with pytest.raises(ValueError, match="not a language the bot speaks"):
        Language("fr")
    assert active.resolve("de-AT") == "de"


def test_script_says_japanese_and_the_session_decides_within_a_script(
    active: languages.LanguageRegistry,
) -> None:
    detect = active.detect
    assert detect("今日はつらい") == "ja"  # kana
    assert detect("自己嫌悪 OK") == "ja"  # more ideographs than Latin letters, no kana
    assert detect("I feel low today") == "en"
    # German shares the default's letters: only a German session reads Latin text as German...
    assert detect("Mir geht es schlecht", session="de") == "de"
    assert detect("Mir geht es schlecht") == "en"
    # ...while a Japanese session's English is still English, and emoji stay the default's.
    assert detect("I feel low today", session="ja") == "en"
    assert detect("😢", session="ja") == "en"
    assert detect("今日はつらい", session="de") == "ja"


def test_packs_are_checked_together(prompts: Path) -> None:
    manifest = prompts / "de" / "language.yaml"
    data = yaml.safe_load(manifest.read_text("utf-8"))
    _write(manifest, {**data, "default": True})
    with pytest.raises(LanguagePackError, match="exactly one language pack"):
        load_registry(prompts)
    _write(manifest, {**data, "code": "fr"})
    with pytest.raises(LanguagePackError, match="is in de/"):
        load_registry(prompts)
    _write(manifest, {**data, "analysers": {**data["analysers"], "emotion": "de"}})
    with pytest.raises(LanguagePackError, match=r"analysers\.emotion"):
        load_registry(prompts)
    _write(manifest, data)
    (prompts / "de" / "scrub.yaml").unlink()
    with pytest.raises(LanguagePackError, match=r"lacks scrub\.yaml"):
        load_registry(prompts)


def test_a_packs_helplines_are_its_own_locales(prompts: Path) -> None:
    registry = load_registry(prompts)
    directory = load_helplines(HELPLINES, registry)
    assert directory.for_locale("de-AT").lines[0].name == "TelefonSeelsorge"
    assert directory.for_locale("en-GB").lines[0].name == "Samaritans"
    _write(prompts / "de" / "helplines.yaml", {"de": _line("x"), "fr": _line("y")})
    with pytest.raises(ValueError, match="'fr' is not 'de'"):
        load_helplines(HELPLINES, load_registry(prompts))


def test_a_packs_crisis_phrases_join_the_policy_in_one_place(prompts: Path) -> None:
    data = yaml.safe_load((prompts / "de" / "language.yaml").read_text("utf-8"))
    _write(prompts / "de" / "language.yaml", {**data, "crisis_phrases": "crisis.yaml"})
    pattern = {"pattern": "ich will sterben", "weight": 1.0}
    _write(prompts / "de" / "crisis.yaml", {"patterns": {"suicide_explicit": [pattern]}})
    # policies/safety.yaml has German phrases (for a language the bot did not speak): refused.
    with pytest.raises(ValueError, match="keep them in one place"):
        load_safety_policy(POLICY, load_registry(prompts))
    raw = yaml.safe_load(POLICY.read_text("utf-8"))
    for table in (raw["idioms"], raw.get("softeners", {})):
        table.pop("de", None)
    for category in raw["categories"].values():
        category["patterns"].pop("de", None)
    _write(prompts.parent / "safety.yaml", raw)
    merged = load_safety_policy(prompts.parent / "safety.yaml", load_registry(prompts))
    patterns = merged.categories["suicide_explicit"].patterns["de"]
    assert [p.pattern for p in patterns] == ["ich will sterben"]
