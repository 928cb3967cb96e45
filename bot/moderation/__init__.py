"""Moderation: the one decision every text bound for another person passes (cards, replies,
anything later relayed), the same in /share, in replies and on the command line.

See `bot.moderation.decision` for the contract: `publish` / `restrict` / `hold`, failing closed.
"""

from bot.moderation.decision import AuthorNames, ModerationDecision, Verdict

__all__ = ["AuthorNames", "ModerationDecision", "Verdict"]
