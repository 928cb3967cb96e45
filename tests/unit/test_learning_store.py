"""The learners on a real database (SQLite and PostgreSQL): hand-computed cells, the warm start
from everyone, sealed events, and no lost update with parallel writers (PostgreSQL)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.learning.learners import QTableLearner, ThompsonLearner
from bot.learning.policy import load_learning_policy
from bot.learning.rules import LearningState
from bot.learning.service import LearningService
from bot.learning.store import EVERYONE, add_observation, apply_q_update, read_cells
from bot.store.engine import make_engine, upgrade
from bot.store.sealing import Sealer
from bot.store.tables import CheckIn, LearnedValue, Person

POLICY = load_learning_policy()
SEALER = Sealer("test-secret-key-0123456789abcdef")
S = LearningState("vulnerable", "self_doubt", 2, mood_level=3)
S_NEXT = LearningState("vulnerable", "self_doubt", 4, mood_level=3)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = make_engine(database_url)
    upgrade(built)
    yield built
    built.dispose()


def _person(engine: Engine, key: str = "p1", **fields: object) -> Person:
    with Session(engine, expire_on_commit=False) as session:
        person = Person(key=key, **fields)
        session.add(person)
        session.commit()
        return person


def test_q_table_update_by_hand(engine: Engine) -> None:
    alpha, gamma = POLICY.q_table.alpha, POLICY.q_table.gamma
    learner = QTableLearner(POLICY)
    with Session(engine) as session:
        # Q(s', coping_tip) = 1.0 first, so max_a' Q(s', a') = 1.0
        apply_q_update(
            session, "q_table", EVERYONE, S_NEXT.key, "coping_tip", target=1.0, alpha=1.0
        )
        learner.learn(session, S, "peer_story", 2.0, S_NEXT)
        learner.learn(session, S, "peer_story", 0.0, S_NEXT)
        session.commit()
        values = learner.values(session, S, ["peer_story", "coping_tip"])
    first = alpha * (2.0 + gamma * 1.0)  # from 0
    second = (1 - alpha) * first + alpha * (0.0 + gamma * 1.0)
    assert values["peer_story"] == pytest.approx(second)
    assert values["coping_tip"] == pytest.approx(0.0)  # never updated in s


def test_thompson_shares_what_it_learns_with_neighbouring_states(engine: Engine) -> None:
    learner = ThompsonLearner(POLICY)
    kappa, prior = POLICY.thompson.prior_strength, POLICY.thompson.prior_mean
    with Session(engine) as session:
        for _ in range(3):
            learner.learn(session, S, "short_exercise", 1.0, S_NEXT)
        session.commit()
        # a new emotion of the same class borrows through "all" and "c:vulnerable"
        neighbour = LearningState("vulnerable", "regret", 0, mood_level=1)
        shared = learner.values(session, neighbour, ["short_exercise", "peer_story"])
        own = learner.values(session, S, ["short_exercise"])
    level_all = (kappa * prior + 3.0) / (kappa + 3)
    level_class = (kappa * level_all + 3.0) / (kappa + 3)
    assert shared["short_exercise"] == pytest.approx(level_class)  # then 0-count levels keep it
    assert shared["peer_story"] == pytest.approx(prior)
    expected_own = level_class
    for _ in range(2):  # emotion, emotion x mood: 3 observations each
        expected_own = (kappa * expected_own + 3.0) / (kappa + 3)
    assert own["short_exercise"] == pytest.approx(expected_own)


def test_a_new_person_starts_from_what_helped_everyone(engine: Engine) -> None:
    service = LearningService(POLICY, rng=random.Random(1))
    veteran = _person(engine, "veteran", user_class="vulnerable", dominant_emotion="self_doubt")
    newcomer = _person(engine, "new", user_class="vulnerable", dominant_emotion="self_doubt")
    learner = service.learners["thompson"]
    with Session(engine) as session:
        for _ in range(20):
            learner.learn(session, S, "coping_tip", 1.0, S, veteran.id)
        session.commit()
        state = service.current_state(session, SEALER, newcomer)
        picks = [
            learner.choose(session, state, POLICY.actions, service.rng, newcomer.id)
            for _ in range(50)
        ]
    assert picks.count("coping_tip") >= 45


def test_checkin_events_are_sealed_and_the_reward_is_the_rise(engine: Engine) -> None:
    service = LearningService(POLICY, rng=random.Random(2))
    person = _person(engine, user_class="normal", dominant_emotion="optimism", mood_level=1)
    with Session(engine) as session:
        first = service.answer(session, SEALER, person, 2)
        plan = service.plan_batch(session, SEALER, person)
        second = service.answer(session, SEALER, person, 4)
        service.plan_batch(session, SEALER, person)
        third = service.answer(session, SEALER, person, 3)
        session.commit()
        sealed = [row.sealed for row in session.exec(select(CheckIn))]
        cells = read_cells(session, "q_table", [(EVERYONE, "normal|optimism|2")])
    assert first.reward is None  # nothing to compare with yet
    assert (second.reward, second.action) == (2.0, plan.action)
    assert third.reward == 0.0  # 4 -> 3 did not rise
    assert plan.type_weights[plan.action] == POLICY.focus_weight
    assert cells[(EVERYONE, "normal|optimism|2", plan.action)].value == pytest.approx(
        POLICY.q_table.alpha * 2.0  # next state's row was still all zero
    )
    assert all("feeling" not in s and "optimism" not in s for s in sealed)


def _hammer(engine: Engine, worker: int, updates: int, errors: list[BaseException]) -> None:
    try:
        for i in range(updates):
            with Session(engine) as session:
                apply_q_update(
                    session, "q_table", EVERYONE, "x|y|1", "peer_story", target=1.0, alpha=0.1
                )
                add_observation(
                    session, "thompson", [(EVERYONE, "all", None)], "peer_story", float(worker + i)
                )
                session.commit()
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_parallel_checkins_lose_no_update_on_postgres(engine: Engine) -> None:
    workers, updates = 8, 15
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_hammer, args=(engine, w, updates, errors)) for w in range(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    n = workers * updates
    with Session(engine) as session:
        rows = {r.learner: r for r in session.exec(select(LearnedValue))}
    # n updates towards 1.0 from 0.0 at alpha 0.1, in any order: 1 - 0.9^n
    assert rows["q_table"].visits == n
    assert rows["q_table"].value == pytest.approx(1 - 0.9**n)
    assert rows["thompson"].visits == n
    assert rows["thompson"].total == pytest.approx(
        sum(w + i for w in range(workers) for i in range(updates))
    )


def _checkins(
    engine: Engine, people: list[Person], rounds: int, errors: list[BaseException]
) -> None:
    """Whole check-ins (answer, both learners' updates, the next batch planned), one
    transaction each, for `people` in turn."""
    service = LearningService(POLICY, rng=random.Random(len(errors)))
    try:
        for i in range(rounds):
            for person in people:
                with Session(engine, expire_on_commit=False) as session:
                    answer = service.answer(session, SEALER, person, 2 + (i % 2))
                    service.plan_batch(session, SEALER, person, state=answer.state)
                    session.commit()
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_parallel_whole_checkins_lose_no_update_on_postgres(engine: Engine) -> None:
    """Six writers check in at once for people of one class and emotion, so every check-in
    updates the same shared cells (the Thompson learner's "all", class and emotion cells):
    each rewarded check-in must be counted exactly once."""
    writers, each, rounds = 6, 2, 5
    people = [
        _person(engine, f"w{i}", user_class="vulnerable", dominant_emotion="self_doubt")
        for i in range(writers * each)
    ]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(
            target=_checkins, args=(engine, people[w * each : (w + 1) * each], rounds, errors)
        )
        for w in range(writers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rewarded = len(people) * (rounds - 1)  # the first check-in has nothing to compare with
    with Session(engine) as session:
        everyone = read_cells(session, "thompson", [(EVERYONE, "all")])
        q_cells = list(session.exec(select(LearnedValue).where(LearnedValue.learner == "q_table")))
    assert sum(c.visits for c in everyone.values()) == rewarded
    assert sum(c.visits for c in q_cells) == rewarded
    # feelings alternate 2, 3, 2, ...: rises of 1 on every other rewarded check-in
    rises = len(people) * sum(1 for i in range(1, rounds) if i % 2 == 1)
    assert sum(c.total for c in everyone.values()) == pytest.approx(float(rises))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cell_statements_search_the_unique_index_on_sqlite(engine: Engine) -> None:
    """Every read and update of cells finds them through the unique index by their whole key
    (prefix), never by `learner` alone: otherwise each check-in visits every person's cells."""
    from sqlalchemy.dialects import sqlite

    from bot.learning.store import _q_update, _read, _sums_update

    with engine.connect() as connection:
        for statement in (_read(1), _read(5), _q_update(1), _sums_update(5)):
            sql = str(statement.compile(dialect=sqlite.dialect()))
            plan = [
                row[3]
                for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + sql, tuple(["x"] * sql.count("?"))
                )
            ]
            searches = [p for p in plan if p.startswith(("SEARCH", "SCAN"))]
            assert searches, plan
            assert all("scope=? AND state_key=?" in p for p in searches), plan


def test_a_check_in_reads_its_cells_after_its_own_update(engine: Engine) -> None:
    """Within a transaction a row read once is kept and patched with what the UPDATE returned
    (the database's value), so the next batch is chosen from the cells as updated; a new
    transaction reads afresh and sees what another one committed."""
    row = [(EVERYONE, S.key)]
    with Session(engine) as session:
        assert read_cells(session, "q_table", row) == {}
        apply_q_update(session, "q_table", EVERYONE, S.key, "peer_story", target=1.0, alpha=0.5)
        apply_q_update(session, "q_table", EVERYONE, S.key, "peer_story", target=1.0, alpha=0.5)
        cached = read_cells(session, "q_table", row)
        session.commit()
        with Session(engine) as other:
            apply_q_update(other, "q_table", EVERYONE, S.key, "peer_story", target=1.0, alpha=0.5)
            other.commit()
        fresh = read_cells(session, "q_table", row)
    key = (EVERYONE, S.key, "peer_story")
    assert cached[key].value == pytest.approx(0.75) and cached[key].visits == 2
    assert fresh[key].value == pytest.approx(0.875) and fresh[key].visits == 3


def test_whole_checkin_commits_once_and_a_failure_leaves_nothing(engine: Engine) -> None:
    """The path (store the answer, update both learners, record the next batch) is one
    transaction: one commit, and a failure before it leaves no event and no learned value."""
    from sqlalchemy import event

    person = _person(engine, user_class="vulnerable", dominant_emotion="self_doubt")
    service = LearningService(POLICY, rng=random.Random(1))
    commits: list[int] = []
    event.listen(engine, "commit", lambda _connection: commits.append(1))
    for feeling in (2, 4):
        with Session(engine, expire_on_commit=False) as session:
            answer = service.answer(session, SEALER, person, feeling)
            service.plan_batch(session, SEALER, person, state=answer.state)
            session.commit()
    assert len(commits) == 2  # one per check-in
    with Session(engine) as session:
        events_before = len(session.exec(select(CheckIn)).all())
        cells_before = {
            (c.learner, c.scope, c.state_key, c.action, c.visits, c.value)
            for c in session.exec(select(LearnedValue))
        }
    with pytest.raises(RuntimeError), Session(engine, expire_on_commit=False) as session:
        answer = service.answer(session, SEALER, person, 5)  # a rise: both learners update
        assert answer.reward is not None
        raise RuntimeError("the process fails before choosing the next batch")
    with Session(engine) as session:
        assert len(session.exec(select(CheckIn)).all()) == events_before
        cells_after = {
            (c.learner, c.scope, c.state_key, c.action, c.visits, c.value)
            for c in session.exec(select(LearnedValue))
        }
    assert cells_after == cells_before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("setting", "pragma"), [(None, 2), ("FULL", 2), ("NORMAL", 1)])
def test_sqlite_synchronous_is_full_unless_chosen(
    database_url: str, setting: str | None, pragma: int
) -> None:
    built = (
        make_engine(database_url)
        if setting is None
        else make_engine(
            database_url,
            sqlite_synchronous=setting,  # type: ignore[arg-type]
        )
    )
    with built.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
    built.dispose()
