"""Flows are merged into one conversation. A flow brings everything about its feature (states,
commands, button prefixes, menu buttons, guards, resumers, texts) and works with nothing changed
in the core; two flows claiming the same thing, or a flow claiming a state outside its namespace,
fail loudly at start-up instead of one silently replacing the other."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session

from bot.config import Settings
from bot.conversation import (
    IDLE,
    ChoiceGuard,
    ChoiceHandler,
    ConversationService,
    DuplicateRegistration,
    Flow,
    MenuEntry,
    RegistrationError,
    TextHandler,
    Turn,
    TurnHandler,
    catalogs_for,
    only_choices,
)
from bot.domain import Button, Inbound, InboundKind
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.languages import languages
from bot.safety.crisis_screen import CrisisScreen, load_safety_policy
from bot.safety.helplines import load_helplines
from bot.services import Services, build_flows
from bot.store.sealing import Sealer
from bot.texts import Texts
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import button_data, joined, stored_person


class _Stray(Flow):
    """A flow that claims one thing, whichever the test asks for."""

    def __init__(
        self, command: str = "", prefix: str = "", state: str = "", name: str = "stray"
    ) -> None:
        self.name = name
        self._command, self._prefix, self._state = command, prefix, state

    def commands(self) -> dict[str, TurnHandler]:
        return {self._command: lambda turn: None} if self._command else {}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {self._prefix: lambda turn, rest: None} if self._prefix else {}

    def states(self) -> dict[str, TextHandler]:
        return {self._state: lambda turn, text: None} if self._state else {}


class _Foreign(_Stray):
    """A flow that reaches into another flow's state, command or buttons."""

    def __init__(self, guard: str = "", menu: str = "", opens: str = "") -> None:
        super().__init__()
        self._guard, self._menu, self._opens = guard, menu, opens

    def guards(self) -> dict[str, ChoiceGuard]:
        return {self._guard: lambda turn, data: False} if self._guard else {}

    def menu(self) -> tuple[MenuEntry, ...]:
        return (MenuEntry(self._menu, "menu_read"),) if self._menu else ()

    def open_before_consent(self) -> frozenset[str]:
        return frozenset({self._opens} - {""})


def _service(settings: Settings, extra: Flow | None) -> ConversationService:
    helplines = load_helplines(settings.kb_dir / "helplines.yaml")
    flows = build_flows(settings, helplines, knowledge=None, moderator=lambda: None)  # type: ignore[arg-type]
    return ConversationService(
        engine=create_engine("sqlite://"),
        sealer=Sealer("test-secret"),
        screen=CrisisScreen(load_safety_policy(settings.policies_dir / "safety.yaml")),
        helplines=helplines,
        texts=Texts(settings.prompts_dir),
        flows=[*flows, *([extra] if extra else [])],
        channel="test",
    )


def test_the_shipped_flows_claim_nothing_twice(settings: Settings) -> None:
    service = _service(settings, None)  # raises DuplicateRegistration if two shipped flows collide
    states = set(service.registry.states)
    assert {"new", "idle", "after_crisis"} <= states  # the core's, handled by flows
    assert all("." in state for state in states - {"new", "idle", "after_crisis"})


@pytest.mark.parametrize(
    ("stray", "named"),
    [
        (_Stray(command="/forget"), "command /forget"),
        (_Stray(prefix="c"), "button prefix c"),
        (_Stray(state="cards.composing", name="cards"), "flow name cards"),
        (_Stray(state="idle"), "state idle"),
    ],
)
def test_a_second_claim_is_refused_and_named(settings: Settings, stray: _Stray, named: str) -> None:
    with pytest.raises(DuplicateRegistration, match=named) as raised:
        _service(settings, stray)
    assert "_Stray" in str(raised.value)


@pytest.mark.parametrize(
    ("stray", "named"),
    [
        (_Stray(state="cards.composing"), "state 'cards.composing' is not named stray.<name>"),
        (_Stray(state="composing"), "state 'composing' is not named stray.<name>"),
        (_Stray(state="stray." + "x" * 30), "over 32 chars"),
        (_Stray(command="share"), "command 'share' is not like /name"),
        (_Stray(prefix="menu"), "button prefix 'menu' is not allowed"),
        (_Stray(prefix="a:b"), "button prefix 'a:b' is not allowed"),
        (
            _Foreign(guard="cards.confirming"),
            r"guard for states it does not own: \['cards.confirming'\]",
        ),
        (_Foreign(menu="/read"), "a menu button for /read"),
        (_Foreign(opens="c"), r"opens what it does not own: \['c'\]"),
    ],
)
def test_a_stray_declaration_is_refused_and_named(
    settings: Settings, stray: Flow, named: str
) -> None:
    with pytest.raises(RegistrationError, match=named):
        _service(settings, stray)


# -- a throwaway flow, end to end --------------------------------------------------------------
WRITING, KEPT = "diary.writing", "diary.kept"
DIARY_TEXTS = {
    "menu_diary": "Diary",
    "command_diary": "Write a line in your diary",
    "diary_prompt": "What would you like to write down?",
    "diary_kept": "Kept for you ({length} characters).",
    "diary_done_button": "Done",
    "diary_waiting": "Your line is waiting: tap Done first.",
    "diary_closed": "Closed your diary.",
}


