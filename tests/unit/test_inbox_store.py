"""The durable inbox's storage, and what makes many workers safe, on SQLite and PostgreSQL:
updates stored once by update_id, a lane held by one handler at a time, the person upsert, the
outbox claimed once per worker, migrations under a lock, the outbox payload carrying every
field of an Outbound."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.domain import Button, Outbound
from bot.store.engine import make_engine, upgrade
from bot.store.inbox import InboxStore, NewUpdate
from bot.store.outbox import FRESH_LEASE_SECONDS, OutboxPayload, OutboxStore, enqueue
from bot.store.people import get_or_create_person
from bot.store.sealing import Sealer
from bot.store.tables import DeliveryAddress, InboxUpdate, OutboxMessage, Person

SEALER = Sealer("inbox-store-test-secret-0123456789")


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_the_outbox_payload_carries_every_field_of_an_outbound() -> None:
    message = Outbound(
        text="your progress",
        buttons=((Button("More", "c:more"), Button("Stop", "c:stop")),),
        protect_content=True,
        is_card=True,
        flags=frozenset({"b", "a"}),
        delivery_token="tok-1",
        image_png=b"\x89PNG\r\n\x1a\n\x00binary",
    )
    payload = OutboxPayload.of(message, edit_message_id=42).model_dump(mode="json")
    assert payload["image_png"] != message.image_png  # stored as base64 text in JSON
    assert OutboxPayload.model_validate(payload).outbound() == message
    assert OutboxPayload.model_validate(payload).edit_message_id == 42
    old = {"text": "hi", "buttons": [[["Yes", "y"]]], "protect_content": False}  # rows before
    assert OutboxPayload.model_validate(old).outbound() == Outbound("hi", ((Button("Yes", "y"),),))


def test_an_update_is_stored_once_and_a_flood_is_marked_over_the_cap(engine) -> None:  # type: ignore[no-untyped-def]
    store = InboxStore(engine, SEALER, cap=3)
    lane = store.lane_of("telegram", "123")
    assert lane == store.lane_of("telegram", "123") and "123" not in lane
    assert store.store("telegram", [NewUpdate(1, lane, '{"update_id": 1}')]) == 1
    assert store.store("telegram", [NewUpdate(1, lane, '{"update_id": 1}')]) == 0  # again
    store.store("telegram", [NewUpdate(i, lane, "{}") for i in range(2, 7)])
    with Session(engine) as session:
        rows = session.exec(select(InboxUpdate).order_by(InboxUpdate.update_id)).all()
    assert [r.over_cap for r in rows] == [False, False, False, True, True, True]
    assert all(r.sealed_payload and "update_id" not in r.sealed_payload for r in rows)
    first = store.next_in_lane("telegram", lane)
    assert first is not None and (first.update_id, first.attempts) == (1, 1)
    assert first.payload == '{"update_id": 1}'


def test_a_lane_has_one_handler_at_a_time(engine) -> None:  # type: ignore[no-untyped-def]
    one, other = InboxStore(engine, SEALER), InboxStore(engine, SEALER)
    if engine.dialect.name == "sqlite":
        other = one  # one process on SQLite: the lock is in-process
    with one.lane_lock("lane-a") as got:
        assert got
        results: list[bool] = []

        def try_it() -> None:
            with other.lane_lock("lane-a") as second:
                results.append(second)
            with other.lane_lock("lane-b") as elsewhere:
                results.append(elsewhere)

        worker = threading.Thread(target=try_it)
        worker.start()
        worker.join()
    assert results == [False, True]
    with other.lane_lock("lane-a") as again:
        assert again  # let go when the first left


def test_a_row_stored_while_its_lane_is_held_is_seen_when_the_holder_lets_go(engine) -> None:  # type: ignore[no-untyped-def]
    """The holder takes rows one at a time, told whether more wait; a row another worker
    stores meanwhile (its own lock attempt fails) is found by the holder's look after letting
    go, so it is never left waiting for a sweep."""
    from bot.store.inbox import DONE

    store = InboxStore(engine, SEALER)
    other = InboxStore(engine, SEALER) if engine.dialect.name == "postgresql" else store
    lane = store.lane_of("telegram", "321")
    store.store("telegram", [NewUpdate(1, lane, "{}"), NewUpdate(2, lane, "{}")])
    with store.holding_lane("telegram", lane) as held:
        assert held is not None
        first = held.next()
        assert first is not None and first.update_id == 1 and held.more
        store.finish(first, status=DONE, channel="telegram")
        second = held.next()
        assert second is not None and second.update_id == 2 and not held.more
        store.finish(second, status=DONE, channel="telegram")
        other.store("telegram", [NewUpdate(3, lane, "{}")])  # meanwhile, by another worker
        with other.holding_lane("telegram", lane) as theirs:
            assert theirs is None  # it cannot take the lane: the holder must look
    assert held.waiting_after
    with store.holding_lane("telegram", lane) as again:
        assert again is not None
        third = again.next()
        assert third is not None and third.update_id == 3 and third.attempts == 1
        store.finish(third, status=DONE, channel="telegram")
        assert again.next() is None
    assert not again.waiting_after


def test_a_new_person_seen_by_two_workers_at_once_is_created_once(engine) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(6)
    errors: list[str] = []
    created: list[bool] = []

    def first_message() -> None:
        try:
            with Session(engine) as session:
                barrier.wait()
                _, new = get_or_create_person(
                    session=session,
                    sealer=SEALER,
                    channel="telegram",
                    user_ref="555",
                    language="en",
                )
                session.commit()
                created.append(new)
        except Exception as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=first_message) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(created) == [False] * 5 + [True]
    with Session(engine) as session:
        assert len(session.exec(select(Person)).all()) == 1
        assert len(session.exec(select(DeliveryAddress)).all()) == 1


def test_two_workers_claim_each_outbox_row_once_and_one_persons_rows_together(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        ids = []
        for ref in ("1", "2", "3"):
            person, _ = get_or_create_person(
                session=session, sealer=SEALER, channel="telegram", user_ref=ref, language="en"
            )
            ids.append(person.id)
        for n in range(12):
            for person_id in ids:
                assert person_id is not None
                enqueue(
                    session=session,
                    sealer=SEALER,
                    person_id=person_id,
                    channel="telegram",
                    message=Outbound(f"m{n}"),
                )
        session.commit()
    stores = [OutboxStore(engine, SEALER), OutboxStore(engine, SEALER)]
    taken: list[list[tuple[int, str]]] = [[], []]
    barrier = threading.Barrier(2)

    def claim(index: int) -> None:
        barrier.wait()
        for item in stores[index].due("telegram", limit=50):
            taken[index].append((item.id, item.recipient_ref))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_ids = [i for part in taken for i, _ in part]
    assert len(all_ids) == len(set(all_ids))  # nothing claimed twice
    if engine.dialect.name == "postgresql":  # a person's rows went to one worker only
        owners = [{ref for _, ref in part} for part in taken]
        assert not (owners[0] & owners[1])
    per_person = Counter(ref for part in taken for _, ref in part)
    assert max(per_person.values()) <= 5  # PER_RECIPIENT_PER_ROUND: nobody hogs a round


@pytest.mark.postgres
@pytest.mark.empty_database  # each worker finds no tables and one migrates
def test_workers_starting_together_migrate_once(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the lock is PostgreSQL's; SQLite runs one process")
    engines = [make_engine(database_url) for _ in range(3)]
    barrier = threading.Barrier(3)
    errors: list[str] = []

    def start(index: int) -> None:
        barrier.wait()
        try:
            upgrade(engines[index])
        except Exception as exc:
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []


def _one_queued_message(engine: Engine, user_ref: str) -> None:
    """A new person with one message waiting in the outbox."""
    with Session(engine) as session:
        person, _ = get_or_create_person(
            session=session, sealer=SEALER, channel="telegram", user_ref=user_ref, language="en"
        )
        assert person.id is not None
        enqueue(
            session=session,
            sealer=SEALER,
            person_id=person.id,
            channel="telegram",
            message=Outbound("x"),
        )
        session.commit()


def test_a_claim_renews_only_while_it_is_still_held(engine) -> None:  # type: ignore[no-untyped-def]
    _one_queued_message(engine, "9")
    store = OutboxStore(engine, SEALER)
    [item] = store.due("telegram")
    assert item.lease is not None
    # Claimed a moment ago: held for most of a lease still, so nothing is written.
    assert store.renew(item.id, item.lease) == item.lease
    # A claim some seconds old (a send that waited): renewed, and the old lease is spent.
    older = item.lease - timedelta(seconds=FRESH_LEASE_SECONDS + 1)
    with Session(engine) as session:
        row = session.get(OutboxMessage, item.id)
        assert row is not None
        row.claimed_until = older
        session.add(row)
        session.commit()
    renewed = store.renew(item.id, older)
    assert renewed is not None and renewed > older
    assert store.renew(item.id, older) is None  # the old lease is no longer the claim
    assert store.renew(item.id, renewed) is not None


def test_handled_rows_are_pruned_after_an_hour_and_waiting_ones_never(engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from bot.store.inbox import DONE, KEEP_HANDLED
    from bot.store.tables import utcnow

    store = InboxStore(engine, SEALER, cap=10)
    lane = store.lane_of("telegram", "77")
    store.store("telegram", [NewUpdate(i, lane, "{}") for i in (1, 2, 3)])
    long_ago = utcnow() - KEEP_HANDLED - timedelta(minutes=1)
    with Session(engine) as session:
        rows = {r.update_id: r for r in session.exec(select(InboxUpdate))}
        rows[1].status, rows[1].done_at = DONE, long_ago  # handled long ago: goes
        rows[2].status, rows[2].done_at = DONE, utcnow()  # just handled: kept (a retry may come)
        session.add_all([rows[1], rows[2]])
        session.commit()
    assert store.prune("telegram") == 1
    with Session(engine) as session:
        left = sorted(r.update_id for r in session.exec(select(InboxUpdate)))
    assert left == [2, 3]  # 3 still waits, whatever its age
    assert store.store("telegram", [NewUpdate(2, lane, "{}")]) == 0  # still recognised


def test_a_turns_plain_replies_go_out_as_one_message() -> None:
    """Fewer calls against Telegram's 30/s: plain words before a question join it; a card, a
    picture or protected words stay a message of their own."""
    from bot.domain import Button, Outbound
    from bot.store.inbox import joined_replies

    question = Outbound(text="Which one?", buttons=((Button(label="A", data="a:x.a"),),))
    joined = joined_replies(
        [Outbound(text="Thank you."), Outbound(text="A few questions."), question]
    )
    assert joined == [
        Outbound(text="Thank you.\n\nA few questions.\n\nWhich one?", buttons=question.buttons)
    ]
    card = Outbound(text="someone's words", protect_content=True, is_card=True)
    assert joined_replies([Outbound(text="Here is a card."), card]) == [
        Outbound(text="Here is a card."),
        card,
    ]
    assert joined_replies([question, Outbound(text="after")]) == [question, Outbound(text="after")]
    long = Outbound(text="x" * 4000)
    assert joined_replies([long, Outbound(text="y" * 200)]) == [long, Outbound(text="y" * 200)]


def test_polling_starts_after_the_newest_stored_update_which_pruning_keeps(engine) -> None:  # type: ignore[no-untyped-def]
    """An update handled before a restart is not fetched again, however long the bot was down:
    everything up to the newest stored update was stored (a batch is confirmed only once it
    is), so polling starts after it, and pruning keeps that one row."""
    from datetime import timedelta

    from bot.store.inbox import DONE, KEEP_HANDLED
    from bot.store.tables import utcnow

    store = InboxStore(engine, SEALER, cap=10)
    assert store.last_update_id("telegram") is None
    lane = store.lane_of("telegram", "78")
    store.store("telegram", [NewUpdate(i, lane, "{}") for i in (41, 42)])
    long_ago = utcnow() - KEEP_HANDLED - timedelta(hours=5)
    with Session(engine) as session:
        for row in session.exec(select(InboxUpdate)):
            row.status, row.done_at = DONE, long_ago
            session.add(row)
        session.commit()
    assert store.prune("telegram") == 1
    assert store.last_update_id("telegram") == 42


def test_a_row_claimed_again_after_a_lease_ran_out_says_so(engine) -> None:  # type: ignore[no-untyped-def]
    """A worker that died holding a row may have sent it: the next claim is marked `retaken`
    (an edit Telegram then calls "not modified" was made by that worker, and is done)."""
    from datetime import timedelta

    from bot.store.tables import utcnow

    _one_queued_message(engine, "10")
    store = OutboxStore(engine, SEALER)
    [first] = store.due("telegram")
    assert not first.retaken
    with Session(engine) as session:  # the worker died; its lease runs out
        row = session.exec(select(OutboxMessage)).one()
        row.claimed_until = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    [again] = store.due("telegram")
    assert again.retaken
    store.failed(again.id)  # an outcome recorded: the next claim is a fresh one
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    [fresh] = store.due("telegram")
    assert not fresh.retaken
