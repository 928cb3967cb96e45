"""The learners that choose which card type a reader's next batch leans towards.

Both read and write their cells through bot/learning/store.py, in the caller's transaction, so
the conversation, the simulation and the benchmark run exactly this code.

- `QTableLearner`: seed 1 §3.6 step 6. One table for everyone, rows = states (user class,
  dominant emotion, satisfaction level), columns = card types; epsilon-greedy with a decay in the
  state's visits; the update is seed 1's, applied atomically in SQL.
- `ThompsonLearner`: beyond the seed. Rewards are pooled over a hierarchy of shared features,
  everyone -> user class -> emotion -> emotion x mood level -> the person; each level's mean is
  shrunk towards the level above it with `prior_strength` pseudo-observations, so a state seen
  rarely borrows from its neighbours, and a new person starts from what helped people like them
  (a warm start learned from everyone). It samples each card type's value from a Gaussian
  posterior and takes the best sample (Thompson sampling), which explores by itself.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.learning.policy import LearningPolicy
from bot.learning.rules import LearningState, epsilon
from bot.learning.store import (
    EVERYONE,
    Cell,
    Store,
    add_observation,
    apply_q_update,
    person_scope,
    read_cells,
)


class Learner(Protocol):
    name: str

    def choose(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        rng: random.Random,
        person_id: int | None = None,
    ) -> str: ...

    def learn(
        self,
        session: Store,
        state: LearningState,
        action: str,
        reward: float,
        next_state: LearningState,
        person_id: int | None = None,
    ) -> None: ...

    def values(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        person_id: int | None = None,
    ) -> dict[str, float]: ...


def _argmax(values: dict[str, float], rng: random.Random) -> str:
    best = max(values.values())
    return rng.choice([a for a, v in values.items() if v >= best - 1e-12])


class QTableLearner:
    """Seed 1 §3.6 step 6: Q(s,a) <- (1-alpha) Q(s,a) + alpha (r + gamma max_a' Q(s',a'))."""

    name = "q_table"

    def __init__(self, policy: LearningPolicy) -> None:
        self._p = policy.q_table
        self._actions = policy.actions

    def values(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        person_id: int | None = None,
    ) -> dict[str, float]:
        cells = read_cells(session, self.name, [(EVERYONE, state.key)])
        return self._values_of(cells, state.key, actions)

    def _values_of(
        self, cells: Mapping[tuple[str, str, str], Cell], state_key: str, actions: Sequence[str]
    ) -> dict[str, float]:
        """Q(s, a) for each action; a cell never written still holds the initial value."""
        return {
            a: cells[(EVERYONE, state_key, a)].value
            if (EVERYONE, state_key, a) in cells
            else self._p.initial_value
            for a in actions
        }

    def choose(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        rng: random.Random,
        person_id: int | None = None,
    ) -> str:
        cells = read_cells(session, self.name, [(EVERYONE, state.key)])
        visits = sum(c.visits for c in cells.values())
        eps = epsilon(
            visits, self._p.epsilon_start, self._p.epsilon_min, self._p.epsilon_decay_visits
        )
        if rng.random() < eps:
            return rng.choice(list(actions))
        return _argmax(self._values_of(cells, state.key, actions), rng)

    def learn(
        self,
        session: Store,
        state: LearningState,
        action: str,
        reward: float,
        next_state: LearningState,
        person_id: int | None = None,
    ) -> None:
        following = read_cells(session, self.name, [(EVERYONE, next_state.key)])
        next_max = max(self._values_of(following, next_state.key, self._actions).values())
        apply_q_update(
            session,
            self.name,
            EVERYONE,
            state.key,
            action,
            target=reward + self._p.gamma * next_max,
            alpha=self._p.alpha,
            initial_value=self._p.initial_value,
        )


class ThompsonLearner:
    """Hierarchical Gaussian Thompson sampling over shared features (see the module docstring)."""

    name = "thompson"
    PERSON_KEY = "person"

    def __init__(self, policy: LearningPolicy) -> None:
        self._p = policy.thompson

    def _scoped_keys(self, state: LearningState, person_id: int | None) -> list[tuple[str, str]]:
        keys = [(EVERYONE, k) for k in state.feature_keys()]
        if person_id is not None:
            keys.append((person_scope(person_id), self.PERSON_KEY))
        return keys

    def posterior(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        person_id: int | None = None,
    ) -> dict[str, tuple[float, float]]:
        """(mean, sd) per action: each level shrunk towards the one above it."""
        keys = self._scoped_keys(state, person_id)
        cells = read_cells(session, self.name, keys)
        kappa, sd = self._p.prior_strength, self._p.noise_sd
        out: dict[str, tuple[float, float]] = {}
        for action in actions:
            mean, n = self._p.prior_mean, 0
            for scope, key in keys:
                cell = cells.get((scope, key, action))
                n = cell.visits if cell else 0
                total = cell.total if cell else 0.0
                mean = (kappa * mean + total) / (kappa + n)
            out[action] = (mean, sd / math.sqrt(kappa + n))
        return out

    def values(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        person_id: int | None = None,
    ) -> dict[str, float]:
        return {a: m for a, (m, _) in self.posterior(session, state, actions, person_id).items()}

    def choose(
        self,
        session: Store,
        state: LearningState,
        actions: Sequence[str],
        rng: random.Random,
        person_id: int | None = None,
    ) -> str:
        posterior = self.posterior(session, state, actions, person_id)
        samples = {a: rng.gauss(m, s) for a, (m, s) in posterior.items()}
        return _argmax(samples, rng)

    def learn(
        self,
        session: Store,
        state: LearningState,
        action: str,
        reward: float,
        next_state: LearningState,
        person_id: int | None = None,
    ) -> None:
        cells = [
            (scope, key, person_id if scope != EVERYONE else None)
            for scope, key in self._scoped_keys(state, person_id)
        ]
        add_observation(session, self.name, cells, action, reward)


def build_learners(policy: LearningPolicy) -> dict[str, Learner]:
    return {"q_table": QTableLearner(policy), "thompson": ThompsonLearner(policy)}
