"""A language is one pack (docs/languages.md): a throwaway pack, "xx", made in a temporary
prompts directory from a copy of the English one with its texts marked, runs a conversation:
/start, consent, the first questions, free text and a crisis, all in that pack's words and with
its helplines. Its manifest declares no analysers, so its free text is read by none (a flat
reading that says so), never by the English ones its Latin letters would suggest."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from bot import languages
from bot.config import PROJECT_ROOT, Settings
from bot.domain import Language
from bot.policies import check_all
from bot.safety.crisis_screen import default_screen, full_screen
from bot.services import Services, build_services
from bot.store.tables import Flag
from tests.conftest import make_settings
from tests.support.conversation_driver import Person, button_data, joined

MARK = "[xx] "
CATALOGS = ("conversation", "cards", "counsellor", "checkin", "menu")


def _write(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def make_pack(prompts: Path) -> None:
    """prompts/xx/: the English pack with every message and question marked, its own helplines,
    masks and one crisis phrase of its own, and no analyser for its free text."""
    shutil.copytree(PROJECT_ROOT / "prompts" / "en", prompts / "xx")
    pack = prompts / "xx"
    manifest = yaml.safe_load((pack / "language.yaml").read_text("utf-8"))
    manifest.update(
        code="xx",
        name="Testish",
        native_name="Testish",
        default=False,
        analysers={"emotion": "none", "crisis": "none", "moderation": "none"},
        crisis_phrases="crisis.yaml",
    )
    _write(pack / "language.yaml", manifest)
    for catalog in CATALOGS:
        texts = yaml.safe_load((pack / f"{catalog}.yaml").read_text("utf-8"))
        _write(pack / f"{catalog}.yaml", {k: MARK + str(v) for k, v in texts.items()})
    bank = (pack / "questions.yaml").read_text("utf-8")
    bank = bank.replace("language: en", "language: xx").replace('text: "', f'text: "{MARK}')
    (pack / "questions.yaml").write_text(bank, "utf-8")
    phrases = yaml.safe_load((pack / "assessment.yaml").read_text("utf-8"))
    phrases["intro"] = MARK + phrases["intro"]
    _write(pack / "assessment.yaml", phrases)
    _write(
        pack / "helplines.yaml",
        {
            "xx": {
                "intro": "Testish lines:",
                "lines": [{"name": "Testish Lifeline", "contact": "0800 000 111"}],
            }
        },
    )
    masks = yaml.safe_load((pack / "scrub.yaml").read_text("utf-8"))
    masks["masks"] = {kind: f"[xx {kind}]" for kind in masks["masks"]}
    _write(pack / "scrub.yaml", masks)
    _write(
        pack / "crisis.yaml",
        {
            "labels": {"suicide_explicit": "xx: suicidal thoughts"},
            "patterns": {
                "suicide_explicit": [{"pattern": "blorp (me|myself) forever", "weight": 1.0}]
            },
        },
    )


@pytest.fixture
def prompts(tmp_path: Path) -> Iterator[Path]:
    """A prompts directory with en, ja and the throwaway xx; the project's registry after."""
    directory = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", directory)
    make_pack(directory)
    before = languages.current()
    yield directory
    languages.restore(before)
    # Screens built while xx was a language (the tools' cached ones) must not outlive it.
    default_screen.cache_clear()
    full_screen.cache_clear()


@pytest.fixture
def xx_services(prompts: Path, tmp_path: Path) -> Iterator[Services]:
    settings = make_settings(f"sqlite:///{tmp_path / 'xx.db'}", tmp_path, prompts_dir=prompts)
    built = build_services(settings, channel="telegram")
    yield built
    built.close()


def test_the_pack_passes_the_policies_check_and_a_broken_one_is_reported(
    prompts: Path, tmp_path: Path
) -> None:
    project = Settings(
        policies_dir=PROJECT_ROOT / "policies", prompts_dir=prompts, kb_dir=PROJECT_ROOT / "kb"
    )
    assert check_all(project) == []
    crisis = prompts / "xx" / "crisis.yaml"
    crisis.write_text("patterns:\n  no_such_category: [{pattern: x, weight: 1.0}]\n", "utf-8")
    (prompts / "xx" / "scrub.yaml").write_text("masks: {}\n", "utf-8")
    problems = [str(p) for p in check_all(project)]
    assert any("no_such_category" in p for p in problems), problems
    assert any("prompts/xx/scrub.yaml" in p for p in problems), problems


def test_a_conversation_in_the_throwaway_pack(xx_services: Services) -> None:
    assert languages.registry().codes == ("en", "ja", "xx")
    person = Person(xx_services, "5550101", language="xx")

    welcome = joined(person.command("/start"))
    assert welcome.startswith(MARK) and "Testish Lifeline" in welcome  # its texts, its lines
    first = person.presses("consent:yes")
    assert MARK in joined(first)
    answers = [d for d in button_data(first) if d.startswith("a:") and d != "a:revisit"]
    second = person.presses(answers[0])
    assert any(m.text.startswith(MARK) for m in second)  # the next question, from its bank

    # Free text in xx is read by no analyser: the flat reading, not the English engine's.
    from bot.emotion.engine import get_engine

    analysis = get_engine().analyse("I feel so sad and alone", Language("xx"))
    assert analysis.analyser is None and analysis.affect == 0.0
    assert get_engine().analyse("I feel so sad and alone").analyser == "en"
    person.says("I feel so sad and alone")

    crisis = joined(person.says("I want to kill myself"))
    assert MARK in crisis and "Testish Lifeline" in crisis and "116 123" not in crisis
    own_phrase = joined(person.says("I will blorp myself forever"))  # the pack's own phrase
    assert "Testish Lifeline" in own_phrase
    with Session(xx_services.engine) as session:
        kinds = [flag.kind for flag in session.exec(select(Flag)).all()]
    assert kinds == ["crisis", "crisis"]


def test_the_packs_other_parts_fall_back_explicitly(xx_services: Services) -> None:
    from bot.cards.scrub import scrub
    from bot.emotion.commands import classify_lines
    from bot.moderation.pipeline import Moderator

    assert scrub("mail me at a@b.com", "xx").text == "mail me at [xx email]"
    row = classify_lines(["What a lovely walk in the park today"], Language("xx"))[0]
    assert row["language"] == "xx" and row["emotion"] is None
    assert row["analysers"]["emotion"] == "none" and row["analysers"]["moderation"] == "none"
    assert any("no emotion analyser for xx" in f for f in row["fallback"])
    decision = Moderator(screen=xx_services.screen).moderate("A lovely walk in the park", "xx")
    assert decision.decision.value == "hold"
    assert any("no moderation analyser for xx" in r for r in decision.reasons)
    # English text in an English session is still read as English.
    english = classify_lines(["What a lovely walk in the park today"], Language("en"))[0]
    assert english["analysers"]["emotion"] == "en" and english["fallback"] == []
