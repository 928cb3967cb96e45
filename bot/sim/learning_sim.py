"""Synthetic people for the learners: `needtotalk simulate` and benchmarks/learning.py.

Each simulated person has a user class, a dominant emotion (seed 1 Fig. 4), a mood level (seed 2)
and a hidden response to each card type: a class effect, plus an emotion effect, plus a personal
one, drifting slowly (a random walk). Every day they live a day, get one batch of cards and,
most days, answer the check-in just after it. Their latent satisfaction x moves in two steps:

1. life between two check-ins: a slow pull towards their own baseline (`mean_reversion`), the
   day's noise, and on some days a setback: with probability `setback_rate`, when x is above
   the baseline, life takes back a share U(setback_share_min, setback_share_max) of the height
   above it (a bad night, a quarrel, bad news); below the baseline, with probability
   `recovery_rate`, the same share of the gap closes by itself (a bad patch ends);
2. the batch: x rises (or falls) by the mean hidden effect of the cards shown.

The check-in's "how do you feel now" is x rounded and clipped to 1-5. Seed 1's reward is the
rise of that answer since the previous check-in, 0 when it did not rise. Why setbacks: the
previous check-in was answered just after the previous batch, so a lift that merely wears off
smoothly is netted against the next lift inside the same difference, and every steady policy,
good or bad, earns only the noise (docs/learning.md works this through). A setback is not
netted: it falls inside one interval, and the cards that help earn the climb back.

The path is the conversation's own: `LearningService.plan_batch` (the learner's choice),
`choose_feed` (the knapsack with the learned card-type weights, over synthetic candidates of
every type), `LearningService.helped` for each "this helped" tap and `LearningService.answer`
for each check-in. Their cells and events live in a `MemoryStore` by default (the same
functions of bot/learning/store.py, minus the SQL), or on a real SQLite database with
`store="sqlite"`; both give identical figures (tested). Four arms run on identical people and
identical daily noise: the Thompson learner, seed 1's Q-table, a random policy and an oracle
that knows each person's hidden effects today and picks the best allowed card type.
"""

from __future__ import annotations

import contextlib
import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.domain import EMOTIONS, MoodLevel, Polarity, UserClass
from bot.learning.learners import Learner, QTableLearner, ThompsonLearner
from bot.learning.policy import LearningPolicy, SimulationPolicy
from bot.learning.rules import LearningState
from bot.learning.service import LearningService
from bot.learning.store import MemoryStore, Store
from bot.matching.feed import FeedCandidate, choose_feed
from bot.matching.knapsack_policy import KnapsackPolicy
from bot.store.engine import make_engine, upgrade
from bot.store.sealing import Sealer
from bot.store.tables import Person

ARMS = ("thompson", "q_table", "random", "oracle")
STORES = ("memory", "sqlite")
FEELING_BAD = (UserClass.VULNERABLE, UserClass.HARMFUL)
RESTRICTED = "peer_question"  # only for readers who may see vulnerable cards (seed 1 §3.7)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class SimPerson:
    index: int
    user_class: UserClass
    emotion: str
    mood_level: int
    baseline: float
    x: float
    effects: np.ndarray  # hidden effect of each action, drifting
    allowed: tuple[str, ...]
    row_id: int = 0

    @property
    def feeling(self) -> int:
        """The check-in's answer: latent satisfaction rounded and clipped to 1-5."""
        return min(max(round(self.x), 1), 5)


def live_between(person: SimPerson, sim: SimulationPolicy, life: random.Random) -> None:
    """Life since the last check-in: the slow pull to the baseline, noise, and on some days a
    setback (above the baseline) or a recovery (below it). The same draws are made whatever
    happens, so every arm sees the same life."""
    gap = person.baseline - person.x
    person.x += sim.mean_reversion * gap + life.gauss(0, sim.daily_noise_sd)
    event, share = life.random(), life.uniform(sim.setback_share_min, sim.setback_share_max)
    gap = person.baseline - person.x
    if (gap < 0 and event < sim.setback_rate) or (gap > 0 and event < sim.recovery_rate):
        person.x += share * gap
    person.x = min(max(person.x, 0.5), 5.5)


def read_batch(person: SimPerson, shown: Sequence[str], actions: Sequence[str]) -> None:
    """The batch's lift: the mean hidden effect of the cards shown."""
    if shown:
        index = list(actions)
        effect = sum(float(person.effects[index.index(t)]) for t in shown) / len(shown)
        person.x = min(max(person.x + effect, 0.5), 5.5)


