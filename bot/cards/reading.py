"""Choosing the cards one reader sees: who may see what, then the knapsack, then the kb.

1. The matching policy (seed 1 §3.7, policies/matching.yaml) decides which content classes the
   reader's user class may see at all; toxic and held cards never leave the database. Staged
   exposure narrows it further: a reader who feels bad (or is not assessed yet) is offered only
   cards that widened (enough "helped", no report, never restricted) or a counsellor approved.
2. Among the eligible peer cards, the feed knapsack (seed 2, bot/matching/feed.py) picks a batch
   that maximises Pos(author level, reader level) x relevance x card-type weight under the batch
   size and reading-load limits, at most one card per author.
3. A new deployment has few peers: the batch is topped up from the project's own kb/ cards.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session

from bot.cards.compose import CardsPolicy
from bot.domain import ContentClass, MoodLevel, Polarity, UserClass
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.matching.feed import FeedCandidate, choose_feed
from bot.matching.knapsack_policy import KnapsackPolicy
from bot.matching.visibility import MatchingPolicy, may_see
from bot.store.authorship import author_id
from bot.store.cards import bytes_to_vector, feed_candidates
from bot.store.sealing import Sealer
from bot.store.tables import Card, Person

# Seed 2's "days per post" becomes, for a reader, how much there is to take in: one unit of
# reading load is a card of this many characters.
READING_UNIT_CHARS = 1000  # about a minute of reading (knapsack.yaml: reading_load_budget)


@dataclass(frozen=True, slots=True)
class FeedItem:
    text: str
    card_id: int | None = None  # a peer card (reactions possible)
    kb_id: str | None = None  # one of the project's own cards


def reader_class(person: Person, policy: CardsPolicy) -> UserClass:
    return UserClass(person.user_class) if person.user_class else policy.unassessed_reader_class


def relevance(reader: Person, card: Card) -> float:
    """Cosine similarity of the reader's state and the card, mapped to [0, 1]."""
    mine, theirs = bytes_to_vector(reader.state_embedding), bytes_to_vector(card.embedding)
    if mine is None or theirs is None or mine.shape != theirs.shape:
        return 0.5
    return float(np.clip((float(mine @ theirs) + 1.0) / 2.0, 0.0, 1.0))


def pick_cards(
    *,
    session: Session,
    sealer: Sealer,
    reader: Person,
    language: str,
    cards_policy: CardsPolicy,
    matching_policy: MatchingPolicy,
    knapsack_policy: KnapsackPolicy,
    knowledge: KnowledgeBase | None,
    query: str = "",
    kb_seen: Collection[str] = (),
    type_weights: Mapping[str, float] | None = None,
) -> list[FeedItem]:
    """One batch for this reader; `kb_seen` are kb card ids shown lately, offered again only
    when nothing else is near enough; `type_weights` are learned card-type weights
    (bot/learning), for peer cards in the knapsack and for the kb top-up."""
    batch_size = knapsack_policy.feed.batch_size
    klass = reader_class(reader, cards_policy)
    allowed = [c for c in ContentClass if may_see(klass, c, matching_policy)]
    peers = feed_candidates(
        session=session,
        sealer=sealer,
        reader=reader,
        language=language,
        content_classes=allowed,
        limit=cards_policy.candidate_pool,
        first_stage=matching_policy.first_stage(klass),
        helped_to_widen=matching_policy.staged_exposure.helped_to_widen,
    )
    by_id = {card.id: card for card in peers if card.id is not None}
    items: list[FeedItem] = []
    if by_id:
        candidates = [
            FeedCandidate(
                card_id=card_id,
                # at most one card per author: the author is read from the card's sealed link
                # (nothing in the card row groups one author's cards)
                author_key=str(author_id(sealer=sealer, card=card) or card.author_ref),
                author_level=MoodLevel(card.author_mood_level),
                polarity=Polarity(card.polarity_pos, card.polarity_neg),
                relevance=relevance(reader, card),
                type_weight=1.0,
                reading_load=max(len(card.text), 1) / READING_UNIT_CHARS,
                card_type=card.card_type,
            )
            for card_id, card in by_id.items()
        ]
        choice = choose_feed(
            candidates,
            MoodLevel(reader.mood_level or 0),
            knapsack_policy,
            type_weights=type_weights,
        )
        items = [FeedItem(text=by_id[i].text, card_id=i) for i in choice.card_ids]
    missing = batch_size - len(items)
    if missing > 0 and knowledge is not None:
        items.extend(_kb_items(knowledge, language, query, allowed, missing, kb_seen, type_weights))
    return items


def _kb_items(
    knowledge: KnowledgeBase,
    language: str,
    query: str,
    allowed: list[ContentClass],
    count: int,
    seen: Collection[str] = (),
    type_weights: Mapping[str, float] | None = None,
) -> list[FeedItem]:
    """The project's own cards closest to the reader's words, varied between reads: a sample
    from the nearest few rather than always the same top ones, leaving out the ones this reader
    was just shown ("more" used to repeat them)."""
    kb_classes = (ContentClass.INSPIRATIONAL, ContentClass.ENTERTAINING)
    classes: set[ContentClass] = {c for c in allowed if c in kb_classes}
    found = knowledge.search(
        query or "feeling low today", language, n=count * 3 + len(seen), content_classes=classes
    )
    fresh = [card for card in found if card.id not in seen][: count * 3]
    if type_weights:  # weighted sampling without replacement (keys u^(1/w)): learned types first
        weights = type_weights
        fresh.sort(
            key=lambda c: random.random() ** (1.0 / max(weights.get(c.card_type, 1.0), 1e-6))
        )
        chosen = fresh[::-1][:count]
    else:
        chosen = random.sample(fresh, k=min(count, len(fresh)))
    if len(chosen) < count:  # the kb ran out of unseen cards: repeat the least recently shown
        order = {card_id: i for i, card_id in enumerate(seen)}
        again = sorted((c for c in found if c.id in order), key=lambda c: order[c.id])
        chosen += again[: count - len(chosen)]
    return [FeedItem(text=card.text, kb_id=card.id) for card in chosen]
