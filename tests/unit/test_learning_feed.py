"""Learned card-type weights enter the knapsack's item values; the console saves pictures."""

from __future__ import annotations

import io
from pathlib import Path

from bot.channels.console import render
from bot.domain import MoodLevel, Outbound, Polarity
from bot.matching.feed import FeedCandidate, choose_feed, with_type_weights
from bot.matching.knapsack_policy import load_knapsack_policy


def _candidates() -> list[FeedCandidate]:
    """Two cards per author level, one of each type, identical otherwise."""
    return [
        FeedCandidate(
            card_id=level * 10 + i,
            author_key=f"a{level}{i}",
            author_level=MoodLevel(level),
            polarity=Polarity(0.7 if i == 0 else 0.69, 0.3 if i == 0 else 0.31),
            relevance=0.8,
            card_type=card_type,
        )
        for level in range(4)
        for i, card_type in enumerate(("coping_tip", "short_exercise"))
    ]


def test_the_learned_type_wins_the_batch() -> None:
    policy = load_knapsack_policy()
    plain = choose_feed(_candidates(), MoodLevel.MILD, policy, batch_size=3)
    weighted = choose_feed(
        _candidates(), MoodLevel.MILD, policy, batch_size=3, type_weights={"short_exercise": 10.0}
    )
    assert all(card_id % 10 == 0 for card_id in plain.card_ids)  # coping_tip: a bit more positive
    assert weighted.card_ids and all(card_id % 10 == 1 for card_id in weighted.card_ids)
    assert weighted.objective > 9 * plain.objective


def test_weights_multiply_and_leave_untyped_cards_alone() -> None:
    typed, untyped = _candidates()[0], FeedCandidate(1, "x", MoodLevel.NONE, Polarity(1, 1), 0.5)
    out = with_type_weights([typed, untyped], {"coping_tip": 4.0})
    assert out[0].type_weight == 4.0 and out[1].type_weight == 1.0


def test_the_console_saves_a_picture_and_says_where(tmp_path: Path) -> None:
    out = io.StringIO()
    render(Outbound(text="Your check-ins", image_png=b"\x89PNG fake"), out, tmp_path)
    saved = list(tmp_path.glob("*.png"))
    assert len(saved) == 1 and saved[0].read_bytes() == b"\x89PNG fake"
    assert str(saved[0]) in out.getvalue()
