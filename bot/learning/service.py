"""What the conversation (and the simulation) asks of learning: one object, one transaction.

The path of a batch and its check-in (seed 1 §3.6 step 6):
1. `plan_batch`: the default learner picks the card type the batch leans towards, given the
   reader's state s = (user class, dominant emotion, last satisfaction); the feed multiplies that
   type's card-type weight by `focus_weight` (bot/matching/feed.py). Recorded as a sealed
   "shown" event.
2. `answer`: the check-in's "how do you feel now" (1-5). The reward is seed 1's: the rise in
   satisfaction since the previous check-in, 0 when it did not rise. Every learner learns from it
   (Q-learning is off-policy; the bandit only needs the reward), so switching the default in
   policies/learning.yaml keeps everything learned. With several batches between two check-ins
   the latest batch's card type is credited.
3. `helped`: "this helped" on a card is an immediate reward of `helped_weight` for its type.

Nothing here knows about buttons or languages: the check-in flow (bot/flows/checkin.py) and the
simulator (bot/sim/learning_sim.py) call the same functions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.learning.learners import Learner, build_learners
from bot.learning.policy import LearningPolicy
from bot.learning.rules import UNKNOWN, LearningState, satisfaction_reward
from bot.learning.store import Event, Store, events, latest_events, record_event
from bot.store.sealing import Sealer
from bot.store.tables import Flag, Person, utcnow

SHOWN, OFFERED, ANSWERED, HELPFUL, SKIPPED, SNOOZED = (
    "shown",
    "offered",
    "answered",
    "helpful",
    "skipped",
    "snoozed",
)
HELPFUL_ANSWERS = ("yes", "a_bit", "no")


@dataclass(frozen=True, slots=True)
class BatchPlan:
    action: str
    learner: str
    type_weights: dict[str, float]


@dataclass(frozen=True, slots=True)
class Answer:
    feeling: int
    reward: float | None  # None: nothing to compare with (first check-in, or no batch between)
    action: str | None
    state: LearningState  # the person's state now, for choosing the next batch without a read
    after_batch: bool  # a batch of cards was shown since the previous check-in


def _state_data(state: LearningState) -> dict[str, object]:
    return {
        "class": state.user_class,
        "emotion": state.emotion,
        "satisfaction": state.satisfaction,
        "mood": state.mood_level,
    }


def _state_from(data: dict[str, object]) -> LearningState:
    return LearningState(
        user_class=str(data.get("class", UNKNOWN)),
        emotion=str(data.get("emotion", UNKNOWN)),
        satisfaction=int(str(data.get("satisfaction", 0))),
        mood_level=int(str(data.get("mood", 0))),
    )


class LearningService:
    def __init__(
        self,
        policy: LearningPolicy,
        learners: dict[str, Learner] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.learners = learners or build_learners(policy)
        self.rng = rng or random.Random()

    @property
    def default(self) -> Learner:
        return self.learners[self.policy.default_learner]

    # -- state -------------------------------------------------------------------------------
    def last_answer(self, session: Store, sealer: Sealer, person_id: int) -> Event | None:
        found = events(session, sealer, person_id, kinds=[ANSWERED], last=1)
        return found[0] if found else None

    def state_of(self, person: Person, satisfaction: int) -> LearningState:
        return LearningState(
            user_class=person.user_class or UNKNOWN,
            emotion=person.dominant_emotion or UNKNOWN,
            satisfaction=satisfaction,
            mood_level=person.mood_level or 0,
        )

    def current_state(self, session: Store, sealer: Sealer, person: Person) -> LearningState:
        assert person.id is not None
        last = self.last_answer(session, sealer, person.id)
        return self.state_of(person, int(str(last.data["feeling"])) if last else 0)

    # -- 1. the batch --------------------------------------------------------------------------
    def plan_batch(
        self,
        session: Store,
        sealer: Sealer,
        person: Person,
        allowed: Sequence[str] | None = None,
        *,
        learner: Learner | None = None,
        at: datetime | None = None,
        state: LearningState | None = None,
    ) -> BatchPlan:
        """Choose the card type this batch leans towards and record it (sealed). `state`: the
        person's state when the caller already knows it (`Answer.state` right after a
        check-in), which saves reading and opening the last answer again."""
        assert person.id is not None
        actions = [a for a in self.policy.actions if allowed is None or a in allowed]
        chooser = learner or self.default
        state = state or self.current_state(session, sealer, person)
        action = chooser.choose(session, state, actions, self.rng, person.id)
        record_event(
            session,
            sealer,
            person.id,
            SHOWN,
            {"action": action, "learner": chooser.name, **_state_data(state)},
            at,
        )
        weights = {a: self.policy.focus_weight if a == action else 1.0 for a in actions}
        return BatchPlan(action, chooser.name, weights)

    # -- 2. the check-in -----------------------------------------------------------------------
    def answer(
        self,
        session: Store,
        sealer: Sealer,
        person: Person,
        feeling: int,
        *,
        at: datetime | None = None,
    ) -> Answer:
        """Store one "how do you feel now" and let every learner learn from it."""
        if feeling not in range(1, 6):
            raise ValueError("feeling must be 1-5")
        assert person.id is not None
        latest = latest_events(session, sealer, person.id, (ANSWERED, SHOWN))
        previous, shown = latest.get(ANSWERED), latest.get(SHOWN)
        batch = shown if shown and (previous is None or shown.id > previous.id) else None
        before = int(str(previous.data["feeling"])) if previous else None
        reward: float | None = None
        action: str | None = None
        next_state = self.state_of(person, feeling)
        if batch is not None and before is not None:
            action = str(batch.data["action"])
            reward = satisfaction_reward(before, feeling)
            state = _state_from(batch.data)
            for learner in self.learners.values():
                learner.learn(session, state, action, reward, next_state, person.id)
        record_event(
            session,
            sealer,
            person.id,
            ANSWERED,
            {"feeling": feeling, "reward": reward, "action": action, **_state_data(next_state)},
            at,
        )
        return Answer(feeling, reward, action, next_state, batch is not None)

    def helpful(
        self,
        session: Session,
        sealer: Sealer,
        person_id: int,
        answer: str,
        at: datetime | None = None,
    ) -> None:
        if answer not in HELPFUL_ANSWERS:
            raise ValueError("unknown helpful answer")
        record_event(session, sealer, person_id, HELPFUL, {"answer": answer}, at)

    # -- 3. "this helped" ----------------------------------------------------------------------
    def helped(
        self,
        session: Store,
        sealer: Sealer,
        person: Person,
        card_type: str,
        *,
        state: LearningState | None = None,
    ) -> bool:
        """An immediate reward for the card's type; False when the type is not an action.
        `state`: the person's state when the caller knows it (as in `plan_batch`)."""
        if card_type not in self.policy.actions or self.policy.helped_weight <= 0:
            return False
        state = state or self.current_state(session, sealer, person)
        for learner in self.learners.values():
            learner.learn(session, state, card_type, self.policy.helped_weight, state, person.id)
        return True

    # -- when to ask ---------------------------------------------------------------------------
    def crisis_quiet(self, session: Session, person_id: int, now: datetime | None = None) -> bool:
        """A crisis flag on this person's case within `crisis_quiet_hours`."""
        rules = self.policy.checkin
        quiet_from = (now or utcnow()) - timedelta(hours=rules.crisis_quiet_hours)
        crisis = session.exec(
            select(Flag.id)
            .where(Flag.person_id == person_id)
            .where(col(Flag.kind).in_(list(rules.crisis_flag_kinds)))
            .where(col(Flag.created_at) >= quiet_from)
        ).first()
        return crisis is not None

    def checkin_due(
        self, session: Session, sealer: Sealer, person: Person, now: datetime | None = None
    ) -> bool:
        """Whether a check-in may be offered now: never during or right after a crisis, never
        while snoozed, never twice within the gap, never more than the week allows."""
        assert person.id is not None
        rules = self.policy.checkin
        now = now or utcnow()
        if self.crisis_quiet(session, person.id, now):
            return False
        week = events(
            session,
            sealer,
            person.id,
            kinds=[OFFERED, SNOOZED, ANSWERED],
            since=now - timedelta(days=7),
        )
        offers = [e for e in week if e.kind == OFFERED]
        if len(offers) >= rules.max_per_week:
            return False
        snoozes = [e for e in week if e.kind == SNOOZED]
        if snoozes and snoozes[-1].at + timedelta(hours=rules.snooze_hours) > now:
            return False
        asked = [e for e in week if e.kind in (OFFERED, ANSWERED)]
        return not (asked and asked[-1].at + timedelta(hours=rules.min_gap_hours) > now)

    def offered(
        self, session: Session, sealer: Sealer, person_id: int, at: datetime | None = None
    ) -> None:
        record_event(session, sealer, person_id, OFFERED, {}, at)

    def skipped(
        self, session: Session, sealer: Sealer, person_id: int, at: datetime | None = None
    ) -> None:
        record_event(session, sealer, person_id, SKIPPED, {}, at)

    def snoozed(
        self, session: Session, sealer: Sealer, person_id: int, at: datetime | None = None
    ) -> None:
        record_event(session, sealer, person_id, SNOOZED, {}, at)
