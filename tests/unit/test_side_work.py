"""A process killed between a turn's commits (the person's, then the side transactions for
cards, reactions and messages to others: docs/privacy.md) loses nothing and writes nothing
twice: the side work sealed in the person's transaction is written by recovery, once.

The kill is an exception that is not an `Exception` (nothing in the turn catches it, no
fallback runs), raised right after the person's commit, before the side commits; the side
sessions are closed with it, so their work is rolled back as a dead process's would be. On
SQLite a turn is one transaction, so the same kill leaves it whole.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session, col, select

from bot.conversation import Turn
from bot.services import Services
from bot.store.side_work import SideWorkRecovery
from bot.store.tables import Card, CardDelivery, SideWork
from tests.support.conversation_driver import joined, stored_person
from tests.unit.test_cards_flow import CARD, card_buttons, outbox_rows, ready


class Killed(BaseException):
    """SIGKILL between the commits, as far as the turn can tell."""


def die(self: Turn, written: dict[str, int]) -> None:
    """Stands in for the side commits: the process is gone before them."""
    raise Killed


def cards(services: Services) -> list[Card]:
    with Session(services.engine) as session:
        return list(session.exec(select(Card).order_by(col(Card.id))))


def side_rows(services: Services) -> list[SideWork]:
    with Session(services.engine) as session:
        return list(session.exec(select(SideWork)))


def restart(services: Services) -> int:
    """What any worker's inbox sweep does (there, only for rows seen some seconds ago)."""
    recovery = SideWorkRecovery(services.engine, services.sealer, after=0.0)
    return recovery.run_once() + recovery.run_once()


def test_a_card_published_as_the_process_dies_is_stored_once_after_restart(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = ready(services, "7201")
    author.command("/share")
    author.says(CARD)
    with monkeypatch.context() as patch:
        patch.setattr(Turn, "_commit_sides", die)
        with pytest.raises(Killed):
            author.presses("c:publish")
    postgres = services.engine.dialect.name == "postgresql"
    # the person's part is committed: the draft is gone, so the turn is not run again
    assert stored_person(services, "7201").state == "idle"
    assert len(cards(services)) == (0 if postgres else 1)
    assert len(side_rows(services)) == (1 if postgres else 0)

    assert restart(services) == (1 if postgres else 0)
    assert restart(services) == 0
    (card,) = cards(services)
    assert card.text == CARD and card.status == "published"
    assert side_rows(services) == []
    # the author's index (their transaction) and the card (the side one) agree
    listed = joined(author.command("/mycards"))
    assert CARD in listed
    # and the card reaches a reader, whose "helped" reaches the author once
    reader = ready(services, "7202")
    (helped,) = card_buttons(reader.command("/read"))
    assert "told the author" in joined(reader.presses(helped))
    assert len(outbox_rows(services)) == 1


def test_a_notice_to_an_author_queued_as_the_process_dies_goes_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, reader = ready(services, "7203"), ready(services, "7204")
    author.command("/share")
    author.says(CARD)
    author.presses("c:publish")
    (helped,) = card_buttons(reader.command("/read"))
    with monkeypatch.context() as patch:
        patch.setattr(Turn, "_commit_sides", die)
        with pytest.raises(Killed):
            reader.presses(helped)
    postgres = services.engine.dialect.name == "postgresql"
    assert len(outbox_rows(services)) == (0 if postgres else 1)
    # two side transactions (the reaction's, the notice's): two rows, each written once
    assert restart(services) == (2 if postgres else 0)
    assert restart(services) == 0
    assert len(outbox_rows(services)) == 1
    (card,) = cards(services)
    assert card.helped_count == 1
    with Session(services.engine) as session:
        assert [d.helped for d in session.exec(select(CardDelivery))] == [True]
    # pressed again after the restart: recognised as already said, no second notice
    assert "told the author" in joined(reader.presses(helped))
    assert len(outbox_rows(services)) == 1
    assert side_rows(services) == []


def test_a_live_side_commit_and_a_recovery_write_the_side_work_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that stalled between its commits past the recovery's wait, while another
    worker's recovery runs: whichever gets the `side_work` row writes the side work, the other
    gives up (recovery after its lock timeout, the stalled side transaction by rolling back)."""
    if services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: one transaction per turn")
    author = ready(services, "7205")
    author.command("/share")
    author.says(CARD)
    original = Turn._commit_sides
    recovered: list[int] = []

    def stalled(self: Turn, written: dict[str, int]) -> None:
        other = threading.Thread(target=lambda: recovered.append(restart(services)))
        other.start()
        time.sleep(0.5)  # the other worker is in the middle of it
        try:
            original(self, written)
        finally:
            other.join(timeout=30)

    monkeypatch.setattr(Turn, "_commit_sides", stalled)
    author.presses("c:publish")
    assert recovered in ([0], [1])
    assert restart(services) == 0
    assert len(cards(services)) == 1
    assert side_rows(services) == []
    assert CARD in joined(author.command("/mycards"))