def live_a_day(
    person: SimPerson,
    shown: Sequence[str],
    actions: Sequence[str],
    sim: SimulationPolicy,
    life: random.Random,
) -> None:
    """A day: life since the last check-in, then the batch of cards `shown`."""
    live_between(person, sim, life)
    read_batch(person, shown, actions)


class RandomLearner:
    """Chooses uniformly; learns nothing."""

    name = "random"

    def choose(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        rng: random.Random,
        person_id: int | None = None,
    ) -> str:
        return rng.choice(list(actions))

    def learn(self, *args: object, **kwargs: object) -> None:
        return None

    def values(self, *args: object, **kwargs: object) -> dict[str, float]:
        return {}


class OracleLearner(RandomLearner):
    """Knows every person's hidden effects today and picks the best allowed card type."""

    name = "oracle"

    def __init__(self, actions: Sequence[str]) -> None:
        self._actions = list(actions)
        self.current: SimPerson | None = None

    def choose(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        rng: random.Random,
        person_id: int | None = None,
    ) -> str:
        assert self.current is not None
        effects = self.current.effects
        return max(actions, key=lambda a: effects[self._actions.index(a)])


@dataclass
class ArmResult:
    name: str
    rewards: list[float] = field(default_factory=list)  # seed 1's reward, per check-in
    helped: list[int] = field(default_factory=list)  # "this helped" taps, per batch
    per_day: list[list[float]] = field(default_factory=list)
    final_feeling: list[int] = field(default_factory=list)

    @property
    def mean_reward(self) -> float:
        return float(np.mean(self.rewards)) if self.rewards else 0.0

    @property
    def helped_rate(self) -> float:
        return float(np.mean(self.helped)) if self.helped else 0.0


@dataclass
class SimResult:
    people: int
    days: int
    seed: int
    arms: dict[str, ArmResult]
    seconds: float
    checkin_ms: list[float]  # one check-in's whole path (answer + learn), per arm "thompson"

    def curve(self, arm: str) -> list[float]:
        return [float(np.mean(day)) if day else 0.0 for day in self.arms[arm].per_day]


def make_people(
    count: int, seed: int, policy: LearningPolicy, rng: np.random.Generator | None = None
) -> list[SimPerson]:
    """The hidden population: identical for every arm with the same seed."""
    sim = policy.simulation
    rng = rng or np.random.default_rng(seed)
    actions = list(policy.actions)
    n = len(actions)
    classes = list(UserClass)
    class_effect = {c: rng.normal(0.0, sim.class_effect_sd, n) for c in classes}
    emotion_effect = {e.value: rng.normal(0.0, sim.emotion_effect_sd, n) for e in EMOTIONS}
    people = []
    for i in range(count):
        emotion = EMOTIONS[int(rng.integers(len(EMOTIONS)))]
        klass = emotion.user_class
        effects = (
            class_effect[klass]
            + emotion_effect[emotion.value]
            + rng.normal(0, sim.person_effect_sd, n)
        )
        allowed = tuple(a for a in actions if not (a == RESTRICTED and klass in FEELING_BAD))
        people.append(
            SimPerson(
                index=i,
                user_class=klass,
                emotion=emotion.value,
                mood_level=int(rng.integers(4)),
                baseline=float(rng.uniform(2.0, 3.0)),
                x=float(rng.uniform(1.5, 3.0)),
                effects=effects,
                allowed=allowed,
            )
        )
    return people


def _candidates(
    rng: random.Random, actions: Sequence[str], per_type: int
) -> tuple[list[FeedCandidate], dict[int, str]]:
    cands: list[FeedCandidate] = []
    types: dict[int, str] = {}
    for a in actions:
        for _ in range(per_type):
            cid = len(cands) + 1
            pos = rng.uniform(0.5, 0.9)  # cards that reach readers lean positive
            cands.append(
                FeedCandidate(
                    card_id=cid,
                    author_key=f"author-{cid}",
                    author_level=MoodLevel(rng.randrange(4)),
                    polarity=Polarity(pos, 1.0 - pos),
                    relevance=rng.uniform(0.3, 1.0),
                    reading_load=rng.uniform(0.2, 1.0),
                    card_type=a,
                )
            )
            types[cid] = a
    return cands, types


