"""SQLite's writers in one process take turns (bot.store.engine.WriterTurns): never two at
once, nobody left waiting while the lock is free (a release wakes one waiter, and a waiter
that gives up passes the wake on), and a `writes_first()` thread goes ahead of waiting ones."""

from __future__ import annotations

import threading
import time

from bot.store.engine import WriterTurns, writes_first


def test_writers_never_overlap_and_nobody_is_left_waiting() -> None:
    turns = WriterTurns()
    inside = 0
    overlaps = 0
    done = 0
    guard = threading.Lock()

    def writer(first: bool) -> None:
        nonlocal inside, overlaps, done
        for _ in range(200):
            if first:
                with writes_first():
                    assert turns.acquire(5.0)
            else:
                assert turns.acquire(5.0)
            with guard:
                inside += 1
                overlaps += inside > 1
            time.sleep(0)
            with guard:
                inside -= 1
            turns.release()
        with guard:
            done += 1

    threads = [threading.Thread(target=writer, args=(i % 4 == 0,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert done == 8
    assert overlaps == 0


def test_a_waiter_that_gives_up_passes_the_wake_on() -> None:
    turns = WriterTurns()
    assert turns.acquire(1.0)
    got: list[bool] = []
    patient = threading.Thread(target=lambda: got.append(turns.acquire(5.0)))
    patient.start()
    assert turns.acquire(0.05) is False  # this one gives up while the lock is held
    turns.release()
    patient.join(5)
    assert got == [True]


def test_a_delivery_record_goes_ahead_of_waiting_turns() -> None:
    turns = WriterTurns()
    assert turns.acquire(1.0)
    order: list[str] = []

    def turn() -> None:
        assert turns.acquire(5.0)
        order.append("turn")
        turns.release()

    def delivered() -> None:
        with writes_first():
            assert turns.acquire(5.0)
        order.append("delivered")
        turns.release()

    waiting = threading.Thread(target=turn)
    waiting.start()
    time.sleep(0.05)  # the turn waits first
    first = threading.Thread(target=delivered)
    first.start()
    time.sleep(0.05)
    turns.release()
    waiting.join(5)
    first.join(5)
    assert order == ["delivered", "turn"]
