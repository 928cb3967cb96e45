"""The moderation decision fails closed: crisis and toxic text reach nobody, sad text only
readers who feel good, and a failure inside the pipeline holds the text."""

from __future__ import annotations

import pytest

from bot.domain import UserClass
from bot.moderation.decision import Verdict
from bot.moderation.pipeline import Moderator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator()


def test_crisis_card_is_held(moderator: Moderator) -> None:
    decision = moderator.moderate("I want to kill myself tonight.", "en")
    assert decision.decision is Verdict.HOLD
    assert decision.crisis
    assert not decision.readers


def test_threat_is_held(moderator: Moderator) -> None:
    decision = moderator.moderate("I know where you live and I will hurt you.", "en")
    assert decision.decision is Verdict.HOLD
    assert not decision.readers


def test_supportive_card_first_reaches_readers_who_feel_good(moderator: Moderator) -> None:
    decision = moderator.moderate(
        "Going for a short walk every morning helped me more than I expected.", "en"
    )
    assert decision.decision is Verdict.PUBLISH
    assert decision.readers == {UserClass.POTENTIAL_HEALING, UserClass.NORMAL}


def test_scrubbed_text_is_what_is_relayed(moderator: Moderator) -> None:
    decision = moderator.moderate("Write to me at mia@example.com, it gets better.", "en")
    assert "mia@example.com" not in decision.scrubbed
    assert decision.removed_count == 1


def test_failure_inside_holds(moderator: Moderator, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("model unavailable")

    monkeypatch.setattr(moderator, "_moderate", broken)
    decision = moderator.moderate("A perfectly kind card.", "en")
    assert decision.decision is Verdict.HOLD
    assert not decision.readers