class DiaryFlow(Flow):
    """A feature the core has never heard of: a command, a state to write in, a state that only
    its own button leaves, a menu button, a resumer and its own message catalog."""

    name = "diary"

    def commands(self) -> dict[str, TurnHandler]:
        return {"/diary": self.open}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"diary": self.choice}

    def states(self) -> dict[str, TextHandler]:
        return {WRITING: self.written, KEPT: self.written}

    def guards(self) -> dict[str, ChoiceGuard]:
        return {KEPT: only_choices({"diary:done"}, reminder="diary_waiting")}

    def resumers(self) -> dict[str, TurnHandler]:
        return {WRITING: self.open}

    def menu(self) -> tuple[MenuEntry, ...]:
        return (MenuEntry("/diary", "menu_diary", row=2),)

    def catalogs(self) -> tuple[str, ...]:
        return ("diary",)

    def open(self, turn: Turn) -> None:
        turn.set_state(WRITING)
        turn.say(turn.t("diary_prompt"))

    def written(self, turn: Turn, text: str) -> None:
        turn.set_state(KEPT, length=len(text))
        turn.say(
            turn.t("diary_kept", length=len(text)),
            [[Button(turn.t("diary_done_button"), "diary:done")]],
        )

    def choice(self, turn: Turn, rest: str) -> None:
        if rest == "done" and turn.state == KEPT:
            turn.set_state(IDLE)
            turn.say(turn.t("diary_closed"), turn.menu_buttons())
        else:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())


def _with_diary(services: Services, tmp_path: Path) -> Services:
    """The shipped flows plus the diary, its texts in a catalog of its own."""
    prompts = tmp_path / "prompts"
    shutil.copytree(services.settings.prompts_dir, prompts)
    for language in languages():
        lines = [f'{key}: "{text}"' for key, text in DIARY_TEXTS.items()]
        (prompts / language / "diary.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = services.settings
    flows = build_flows(
        settings,
        services.helplines,
        KnowledgeBase(settings),
        lambda: pytest.fail("the diary never moderates"),
    )
    conversation = ConversationService(
        engine=services.engine,
        sealer=services.sealer,
        screen=services.screen,
        helplines=services.helplines,
        texts=Texts(prompts, catalogs=catalogs_for([*flows, DiaryFlow()])),
        flows=[*flows, DiaryFlow()],
        channel="telegram",
    )
    return replace(services, conversation=conversation)


def test_a_new_flow_works_end_to_end_with_nothing_else_changed(
    services: Services, tmp_path: Path
) -> None:
    diary = _with_diary(services, tmp_path)
    person = Someone(diary, "9101")
    person.consents()
    assert joined(person.command("/diary")) == DIARY_TEXTS["diary_prompt"]
    assert stored_person(diary, "9101").state == WRITING

    # A crisis pauses the diary like any flow; "carry on" asks its question again.
    person.says("I want to die")
    assert stored_person(diary, "9101").state == "after_crisis"
    assert DIARY_TEXTS["diary_prompt"] in joined(person.presses("care:resume"))
    assert stored_person(diary, "9101").state == WRITING

    replies = person.says("A quiet day, and that was fine.")
    assert "Kept for you (31 characters)" in joined(replies)
    assert button_data(replies) == ["diary:done"]
    row = stored_person(diary, "9101")
    assert (row.state, row.state_data) == (KEPT, {"length": 31})

    # Its guard: an old button of another flow does nothing while the line waits.
    assert joined(person.presses("c:more")) == DIARY_TEXTS["diary_waiting"]
    assert joined(person.presses("menu:read")) == DIARY_TEXTS["diary_waiting"]
    assert stored_person(diary, "9101").state == KEPT

    replies = person.presses("diary:done")
    assert DIARY_TEXTS["diary_closed"] in joined(replies)
    assert button_data(replies) == ["menu:read", "menu:share", "menu:assess", "menu:diary"]
    assert stored_person(diary, "9101").state == IDLE
    assert joined(person.presses("menu:diary")) == DIARY_TEXTS["diary_prompt"]

    # Its command reaches the channel's command menu, described by its own catalog.
    menu = dict(diary.conversation.command_menu()["en"])
    assert menu["diary"] == DIARY_TEXTS["command_diary"]


def test_a_state_no_flow_registers_is_refused_when_set(services: Services) -> None:
    Someone(services, "9102").consents()
    with Session(services.engine) as session:
        turn = Turn(
            session=session,
            person=stored_person(services, "9102"),
            inbound=Inbound("9102", InboundKind.TEXT, "hello"),
            texts=Texts(services.settings.prompts_dir),
            sealer=services.sealer,
            channel="telegram",
            registry=services.conversation.registry,
        )
        with pytest.raises(ValueError, match=r"no flow registered the state .cards\.compose."):
            turn.set_state("cards.compose")


def test_a_flow_whose_catalog_is_not_loaded_fails_at_start(services: Services) -> None:
    """The diary's texts were not loaded with the shipped catalogs: refused when the
    conversation is built, not when the diary first speaks."""
    with pytest.raises(RegistrationError, match=r"DiaryFlow \(diary\): its catalogs \['diary'\]"):
        ConversationService(
            engine=services.engine,
            sealer=services.sealer,
            screen=services.screen,
            helplines=services.helplines,
            texts=Texts(services.settings.prompts_dir),
            flows=[
                *build_flows(
                    services.settings,
                    services.helplines,
                    KnowledgeBase(services.settings),
                    lambda: pytest.fail("nothing is moderated"),
                ),
                DiaryFlow(),
            ],
            channel="telegram",
        )
