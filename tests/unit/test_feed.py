"""choose_feed: seed 2's knapsack over a reader's candidate cards."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.domain import MoodLevel, Polarity
from bot.matching.feed import (
    FeedCandidate,
    build_feed_problem,
    card_value,
    choose_feed,
    polarity_band,
)
from bot.matching.knapsack_policy import KnapsackPolicy, load_knapsack_policy
from bot.matching.pos import level_factor, pos_value
from bot.policies import PolicyFileError


def candidate(
    card_id: int,
    author: str,
    level: int,
    pos: float = 0.6,
    relevance: float = 0.8,
    load: float = 1.0,
) -> FeedCandidate:
    return FeedCandidate(
        card_id=card_id,
        author_key=author,
        author_level=MoodLevel(level),
        polarity=Polarity(pos=pos, neg=1.0 - pos),
        relevance=relevance,
        type_weight=1.0,
        reading_load=load,
    )


def test_pos_follows_seed2() -> None:
    # Seed 2 §V-B2 with alpha = 1/4: a level-1 author read by a level-3 reader gets 1 - 2/4.
    assert level_factor(1, 3, 0.25) == pytest.approx(0.5)
    assert pos_value(Polarity(0.6, 0.3), 3, 3, 0.25) == pytest.approx(2.0)
    assert pos_value(Polarity(0.6, 0.3), 0, 3, 1 / 6) == pytest.approx(2.0 * 0.5)
    with pytest.raises(ValueError, match="positive"):
        level_factor(0, 3, 0.4)


def test_polarity_bands_split_the_positive_share() -> None:
    edges = (0.4, 0.6)
    assert polarity_band(Polarity(0.2, 0.8), edges) == 0
    assert polarity_band(Polarity(0.5, 0.5), edges) == 1
    assert polarity_band(Polarity(0.9, 0.1), edges) == 2


def test_the_batch_respects_size_load_groups_and_authors() -> None:
    cands = [
        candidate(i, f"author{i % 4}", level=i % 4, pos=0.3 + 0.05 * (i % 9), load=0.5 + (i % 3))
        for i in range(1, 41)
    ]
    policy = load_knapsack_policy()
    choice = choose_feed(cands, MoodLevel.SEVERE, batch_size=4)
    assert choice.status == "optimal"
    assert 0 < len(choice.card_ids) <= 4
    by_id = {c.card_id: c for c in cands}
    picked = [by_id[i] for i in choice.card_ids]
    assert len({c.author_key for c in picked}) == len(picked)
    edges = policy.feed.polarity_band_edges
    groups = {(int(c.author_level), polarity_band(c.polarity, edges)) for c in picked}
    assert len(groups) == len(picked)
    assert sum(c.reading_load for c in picked) <= policy.feed.reading_load_budget + 1e-9
    values = [card_value(c, 3, policy.feed.alpha) for c in picked]
    assert values == sorted(values, reverse=True)  # display order: most valuable first
    assert choice.objective == pytest.approx(sum(values))


def test_the_batch_is_the_best_one_by_enumeration() -> None:
    cands = [
        candidate(1, "a", 3, pos=0.5, relevance=0.9, load=2.0),
        candidate(2, "a", 2, pos=0.8, relevance=0.9, load=1.0),  # same author as 1
        candidate(3, "b", 3, pos=0.5, relevance=0.6, load=1.5),  # same group as 1
        candidate(4, "c", 0, pos=0.9, relevance=1.0, load=0.5),
        candidate(5, "d", 1, pos=0.3, relevance=0.7, load=3.0),
        candidate(6, "e", 2, pos=0.35, relevance=1.0, load=1.0),
    ]
    policy = load_knapsack_policy()
    problem = build_feed_problem(cands, 3, policy, 3)
    best = 0.0
    edges = policy.feed.polarity_band_edges
    for size in range(4):
        for combo in itertools.combinations(cands, size):
            groups = {(int(c.author_level), polarity_band(c.polarity, edges)) for c in combo}
            authors = {c.author_key for c in combo}
            load = sum(c.reading_load for c in combo)
            if len(groups) == len(authors) == size and load <= policy.feed.reading_load_budget:
                best = max(best, sum(card_value(c, 3, policy.feed.alpha) for c in combo))
    choice = choose_feed(cands, 3, batch_size=3)
    assert choice.objective == pytest.approx(best)
    assert len(problem.exclusive) == 5


def test_a_severe_reader_leans_towards_severe_authors_when_all_else_is_equal() -> None:
    cands = [candidate(level + 1, f"a{level}", level) for level in range(4)]
    assert choose_feed(cands, MoodLevel.SEVERE, batch_size=1).card_ids == (4,)
    assert choose_feed(cands, MoodLevel.NONE, batch_size=1).card_ids == (4,)  # α·(n−m) > 0
    # With the same polarity, Pos grows with the author's level whoever reads: seed 2's factor.
    alpha = load_knapsack_policy().feed.alpha
    assert card_value(cands[3], 0, alpha) > card_value(cands[0], 0, alpha)


def test_no_candidates_and_a_zero_batch_show_nothing() -> None:
    assert choose_feed([], MoodLevel.MILD).card_ids == ()
    assert choose_feed([candidate(1, "a", 2)], MoodLevel.MILD, batch_size=0).card_ids == ()


def test_bad_candidates_are_refused() -> None:
    with pytest.raises(ValueError, match="relevance"):
        candidate(1, "a", 2, relevance=1.5)
    with pytest.raises(ValueError, match="twice"):
        choose_feed([candidate(1, "a", 2), candidate(1, "b", 2)], MoodLevel.MILD)


def test_the_policy_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "knapsack.yaml"
    bad.write_text("feed:\n  alpha: 0.5\n", "utf-8")
    with pytest.raises(PolicyFileError, match=r"feed\.alpha"):
        load_knapsack_policy(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("feed:\n  batch_sise: 3\n", "utf-8")
    with pytest.raises(PolicyFileError, match="batch_sise"):
        load_knapsack_policy(typo)
    good = tmp_path / "good.yaml"
    good.write_text("feed:\n  batch_size: 2\nsolver:\n  method: exact\n", "utf-8")
    policy = load_knapsack_policy(good)
    assert isinstance(policy, KnapsackPolicy) and policy.feed.batch_size == 2
    cands = [candidate(i, f"a{i}", i % 4, pos=0.2 + 0.1 * i) for i in range(1, 8)]
    choice = choose_feed(cands, MoodLevel.EARLY, policy=policy)
    assert choice.method == "exact" and len(choice.card_ids) == 2
