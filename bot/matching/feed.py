"""Which peers' cards a reader sees: seed 2's knapsack applied to one batch of the feed.

The candidates arrive already filtered by the matching policy (who may see what). We group them
by author mood level × polarity band (seed 2 Fig. 4), allow at most one card per group and per
author, and maximise

    Σ Pos(author level, reader level) × relevance × card-type weight

with at most `batch_size` cards (seed 2's b1) and a total reading load within the budget (b2, in
place of seed 2's days per post). Parameters: policies/knapsack.yaml. The solver is the fast path
with its own deadline; past it the best known feasible batch is shown (status "feasible").
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.domain import MoodLevel, Polarity
from bot.matching.knapsack import Item, Problem, solve
from bot.matching.knapsack_policy import KnapsackPolicy, load_knapsack_policy
from bot.matching.pos import pos_value


@dataclass(frozen=True, slots=True)
class FeedCandidate:
    """One card the reader may see. `author_key` is the sealed author key, opaque here."""

    card_id: int
    author_key: str
    author_level: MoodLevel
    polarity: Polarity
    relevance: float  # similarity of the card to the reader's state, in [0, 1]
    type_weight: float = 1.0  # what this card type is worth to this reader
    reading_load: float = 1.0
    card_type: str | None = None  # policies/card_types.yaml id; what learned weights key on

    def __post_init__(self) -> None:
        if not 0.0 <= self.relevance <= 1.0 or math.isnan(self.relevance):
            raise ValueError(f"card {self.card_id}: relevance must be in [0, 1]")
        if not (math.isfinite(self.type_weight) and self.type_weight >= 0.0):
            raise ValueError(f"card {self.card_id}: type_weight must be a finite number >= 0")
        if not (math.isfinite(self.reading_load) and self.reading_load >= 0.0):
            raise ValueError(f"card {self.card_id}: reading_load must be a finite number >= 0")


@dataclass(frozen=True, slots=True)
class FeedChoice:
    card_ids: tuple[int, ...]  # in display order: most valuable first
    objective: float
    bound: float | None
    status: str  # "optimal" (proved within the policy's gap) | "feasible"
    method: str
    seconds: float


def polarity_band(polarity: Polarity, edges: Sequence[float]) -> int:
    """Band of the author's positive share pos / (pos + neg); 0 is the most negative."""
    total = polarity.pos + polarity.neg
    share = polarity.pos / total if total > 0 else 0.5
    return bisect.bisect_right(list(edges), share)


def card_value(candidate: FeedCandidate, reader_level: MoodLevel | int, alpha: float) -> float:
    return (
        pos_value(candidate.polarity, candidate.author_level, reader_level, alpha)
        * candidate.relevance
        * candidate.type_weight
    )


def build_feed_problem(
    candidates: Sequence[FeedCandidate],
    reader_level: MoodLevel | int,
    policy: KnapsackPolicy,
    batch_size: int,
) -> Problem:
    """Groups by (author level, polarity band); weights (1, reading load); one per author."""
    feed = policy.feed
    groups: dict[tuple[int, int], list[Item]] = {}
    by_author: dict[str, list[str]] = {}
    seen: set[int] = set()
    for c in candidates:
        if c.card_id in seen:
            raise ValueError(f"card {c.card_id} is a candidate twice")
        seen.add(c.card_id)
        key = (int(c.author_level), polarity_band(c.polarity, feed.polarity_band_edges))
        item_id = str(c.card_id)
        groups.setdefault(key, []).append(
            Item(item_id, card_value(c, reader_level, feed.alpha), (1.0, c.reading_load))
        )
        by_author.setdefault(c.author_key, []).append(item_id)
    exclusive = list(by_author.values()) if feed.one_card_per_author else []
    return Problem.build(
        [groups[k] for k in sorted(groups)],
        [float(batch_size), feed.reading_load_budget],
        exclusive,
    )


def with_type_weights(
    candidates: Sequence[FeedCandidate], type_weights: Mapping[str, float] | None
) -> list[FeedCandidate]:
    """Each candidate's card-type weight times the learned weight of its type (bot/learning:
    the type the reader's learner leans towards weighs `focus_weight`, others 1.0), so what was
    learned enters the knapsack's item value Pos x relevance x card-type weight (seed 2's value,
    seed 1 §3.6 step 6's action)."""
    if not type_weights:
        return list(candidates)
    return [
        replace(c, type_weight=c.type_weight * type_weights.get(c.card_type, 1.0))
        if c.card_type is not None
        else c
        for c in candidates
    ]


def choose_feed(
    candidates: Sequence[FeedCandidate],
    reader_level: MoodLevel | int,
    policy: KnapsackPolicy | None = None,
    batch_size: int | None = None,
    type_weights: Mapping[str, float] | None = None,
) -> FeedChoice:
    """The batch of cards for a reader at `reader_level`, best first; `type_weights` are the
    learned weights per card type (bot/learning/service.py:plan_batch)."""
    started = time.perf_counter()
    candidates = with_type_weights(candidates, type_weights)
    policy = policy or load_knapsack_policy()
    size = batch_size if batch_size is not None else policy.feed.batch_size
    if size < 0:
        raise ValueError("batch_size must be >= 0")
    problem = build_feed_problem(candidates, reader_level, policy, size)
    remaining = policy.solver.deadline_seconds - (time.perf_counter() - started)
    solution = solve(
        problem,
        policy.solver.method,
        gap=policy.solver.gap,
        time_limit=max(remaining, 1e-6),
    )
    value = {item.id: item.value for group in problem.groups for item in group}
    ordered = sorted(solution.selected, key=lambda i: (-value[i], int(i)))
    return FeedChoice(
        card_ids=tuple(int(i) for i in ordered),
        objective=solution.objective,
        bound=solution.bound,
        status=solution.status.value,
        method=solution.method,
        seconds=time.perf_counter() - started,
    )
