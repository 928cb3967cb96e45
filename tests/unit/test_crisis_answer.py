"""The crisis answer's helplines follow the language the screen read: a crisis in a language the
bot does not speak lists the international helplines, with or without a database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.config import Settings
from bot.services import Services, build_services
from bot.store.tables import Flag
from tests.support.conversation_driver import Person as Someone
from tests.support.conversation_driver import joined


def test_an_unspoken_language_gets_the_international_helplines_and_a_flag(
    services: Services,
) -> None:
    replies = joined(Someone(services, "2001", language="en-GB").says("Ich will mich umbringen."))
    assert "findahelpline.com" in replies
    assert "local emergency number" in replies
    assert "116 123" not in replies  # the en-GB lines: the writer is not known to be in the UK
    with Session(services.engine) as session:
        flags = session.exec(select(Flag)).all()
    assert [f.kind for f in flags] == ["crisis"]


def test_a_spoken_language_keeps_the_persons_own_helplines(services: Services) -> None:
    replies = joined(Someone(services, "2002", language="en-GB").says("I want to kill myself"))
    assert "116 123" in replies


def test_the_learned_layer_answers_in_the_conversation(services: Services) -> None:
    replies = joined(
        Someone(services, "2003", language="en-US").says("What's the point of living anymore?")
    )
    assert "988" in replies


@pytest.mark.empty_database  # no tables at all
def test_without_a_database_an_unspoken_crisis_still_gets_international_helplines(
    settings: Settings,
) -> None:
    broken = build_services(settings, channel="telegram", migrate=False)  # no tables at all
    try:
        replies = joined(Someone(broken, "2004", language="ja").says("Je veux mourir"))
        assert "findahelpline.com" in replies
        assert "0570" not in replies
        assert "went wrong" not in replies
    finally:
        broken.close()
