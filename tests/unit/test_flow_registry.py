"""Flows are merged into one conversation; two flows claiming the same command, button prefix or
state must fail loudly at start-up instead of one silently replacing the other."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from bot.config import Settings
from bot.conversation import (
    ChoiceHandler,
    ConversationService,
    DuplicateRegistration,
    State,
    TextHandler,
    TurnHandler,
)
from bot.safety.crisis_screen import CrisisScreen, load_safety_policy
from bot.safety.helplines import load_helplines
from bot.store.sealing import Sealer
from bot.texts import Texts


class _Stray:
    """A flow that claims one thing, whichever the test asks for."""

    def __init__(self, command: str = "", prefix: str = "", state: State | None = None) -> None:
        self._command, self._prefix, self._state = command, prefix, state

    def commands(self) -> dict[str, TurnHandler]:
        return {self._command: lambda turn: None} if self._command else {}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {self._prefix: lambda turn, rest: None} if self._prefix else {}

    def states(self) -> dict[State, TextHandler]:
        return {self._state: lambda turn, text: None} if self._state else {}


def _service(settings: Settings, extra: _Stray | None) -> ConversationService:
    from bot.services import build_flows

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
    _service(settings, None)  # raises DuplicateRegistration if two shipped flows collide


@pytest.mark.parametrize(
    ("stray", "named"),
    [
        (_Stray(command="/forget"), "command /forget"),
        (_Stray(prefix="c"), "button prefix c"),
        (_Stray(state=State.COMPOSING), "state composing"),
    ],
)
def test_a_second_claim_is_refused_and_named(settings: Settings, stray: _Stray, named: str) -> None:
    with pytest.raises(DuplicateRegistration, match=named) as raised:
        _service(settings, stray)
    assert "_Stray" in str(raised.value)