class _DailyFeed:
    """The day's candidate cards, one pool per reader mood level (what peers wrote that day),
    filtered by what each reader may see; the real feed knapsack (`choose_feed`) picks each
    batch. The same pool, reader level, card types allowed and learned weights make the same
    knapsack problem, so its answer is kept and reused for the next reader who brings it: at
    most days x 4 levels x 2 type sets x the weights the learner can give, instead of one
    solve per person-day."""

    def __init__(
        self, seed: int, actions: Sequence[str], policy: LearningPolicy, knapsack: KnapsackPolicy
    ) -> None:
        self._seed, self._actions, self._knapsack = seed, list(actions), knapsack
        self._sim = policy.simulation
        self._pools: dict[tuple[int, int], tuple[list[FeedCandidate], dict[int, str]]] = {}
        self._batches: dict[tuple[object, ...], tuple[str, ...]] = {}

    def batch(self, day: int, person: SimPerson, type_weights: dict[str, float]) -> tuple[str, ...]:
        weights = tuple(sorted(type_weights.items()))
        key = (day, person.mood_level, person.allowed, weights)
        if key not in self._batches:
            pool_key = (day, person.mood_level)
            if pool_key not in self._pools:
                draws = random.Random(f"feed/{self._seed}/{day}/{person.mood_level}")
                self._pools[pool_key] = _candidates(draws, self._actions, self._sim.cards_per_type)
            pool, types = self._pools[pool_key]
            choice = choose_feed(
                [c for c in pool if c.card_type in person.allowed],
                MoodLevel(person.mood_level),
                self._knapsack,
                batch_size=self._sim.batch_size,
                type_weights=type_weights,
            )
            self._batches[key] = tuple(types[c] for c in choice.card_ids)
        return self._batches[key]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def run_arm(
    name: str,
    people: list[SimPerson],
    days: int,
    seed: int,
    policy: LearningPolicy,
    knapsack: KnapsackPolicy,
    engine: Engine | None,
    tick: Callable[[], None] = lambda: None,
) -> tuple[ArmResult, list[float]]:
    """One arm on `engine` (a database), or in a MemoryStore when `engine` is None."""
    sim = policy.simulation
    actions = list(policy.actions)
    sealer = Sealer(f"simulation-{seed}")
    learner: Learner
    oracle = None
    if name == "thompson":
        learner = ThompsonLearner(policy)
    elif name == "q_table":
        learner = QTableLearner(policy)
    elif name == "random":
        learner = RandomLearner()
    else:
        oracle = OracleLearner(actions)
        learner = oracle
    service = LearningService(policy, learners={learner.name: learner}, rng=random.Random(seed))
    result = ArmResult(name)
    timings: list[float] = []
    rows = []
    for p in people:
        rows.append(
            Person(
                key=f"sim-{seed}-{p.index}",
                user_class=p.user_class.value,
                dominant_emotion=p.emotion,
                mood_level=p.mood_level,
                consented_at=START,
            )
        )
    if engine is None:
        for p, row in zip(people, rows, strict=True):
            row.id = p.index + 1
    else:
        with Session(engine, expire_on_commit=False) as db:
            db.add_all(rows)
            db.commit()
    for p, row in zip(people, rows, strict=True):
        assert row.id is not None
        p.row_id = row.id
    memory = MemoryStore()
    feed = _DailyFeed(seed, actions, policy, knapsack)
    for day in range(days):
        today: list[float] = []
        at = START + timedelta(days=day)
        with contextlib.ExitStack() as stack:
            session: Store = (
                memory
                if engine is None
                else stack.enter_context(Session(engine, expire_on_commit=False))
            )
            for p, row in zip(people, rows, strict=True):
                # the same life for every arm: noise drawn from (seed, person, day) alone
                life = random.Random(f"life/{seed}/{p.index}/{day}")
                if oracle is not None:
                    oracle.current = p
                live_between(p, sim, life)
                plan = service.plan_batch(session, sealer, row, p.allowed, learner=learner, at=at)
                shown = feed.batch(day, p, plan.type_weights)
                read_batch(p, shown, actions)
                taps = 0
                for t in shown:
                    z = sim.helped_scale * p.effects[actions.index(t)] - 1.0
                    if life.random() < _sigmoid(z):
                        taps += 1
                        service.helped(session, sealer, row, t)
                result.helped.append(taps)
                if life.random() < sim.checkin_rate:
                    feeling = p.feeling
                    started = time.perf_counter()
                    answer = service.answer(
                        session, sealer, row, feeling, at=at + timedelta(hours=1)
                    )
                    timings.append((time.perf_counter() - started) * 1000)
                    if answer.reward is not None:
                        result.rewards.append(answer.reward)
                        today.append(answer.reward)
                if day == days - 1:
                    result.final_feeling.append(p.feeling)
                p.effects = p.effects + np.asarray([life.gauss(0, sim.drift_sd) for _ in actions])
                tick()
            if isinstance(session, Session):
                session.commit()
        result.per_day.append(today)
    return result, timings


