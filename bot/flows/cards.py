"""Share, read, react, reply, report, withdraw: the inverse social network (seed 1 §3.3-3.5, §3.7).

The anonymity rules of docs/architecture.md are enforced here and in bot/store/cards.py:
- a relayed card or reply is a fresh message from the bot with protect_content set, carrying
  only the scrubbed text: no author name, id, username, language or time;
- notices to an author say "someone", never who;
- toxic cards and replies reach nobody and are flagged for counsellors.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.cards.card_types import CardTypeCatalog, PeerPost
from bot.cards.compose import CardsPolicy, Draft, compose_card
from bot.cards.reading import FeedItem, pick_cards
from bot.conversation import ChoiceHandler, State, TextHandler, Turn, TurnHandler
from bot.domain import Button, ContentClass, MoodLevel, Outbound, Polarity
from bot.emotion.embeddings import embed
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.learning.hooks import FeedLearning
from bot.matching.knapsack_policy import KnapsackPolicy
from bot.matching.visibility import MatchingPolicy
from bot.store.cards import (
    PUBLISHED,
    Reaction,
    author_id,
    create_card,
    own_cards,
    record_view,
    set_reaction,
    withdraw_card,
)
from bot.store.tables import Card

Composer = Callable[[str, str], Draft]
STORY, REPLY = "peer_story", "peer_reply"  # card types (policies/card_types.yaml)


_KB_SEEN_KEPT = 30  # kb cards remembered per reader between reads, so "more" brings new ones


class CardsFlow:
    def __init__(
        self,
        *,
        cards_policy: CardsPolicy,
        matching_policy: MatchingPolicy,
        knapsack_policy: KnapsackPolicy,
        knowledge: KnowledgeBase | None,
        card_types: CardTypeCatalog,
        composer: Composer = compose_card,
        learning: FeedLearning | None = None,
    ) -> None:
        self._policy = cards_policy
        self._matching = matching_policy
        self._knapsack = knapsack_policy
        self._knowledge = knowledge
        self._card_types = card_types
        self._compose = composer
        self._learning = learning  # learned card-type weights, check-ins (bot/flows/checkin.py)

    def commands(self) -> dict[str, TurnHandler]:
        return {"/share": self.share, "/read": self.read, "/mycards": self.my_cards}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"c": self.card_choice}

    def states(self) -> dict[State, TextHandler]:
        return {
            State.COMPOSING: self.composed,
            State.CONFIRMING_CARD: self.composed,  # typing again while a draft waits = new draft
            State.REPLYING: self.replied,
        }

    # -- sharing ---------------------------------------------------------------------------
    def share(self, turn: Turn) -> None:
        turn.set_state(State.COMPOSING)
        turn.say(turn.t("share_prompt", limit=self._max_chars(STORY)))

    def composed(self, turn: Turn, text: str) -> None:
        if not self._fits(turn, text, STORY):
            return
        draft = self._compose(text, turn.language)
        turn.set_state(State.CONFIRMING_CARD, **draft.as_state())
        turn.say(turn.t("share_preview"))
        turn.say(draft.text, is_card=True)
        if draft.removed_summary:
            turn.say(turn.t("share_removed", summary=draft.removed_summary))
        turn.say(
            "👆",
            [
                [
                    Button(turn.t("share_publish"), "c:publish"),
                    Button(turn.t("share_edit"), "c:edit"),
                    Button(turn.t("share_discard"), "c:discard"),
                ]
            ],
        )

    def _peer_type(self, card_type: str) -> PeerPost:
        kind = self._card_types[card_type]
        if not isinstance(kind, PeerPost):
            raise TypeError(f"card type {card_type} is not written by people")
        return kind

    def _max_chars(self, card_type: str) -> int:
        return int(self._peer_type(card_type).options.max_chars)  # type: ignore[attr-defined]

    def _fits(self, turn: Turn, text: str, card_type: str) -> bool:
        """The card type's own limits (policies/card_types.yaml) decide what may be sent."""
        problem = self._peer_type(card_type).text_problem(text)
        if problem == "too_long":
            limit = self._max_chars(card_type)
            turn.say(turn.t("share_too_long", length=len(text), limit=limit))
            return False
        if problem is not None:  # empty is answered before flows; too short
            turn.say(turn.t("share_too_short"))
            return False
        return True

    def _publish(self, turn: Turn) -> None:
        data = turn.data
        if turn.state is not State.CONFIRMING_CARD or "text" not in data:
            turn.say(turn.t("share_nothing_pending"))
            return
        content_class = ContentClass(str(data["content_class"]))
        text = str(data["text"])
        card = create_card(
            session=turn.session,
            sealer=turn.sealer,
            author=turn.person,
            text=text,
            language=turn.language,
            content_class=content_class,
            card_type=STORY,
            mood_level=MoodLevel(turn.person.mood_level or 0),
            polarity=Polarity(float(str(data["pos"])), float(str(data["neg"]))),
            embedding=embed([text])[0],
        )
        turn.set_state(State.IDLE)
        if content_class is ContentClass.TOXIC:
            self._flag_toxic(turn, card, "toxic_card")
            turn.say(turn.t("share_held"), turn.menu_buttons())
        else:
            turn.say(turn.t("share_published"), turn.menu_buttons())

    @staticmethod
    def _me(turn: Turn) -> int:
        assert turn.person.id is not None
        return turn.person.id

    def _flag_toxic(self, turn: Turn, card: Card, kind: str) -> None:
        turn.raise_flag(
            kind=kind,
            categories=[ContentClass.TOXIC.value],
            about_card=True,
            card_id=card.id,
            severity="medium",
        )

    # -- reading ---------------------------------------------------------------------------
    def read(self, turn: Turn) -> None:
        previous = turn.data.get("kb_seen") if turn.state is State.IDLE else None
        kb_seen = [str(x) for x in previous] if isinstance(previous, list) else []
        items = pick_cards(
            session=turn.session,
            sealer=turn.sealer,
            reader=turn.person,
            language=turn.language,
            cards_policy=self._policy,
            matching_policy=self._matching,
            knapsack_policy=self._knapsack,
            knowledge=self._knowledge,
            kb_seen=kb_seen,
            type_weights=self._learning.type_weights(turn) if self._learning else None,
        )
        shown = [item.kb_id for item in items if item.kb_id is not None]
        kb_seen = [x for x in kb_seen if x not in shown] + shown
        turn.set_state(State.IDLE, kb_seen=kb_seen[-_KB_SEEN_KEPT:])
        if not items:
            turn.say(turn.t("read_none"), turn.menu_buttons())
            return
        turn.say(turn.t("read_intro"))
        for item in items:
            self._show(turn, item)
        turn.say("…", [[Button(turn.t("read_more"), "c:more")]])
        if self._learning:
            self._learning.after_batch(turn)

    def _show(self, turn: Turn, item: FeedItem) -> None:
        if item.card_id is None:
            turn.say(f"{turn.t('card_from_kb')}\n\n{item.text}", is_card=True)
            return
        record_view(session=turn.session, person_id=self._me(turn), card_id=item.card_id)
        turn.say(
            item.text, self._card_buttons(turn, item.card_id), protect_content=True, is_card=True
        )

    @staticmethod
    def _card_buttons(turn: Turn, card_id: int) -> list[list[Button]]:
        return [
            [
                Button(turn.t("card_helped"), f"c:helped:{card_id}"),
                Button(turn.t("card_reply"), f"c:reply:{card_id}"),
            ],
            [Button(turn.t("card_report"), f"c:report:{card_id}")],
        ]

    # -- reactions -------------------------------------------------------------------------
    def card_choice(self, turn: Turn, rest: str) -> None:
        action, _, raw_id = rest.partition(":")
        simple: dict[str, TurnHandler] = {
            "publish": self._publish,
            "edit": self.share,
            "discard": self._discard,
            "more": self.read,
        }
        if action in simple:
            simple[action](turn)
            return
        card = turn.session.get(Card, int(raw_id)) if raw_id.isdigit() else None
        if card is not None and action == "withdraw":  # held cards can be withdrawn too
            self._withdraw(turn, card)
            return
        if card is None or card.status != PUBLISHED:
            turn.say(turn.t("card_unavailable"))
            return
        handlers: dict[str, Callable[[Turn, Card], None]] = {
            "helped": self._helped,
            "reply": self._start_reply,
            "report": self._report,
        }
        handler = handlers.get(action)
        if handler is None:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        handler(turn, card)

    def _discard(self, turn: Turn) -> None:
        turn.set_state(State.IDLE)
        turn.say(turn.t("share_discarded"), turn.menu_buttons())

    def _preview(self, card: Card) -> str:
        limit = self._policy.preview_chars
        return card.text if len(card.text) <= limit else card.text[: limit - 1] + "…"

    def _notify_author(
        self, turn: Turn, card: Card, message: Outbound, *, carries: int | None = None
    ) -> None:
        author = author_id(sealer=turn.sealer, card=card)
        if author is not None and author != turn.person.id:
            turn.send_to(author, message, card_id=carries)

    def _helped(self, turn: Turn, card: Card) -> None:
        assert card.id is not None
        outcome = set_reaction(
            session=turn.session, person_id=self._me(turn), card_id=card.id, reaction="helped"
        )
        if outcome is Reaction.UNSEEN:
            turn.say(turn.t("card_unavailable"))
            return
        if outcome is Reaction.SET:  # a double tap tells the author once
            notice = turn.texts.get(card.language, "helped_notice", preview=self._preview(card))
            self._notify_author(turn, card, Outbound(text=notice, protect_content=True))
            if self._learning:
                self._learning.helped(turn, card.card_type)
        # The pressed card's keyboard is gone; a kind reply is still one tap away.
        turn.say(turn.t("helped_thanks"), [[Button(turn.t("card_reply"), f"c:reply:{card.id}")]])

    def _start_reply(self, turn: Turn, card: Card) -> None:
        turn.set_state(State.REPLYING, card_id=card.id)
        turn.say(turn.t("reply_prompt"))

    def replied(self, turn: Turn, text: str) -> None:
        if not self._fits(turn, text, REPLY):
            return
        raw_id = turn.data.get("card_id")
        card = turn.session.get(Card, int(str(raw_id))) if raw_id is not None else None
        if card is None or card.status != PUBLISHED:
            turn.set_state(State.IDLE)
            turn.say(turn.t("card_unavailable"), turn.menu_buttons())
            return
        draft = self._compose(text, turn.language)
        reply = create_card(
            session=turn.session,
            sealer=turn.sealer,
            author=turn.person,
            text=draft.text,
            language=turn.language,
            content_class=draft.content_class,
            card_type=REPLY,
            mood_level=MoodLevel(turn.person.mood_level or 0),
            polarity=draft.polarity,
            embedding=embed([draft.text])[0],
            reply_to_card_id=card.id,
        )
        turn.set_state(State.IDLE)
        if draft.content_class is ContentClass.TOXIC:
            self._flag_toxic(turn, reply, "toxic_reply")
            turn.say(turn.t("reply_held"), turn.menu_buttons())
            return
        assert card.id is not None and reply.id is not None
        set_reaction(
            session=turn.session, person_id=self._me(turn), card_id=card.id, reaction="replied"
        )
        notice = turn.texts.get(
            card.language, "reply_notice", preview=self._preview(card), reply=draft.text
        )
        buttons = ((Button(turn.texts.get(card.language, "card_report"), f"c:report:{reply.id}"),),)
        self._notify_author(
            turn,
            card,
            Outbound(text=notice, buttons=buttons, protect_content=True, is_card=True),
            carries=reply.id,
        )
        turn.say(turn.t("reply_sent"), turn.menu_buttons())

    def _report(self, turn: Turn, card: Card) -> None:
        """A reader reports a card they were shown, or an author a reply they received."""
        assert card.id is not None
        outcome = set_reaction(
            session=turn.session, person_id=self._me(turn), card_id=card.id, reaction="reported"
        )
        if outcome is Reaction.UNSEEN and not self._replied_to_me(turn, card):
            turn.say(turn.t("card_unavailable"))
            return
        if outcome is not Reaction.AGAIN:
            turn.raise_flag(
                kind="report",
                categories=[card.content_class],
                about_card=True,
                card_id=card.id,
                severity="medium",
            )
        turn.say(turn.t("report_thanks"))

    @staticmethod
    def _replied_to_me(turn: Turn, card: Card) -> bool:
        if card.reply_to_card_id is None:
            return False
        original = turn.session.get(Card, card.reply_to_card_id)
        return original is not None and original.author_seal == turn.sealer.author_seal(
            turn.person.key
        )

    # -- the author's own cards ------------------------------------------------------------
    def my_cards(self, turn: Turn) -> None:
        cards = own_cards(session=turn.session, sealer=turn.sealer, person=turn.person)
        if not cards:
            turn.say(turn.t("mycards_none"), turn.menu_buttons())
            return
        turn.say(turn.t("mycards_intro"))
        for number, card in enumerate(cards, start=1):
            held = f" {turn.t('mycards_held')}" if card.status != PUBLISHED else ""
            button = Button(turn.t("mycards_withdraw", number=number), f"c:withdraw:{card.id}")
            turn.say(f"#{number}{held}\n{card.text}", [[button]], is_card=True)

    def _withdraw(self, turn: Turn, card: Card) -> None:
        assert card.id is not None
        if withdraw_card(
            session=turn.session, sealer=turn.sealer, person=turn.person, card_id=card.id
        ):
            turn.say(turn.t("withdrawn"))
        else:
            turn.say(turn.t("card_unavailable"))
