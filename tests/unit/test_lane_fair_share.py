"""A lane gives its worker thread back after its fair share of rows, even when its person's next
message arrives while each turn runs (bot/channels/telegram/inbox.py `_drain_lane`), on SQLite
and PostgreSQL with the real inbox store."""

from __future__ import annotations

import itertools

from sqlalchemy.engine import Engine
from telegram import Bot

from bot.channels.telegram.inbox import CHANNEL, FAIR_SHARE, TelegramInbox
from bot.config import PROJECT_ROOT
from bot.store.inbox import DONE, InboxStore, NewUpdate, StoredUpdate
from bot.store.sealing import Sealer
from bot.texts import Texts

SEALER = Sealer("lane-fair-share-test-secret-0123456789")


class ChattyLane(TelegramInbox):
    """Each turn closes its row and, meanwhile, the same person writes again (one new row per
    turn): the handling of a row is replaced, the lane logic and the store are the real ones."""

    def __init__(self, store: InboxStore, lane: str) -> None:
        texts = Texts(PROJECT_ROOT / "prompts")
        super().__init__(Bot("123:TEST"), store, None, texts=texts, lane_threads=1)  # type: ignore[arg-type]
        self.lane = lane
        self.handled: list[int] = []
        self._ids = itertools.count(1000)

    def _handle_row(self, row: StoredUpdate) -> None:
        if len(self.handled) < 3 * FAIR_SHARE:  # bounded, so a lane that never lets go fails
            self._store.store(CHANNEL, [NewUpdate(next(self._ids), self.lane, "{}")])
        self._store.finish(row, status=DONE, channel=CHANNEL)
        self.handled.append(row.update_id)


def test_a_person_writing_during_every_turn_still_gives_the_thread_back(engine: Engine) -> None:
    store = InboxStore(engine, SEALER)
    lane = store.lane_of(CHANNEL, "4242")
    store.store(CHANNEL, [NewUpdate(1, lane, "{}")])
    inbox = ChattyLane(store, lane)
    try:
        assert inbox._drain_lane(lane) is True  # gave the thread back, rows left
        assert len(inbox.handled) == FAIR_SHARE
        assert store.has_waiting(CHANNEL, lane)
    finally:
        inbox.close()