def _one_arm(
    arm: str,
    people: int,
    days: int,
    seed: int,
    policy: LearningPolicy,
    knapsack: KnapsackPolicy,
    directory: str | None,
    tick: Callable[[], None] = lambda: None,
) -> tuple[ArmResult, list[float]]:
    """One arm in memory (`directory` None) or on its own SQLite database in `directory`."""
    population = make_people(people, seed, policy)
    if directory is None:
        return run_arm(arm, population, days, seed, policy, knapsack, None, tick)
    engine = make_engine(f"sqlite:///{Path(directory) / f'{arm}.db'}")
    upgrade(engine)
    try:
        return run_arm(arm, population, days, seed, policy, knapsack, engine, tick)
    finally:
        engine.dispose()


_Job = tuple[str, int, int, int, LearningPolicy, KnapsackPolicy, str | None, Any]


def _ticking_arm(job: _Job) -> tuple[ArmResult, list[float]]:
    """One arm in a worker process; progress goes back through the queue 100 ticks at a time."""
    arm, people, days, seed, policy, knapsack, directory, queue = job
    count = [0]

    def tick() -> None:
        count[0] += 1
        if count[0] == 100:
            queue.put(count[0])
            count[0] = 0

    try:
        return _one_arm(arm, people, days, seed, policy, knapsack, directory, tick)
    finally:
        queue.put(count[0])


def run_simulation(
    people: int,
    days: int,
    seed: int,
    policy: LearningPolicy,
    knapsack: KnapsackPolicy,
    *,
    arms: Sequence[str] = ARMS,
    workdir: Path | None = None,
    tick: Callable[[], None] = lambda: None,
    workers: int = 1,
    store: str = "memory",
) -> SimResult:
    """Every arm in its own MemoryStore (`store` "memory") or on its own fresh SQLite database
    (`store` "sqlite", in `workdir`, a temporary one by default); with `workers` > 1 the arms
    run in that many processes. `tick` is called once per person-day (the progress bar)."""
    if store not in STORES:
        raise ValueError(f"store must be one of {STORES}")
    started = time.perf_counter()
    results: dict[str, ArmResult] = {}
    timings: list[float] = []
    with tempfile.TemporaryDirectory(dir=workdir) as made:
        tmp = made if store == "sqlite" else None
        if workers <= 1:
            outcomes = [
                _one_arm(arm, people, days, seed, policy, knapsack, tmp, tick) for arm in arms
            ]
        else:
            outcomes = _parallel(arms, people, days, seed, policy, knapsack, tmp, tick, workers)
        for arm, (result, arm_timings) in zip(arms, outcomes, strict=True):
            results[arm] = result
            if arm == policy.default_learner:
                timings = arm_timings
    return SimResult(people, days, seed, results, time.perf_counter() - started, timings)


def _parallel(
    arms: Sequence[str],
    people: int,
    days: int,
    seed: int,
    policy: LearningPolicy,
    knapsack: KnapsackPolicy,
    directory: str | None,
    tick: Callable[[], None],
    workers: int,
) -> list[tuple[ArmResult, list[float]]]:
    import multiprocessing
    import queue as queue_module
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no forked database connections
    with context.Manager() as manager:
        ticks = manager.Queue()
        jobs: list[_Job] = [
            (arm, people, days, seed, policy, knapsack, directory, ticks) for arm in arms
        ]
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_ticking_arm, job) for job in jobs]
            while not all(f.done() for f in futures):
                try:
                    for _ in range(ticks.get(timeout=0.2)):
                        tick()
                except queue_module.Empty:
                    pass
            while True:
                try:
                    for _ in range(ticks.get_nowait()):
                        tick()
                except queue_module.Empty:
                    break
            return [f.result() for f in futures]
