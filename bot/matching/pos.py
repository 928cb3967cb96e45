"""Seed 2's positive function Pos(k, m): how much a reader at mood level m gains from person k.

Seed 2 §V-B2 (knapsack-connections-mood-disorders.txt):

    Pos(k, m) = pos_k / neg_k · {1.0 + α · (n_k − m)}

pos_k and neg_k are k's positive and negative polarity values, n_k is k's mood level and m the
reader's. The first factor rewards people who say more positive than negative things; the second
leans towards people at a similar or more severe level (the paper's hypothesis). α is chosen so
the factor stays positive; the paper uses α = 1/4 and 1/6.
"""

from __future__ import annotations

from bot.domain import MoodLevel, Polarity

# A person with no negative evidence at all would get an infinite ratio; seed 2's data always had
# some. Polarity values here are smoothed shares (bot.emotion.japanese), so this floor only
# guards hand-made inputs.
_NEG_FLOOR = 1e-6


def level_factor(
    author_level: MoodLevel | int, reader_level: MoodLevel | int, alpha: float
) -> float:
    """1 + α·(n_k − m), the level part of Pos(); must stay positive (seed 2 §V-B2)."""
    factor = 1.0 + alpha * (int(author_level) - int(reader_level))
    if factor <= 0.0:
        raise ValueError(
            f"alpha={alpha} makes 1 + alpha*(n - m) = {factor} <= 0 for levels "
            f"{int(author_level)} and {int(reader_level)}; seed 2 requires it to stay positive"
        )
    return factor


def pos_value(
    polarity: Polarity,
    author_level: MoodLevel | int,
    reader_level: MoodLevel | int,
    alpha: float,
) -> float:
    """Pos(k, m) for an author with `polarity` and `author_level`, read by `reader_level`."""
    ratio = polarity.pos / max(polarity.neg, _NEG_FLOOR)
    return ratio * level_factor(author_level, reader_level, alpha)
