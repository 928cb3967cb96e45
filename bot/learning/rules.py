"""Seed 1 §3.6 step 6 as pure functions: the state, the reward rule and the Q update.

Seed 1 (needtotalk-inverse-social-network, §3.6 "User Satisfaction and Reinforcement
Learning"):

    Q(s,a) <- (1 - alpha) * Q(s,a) + alpha * (r + gamma * max_a' Q(s',a'))

"If the user's satisfaction_{n+1} - satisfaction_n is <= 0, no rewards are given": the reward
is the rise in satisfaction between two check-ins, and 0 when it did not rise.

Here a state is (user class, dominant emotion, satisfaction level), the satisfaction level being
the answer to the check-in's "how do you feel now" (1-5); an action is a card type
(policies/card_types.yaml). Everything here is free of I/O so the unit tests can check the
numbers by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

SATISFACTION_LEVELS = (1, 2, 3, 4, 5)
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class LearningState:
    """Seed 1's s: who the reader is now (class, emotion) and how they said they feel."""

    user_class: str
    emotion: str
    satisfaction: int  # 1-5; 0 when the person never answered a check-in
    mood_level: int = 0  # seed 2's 0-3, used by the bandit's shared features only

    @property
    def key(self) -> str:
        """The Q-table's row (seed 1's s); mood level is not part of it."""
        return f"{self.user_class}|{self.emotion}|{self.satisfaction}"

    def feature_keys(self) -> tuple[str, ...]:
        """The bandit's levels, coarse to fine: everyone, class, emotion, emotion x mood."""
        return (
            "all",
            f"c:{self.user_class}",
            f"e:{self.emotion}",
            f"em:{self.emotion}|{self.mood_level}",
        )


def satisfaction_reward(before: int | None, after: int) -> float:
    """Seed 1's reward: the rise in satisfaction, 0 when it did not rise (or nothing before)."""
    if before is None:
        return 0.0
    return float(max(after - before, 0))


def q_update(q: float, reward: float, next_max: float, alpha: float, gamma: float) -> float:
    """Seed 1's update of one cell: (1 - alpha) * q + alpha * (reward + gamma * next_max)."""
    return (1.0 - alpha) * q + alpha * (reward + gamma * next_max)


def epsilon(visits: int, start: float, minimum: float, decay_visits: float) -> float:
    """Exploration for a state visited `visits` times: start * d / (d + visits), floored."""
    return max(minimum, start * decay_visits / (decay_visits + max(visits, 0)))
