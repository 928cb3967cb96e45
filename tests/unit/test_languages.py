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
from bot.safety.crisis_screen import CrisisScreen, load_safety_policy
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
    # No crisis phrases of its own yet (policies/safety.yaml has German ones, for a language
    # without a pack): the copied English ones go.
    manifest.pop("crisis_phrases", None)
    (directory / "de" / "crisis.yaml").unlink()
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
    for table in (raw.get("idioms", {}), raw.get("softeners", {})):
        table.pop("de", None)
    for category in raw["categories"].values():
        category["patterns"].pop("de", None)
    _write(prompts.parent / "safety.yaml", raw)
    merged = load_safety_policy(prompts.parent / "safety.yaml", load_registry(prompts))
    patterns = merged.categories["suicide_explicit"].patterns["de"]
    assert [p.pattern for p in patterns] == ["ich will sterben"]
    # ... and the screen built on the merged policy reads them, beside the packs' own.
    screen = CrisisScreen(merged)
    hit = screen.rules_only("Ich will sterben.")
    assert hit.is_crisis and hit.categories == ("suicide_explicit",)
    assert screen.rules_only("I want to kill myself").is_crisis
    assert screen.rules_only("死にたい").is_crisis


def test_english_and_japanese_phrases_live_in_their_packs_only() -> None:
    """One place per language: policies/safety.yaml holds no English or Japanese phrase; the
    packs' crisis.yaml bring every table of them, and the English pack the typo table."""
    raw = yaml.safe_load(POLICY.read_text("utf-8"))
    tables = [raw.get(name, {}) for name in ("idioms", "softeners", "never_say")]
    tables += [raw["recovery"].get("cues", {}), raw["recovery"].get("relapse", {})]
    tables += [c.get(key, {}) for c in raw["categories"].values() for key in ("label", "patterns")]
    assert not [t for t in tables if "en" in t or "ja" in t]
    assert "typos" not in raw

    merged = load_safety_policy()
    for code in ("en", "ja"):
        for name, category in merged.categories.items():
            assert category.patterns[code] and category.label[code], (code, name)
        for table in (merged.idioms, merged.softeners, merged.never_say):
            assert table[code], code
        assert merged.recovery.cues[code] and merged.recovery.relapse[code], code
    # The packs' phrases come first, in the registry's order (the default first): the order of
    # an alternation decides which idiom's span is tried first.
    assert list(merged.categories["self_harm"].patterns)[:3] == ["en", "ja", "de"]
    assert "suicide" in merged.typos.targets and merged.typos.extra["kms"] == "kill myself"
    screen = CrisisScreen(merged)
    assert screen.rules_only("i want to kil myslef").is_crisis  # the English pack's typo table
    assert not screen.rules_only("this homework is killing me").is_crisis  # its idioms
    assert screen.label("self_harm", "ja") == "自分を傷つけること"  # the Japanese pack's label
    assert screen.label("self_harm", "de") == "hurting yourself"  # no German label: the default's


@pytest.mark.parametrize("missing", ["harm_to_others", "classifier_label"])
def test_the_default_pack_must_label_every_category(prompts: Path, missing: str) -> None:
    """Every category, and the learned layer (which has none), has words for counsellors."""
    crisis = prompts / "en" / "crisis.yaml"
    data = yaml.safe_load(crisis.read_text("utf-8"))
    if missing == "classifier_label":
        del data["classifier_label"]
    else:
        del data["labels"][missing]
    _write(crisis, data)
    with pytest.raises(ValueError, match=f"without a label in the default language.*{missing}"):
        load_safety_policy(POLICY, load_registry(prompts))


def test_a_pack_neither_english_nor_japanese_gets_its_declared_analysers_or_none(
    active: languages.LanguageRegistry,
) -> None:
    """The analyser-keyed choices go by what a pack declares, never by its code: "de" (a copy
    of English, no analysers) gets no word overlap in the kb search, the scrubber's name finder
    by script (as on every card), and, declaring the "ja" moderation analyser, that analyser's
    higher toxic hold."""
    from bot.cards.identifying import identifying_names
    from bot.knowledge.word_overlap import content_words
    from bot.moderation.policy import load_moderation_policy

    pack = active.get("de")
    assert pack.analyser("words") is None
    assert content_words("I cannot sleep at night", pack.analyser("words")) == frozenset()
    assert content_words("I cannot sleep at night", active.get("en").analyser("words"))
    assert "Tesco" in identifying_names("I work at Tesco in Leeds", "de")

    # The toxic hold is the moderation analyser's, whichever pack names it.
    thresholds = load_moderation_policy().thresholds
    assert thresholds.toxic_hold_for("en") == thresholds.toxic_hold == 0.5
    assert thresholds.toxic_hold_for("ja") == 0.8


def test_the_crisis_models_go_by_the_packs_declaration_never_to_another_by_default(
    active: languages.LanguageRegistry,
) -> None:
    """ "de" declares no crisis analyser: its text is screened by the rules alone; a language
    without a pack gets the policy's `unspoken_model`; a model the artefact lacks is an error
    (which the screen logs, keeping the rules' answer), never the English model by default."""
    from bot.safety.classifier import CrisisClassifier

    screen = CrisisScreen(load_safety_policy())
    assert screen.model_for("de") is None
    assert screen.model_for("ko") == "en"
    assert screen.model_for("ja") == "ja"
    with pytest.raises(ValueError, match="no crisis model 'de'"):
        CrisisClassifier(models={}, key="").model_name("de")
    assert screen.policy.classifier.threshold_for("ja") == 0.6
    assert screen.policy.classifier.threshold_for("en") == 0.5
