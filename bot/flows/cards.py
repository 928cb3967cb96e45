"""Share, read, react, reply, report, withdraw: the inverse social network (seed 1 §3.3-3.5, §3.7).

The safety and anonymity rules of docs/architecture.md are enforced here and in bot/store/cards.py:
- every text bound for another person (a card, a reply) passes the Moderator and is previewed
  by its author before it goes: `hold` reaches nobody and is flagged for counsellors, crisis
  language is held and answered at once with helplines, `restrict` reaches only readers who
  feel good, `publish` starts with them and widens by staged exposure;
- a relayed card or reply is a fresh message from the bot with protect_content set, carrying
  only the scrubbed text: no author name, id, username, language or time;
- buttons carry an opaque per-delivery token, never a card id: a reaction acts only on what was
  delivered to the person pressing it, and anything refused is answered exactly like a card
  that does not exist;
- notices to an author say "someone", never who;
- cards, deliveries, reactions and card flags are written through `turn.anon`, messages for
  other people through `turn.outbox`: transactions apart from the one that updates the person
  pressing or writing (docs/privacy.md, transaction hygiene). The person's own key and index
  are read and written in `turn.session` (`keys=`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.cards.card_types import CardTypeCatalog, PeerPost
from bot.cards.compose import CardsPolicy, Draft, compose
from bot.cards.limits import Action, Limiter, minutes_until
from bot.cards.reading import FeedItem, pick_cards, reader_class
from bot.conversation import (
    IDLE,
    ChoiceGuard,
    ChoiceHandler,
    Flow,
    MenuEntry,
    TextHandler,
    Turn,
    TurnHandler,
    only_choices,
)
from bot.domain import Button, ContentClass, MoodLevel, Outbound, UserClass
from bot.emotion.embeddings import cached_embedding
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.learning.hooks import FeedLearning
from bot.matching.knapsack_policy import KnapsackPolicy
from bot.matching.visibility import MatchingPolicy
from bot.moderation.decision import Verdict
from bot.moderation.pipeline import Moderator
from bot.moderation.policy import load_moderation_policy
from bot.store.authorship import author_id, is_author
from bot.store.cards import (
    PUBLISHED,
    UNDER_REVIEW,
    DeliveryKind,
    create_card,
    deliver,
    delivery_for,
    held_toxic_since,
    mark_helped,
    mark_replied,
    mark_reported,
    own_card_for_token,
    own_cards,
    withdraw_card,
    withdraw_token,
)
from bot.store.cases import is_restricted, open_approval_case, settle_approval
from bot.store.keys import ensure_person_key, seal_for, unseal_for
from bot.store.sealing import SealError
from bot.store.tables import Card, CardDelivery, Person, today

NAME = "cards"
COMPOSING = f"{NAME}.composing"  # the next text is a card
REPLYING = f"{NAME}.replying"  # the next text is a reply to the delivery in the state data
CONFIRMING = f"{NAME}.confirming"  # a draft (card or reply) waits for publish / edit / discard
PREFIX = "c"
# While a draft waits, only its own buttons act: an old button must not throw it away.
DRAFT_CHOICES = frozenset({f"{PREFIX}:publish", f"{PREFIX}:edit", f"{PREFIX}:discard"})
STORY, REPLY = "peer_story", "peer_reply"  # card types (policies/card_types.yaml)
REPLY_DRAFT = "reply"  # state data "draft": the text waiting for "send" is a reply
REPLY_TO_PURPOSE = "person.state_data.delivery"  # the delivery being answered, sealed

_KB_SEEN_KEPT = 30  # kb cards remembered per reader between reads, so "more" brings new ones

DeliveryHandler = Callable[[Turn, CardDelivery, Card], None]


class CardsFlow(Flow):
    name = NAME

    def __init__(
        self,
        *,
        cards_policy: CardsPolicy,
        matching_policy: MatchingPolicy,
        knapsack_policy: KnapsackPolicy,
        knowledge: KnowledgeBase | None,
        card_types: CardTypeCatalog,
        moderator: Callable[[], Moderator],
        learning: FeedLearning | None = None,
        limiter: Limiter | None = None,
        retention_days: int = 30,
    ) -> None:
        """`moderator` is called once, on the first text to moderate: loading the content model
        must not hold up a bot starting (or a person who only wants to talk). `limiter`: the
        per-person limits of policies/limits.yaml (none: no limit, for tests of other rules).
        `retention_days`: policies/safety.yaml's, for the cases this flow resolves itself."""
        self._limiter = limiter
        self._retention_days = retention_days
        self._policy = cards_policy
        self._matching = matching_policy
        self._knapsack = knapsack_policy
        self._knowledge = knowledge
        self._card_types = card_types
        self._make_moderator = moderator
        self._moderator_made: Moderator | None = None
        self._learning = learning  # learned card-type weights, check-ins (bot/flows/checkin.py)

    @property
    def _moderator(self) -> Moderator:
        if self._moderator_made is None:
            self._moderator_made = self._make_moderator()
        return self._moderator_made

    def commands(self) -> dict[str, TurnHandler]:
        return {"/share": self.share, "/read": self.read, "/mycards": self.my_cards}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {PREFIX: self.card_choice}

    def states(self) -> dict[str, TextHandler]:
        return {
            COMPOSING: self.composed,
            CONFIRMING: self.typed_again,  # typing while a draft waits = new draft
            REPLYING: self.replied,
        }

    def guards(self) -> dict[str, ChoiceGuard]:
        return {CONFIRMING: only_choices(DRAFT_CHOICES, reminder="draft_waiting")}

    def menu(self) -> tuple[MenuEntry, ...]:
        return (MenuEntry("/read", "menu_read"), MenuEntry("/share", "menu_share"))

    # -- sharing ---------------------------------------------------------------------------
    def _paused(self, turn: Turn, what: str) -> bool:
        """A counsellor paused this person's sharing or replying (bot/store/cases.py): say so
        kindly and keep nothing they send for others meanwhile."""
        if turn.person.id is None or not is_restricted(turn.session, turn.person.id, what):
            return False
        turn.set_state(IDLE)
        turn.say(turn.t(f"{what}_paused"), turn.menu_buttons())
        return True

    def share(self, turn: Turn) -> None:
        if self._paused(turn, "share"):
            return
        turn.set_state(COMPOSING)
        turn.say(turn.t("share_prompt", limit=self._max_chars(STORY)))

    def typed_again(self, turn: Turn, text: str) -> None:
        if turn.data.get("draft") == REPLY_DRAFT:
            self.replied(turn, text)
        else:
            self.composed(turn, text)

    def composed(self, turn: Turn, text: str) -> None:
        if self._paused(turn, "share") or not self._fits(turn, text, STORY):
            return
        draft = compose(self._moderator, text, turn.language, turn.inbound.author_names)
        if draft.crisis:
            self._store(turn, draft, STORY)
            turn.set_state(IDLE)
            turn.answer_crisis(categories=draft.crisis_categories, text=draft.text)
            turn.say(turn.t("share_held_crisis"))
            return
        turn.set_state(CONFIRMING, **draft.as_state())
        turn.say(turn.t("share_preview"))
        self._preview_draft(turn, draft, publish_label=turn.t("share_publish"))

    def _preview_draft(self, turn: Turn, draft: Draft, *, publish_label: str) -> None:
        turn.say(draft.text, is_card=True)
        if draft.removed_summary:
            turn.say(turn.t("share_removed", summary=draft.removed_summary))
        if draft.may_identify:
            turn.say(turn.t("share_may_identify", names=", ".join(draft.may_identify)))
        turn.say(
            "👆",
            [
                [
                    Button(publish_label, "c:publish"),
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

    def _waiting_draft(self, turn: Turn) -> Draft | None:
        """The draft the author is looking at; one kept from before moderation decided drafts
        is moderated again rather than trusted."""
        data = turn.data
        if turn.state != CONFIRMING or "text" not in data:
            return None
        draft = Draft.from_state(data)
        if draft is None:
            draft = compose(self._moderator, str(data["text"]), turn.language)
        return draft

    def _store(
        self, turn: Turn, draft: Draft, card_type: str, *, reply_to: Card | None = None
    ) -> Card:
        held = draft.held or draft.crisis
        return create_card(
            session=turn.anon,
            keys=turn.session,
            sealer=turn.sealer,
            author=turn.person,
            text=draft.text,
            language=turn.language,
            content_class=draft.content_class,
            card_type=card_type,
            mood_level=MoodLevel(turn.person.mood_level or 0),
            polarity=draft.polarity,
            embedding=None if held else cached_embedding(draft.text),
            held=held,
            restricted=draft.restricted,
            reply_to_card_id=None if reply_to is None else reply_to.id,
        )

    def _publish(self, turn: Turn) -> None:
        draft = self._waiting_draft(turn)
        if draft is None:
            turn.say(turn.t("share_nothing_pending"))
            return
        if turn.data.get("draft") == REPLY_DRAFT:
            if not self._paused(turn, "reply") and not self._over_limit(turn, "reply"):
                self._send_reply(turn, draft)
            return
        if self._paused(turn, "share") or self._over_limit(turn, "card"):
            return
        card = self._store(turn, draft, STORY)
        self._count(turn, "card")
        turn.set_state(IDLE)
        if draft.held:
            self._flag_held(turn, card, draft, "card")
            turn.say(turn.t("share_held"), turn.menu_buttons())
        else:
            if self._waits_to_widen(card):
                # Staged exposure: a low-severity case lets a counsellor open it to readers who
                # are struggling before enough readers have said it helped.
                assert card.id is not None
                open_approval_case(session=turn.anon, card_id=card.id)
            turn.say(turn.t("share_published"), turn.menu_buttons())

    def _waits_to_widen(self, card: Card) -> bool:
        """A published card that readers who feel bad may see once it has widened (not
        restricted by moderation, a content class the matrix lets them read)."""
        content = ContentClass(card.content_class)
        return not card.restricted and any(
            self._matching.may_see(reader, content)
            for reader in (UserClass.VULNERABLE, UserClass.HARMFUL)
        )

    def _widened(self, turn: Turn, card: Card) -> None:
        """Enough readers said it helped and nobody reported it: nothing is left to approve."""
        turn.anon.refresh(card)
        staged = self._matching.staged_exposure
        if card.helped_count >= staged.helped_to_widen and card.report_count == 0:
            assert card.id is not None
            settle_approval(
                session=turn.anon,
                card_id=card.id,
                why=f"widened: {card.helped_count} readers said it helped, no report",
                retention_days=self._retention_days,
            )

    # -- limits (policies/limits.yaml) -------------------------------------------------------
    @staticmethod
    def _wait_text(turn: Turn, until: datetime) -> str:
        minutes = minutes_until(until)
        if minutes < 90:
            return turn.t("limit_wait_minutes", n=minutes)
        return turn.t("limit_wait_hours", n=-(-minutes // 60))

    def _over_limit(self, turn: Turn, what: Action) -> bool:
        """A card or reply over the person's limit is not sent and not lost: the draft stays
        waiting (same state, same data) with its buttons, and the person is told when it can go."""
        if self._limiter is None:
            return False
        until = self._limiter.blocked_until(
            session=turn.session, sealer=turn.sealer, person=turn.person, what=what
        )
        if until is None:
            return False
        limit = self._limiter.policy.limit_for(what)
        label = turn.t("share_publish" if what == "card" else "reply_send")
        turn.say(
            turn.t(
                f"limit_{what}",
                per_hour=limit.per_hour,
                per_day=limit.per_day,
                wait=self._wait_text(turn, until),
                button=label,
            ),
            [
                [
                    Button(label, "c:publish"),
                    Button(turn.t("share_edit"), "c:edit"),
                    Button(turn.t("share_discard"), "c:discard"),
                ]
            ],
        )
        return True

    def _count(self, turn: Turn, what: Action) -> None:
        if self._limiter is not None:
            self._limiter.count(
                session=turn.session, sealer=turn.sealer, person=turn.person, what=what
            )

    def _flag_held(self, turn: Turn, card: Card, draft: Draft, what: str) -> None:
        """A held card or reply waits for counsellors: the card's case, never the writer's. When
        one writer's toxic texts become a pattern, the writer gets a case of their own (a flag
        that names no card, so the database still does not pair them with what they wrote)."""
        toxic = draft.content_class is ContentClass.TOXIC
        turn.raise_flag(
            kind=f"toxic_{what}" if toxic else f"held_{what}",
            categories=[draft.content_class.value],
            about_card=True,
            card_id=card.id,
            severity="medium",
        )
        if not toxic:
            return
        pattern = load_moderation_policy().repeated_toxic
        since = today() - timedelta(days=pattern.within_days - 1)
        held = held_toxic_since(
            session=turn.anon,
            sealer=turn.sealer,
            person=turn.person,
            since=since,
            keys=turn.session,
        )
        if held >= pattern.held:
            turn.raise_flag(kind="repeated_toxic", categories=["toxic"], severity="medium")

    # -- reading ---------------------------------------------------------------------------
    def read(self, turn: Turn) -> None:
        previous = turn.data.get("kb_seen") if turn.state == IDLE else None
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
        turn.set_state(IDLE, kb_seen=kb_seen[-_KB_SEEN_KEPT:])
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
        card = turn.session.get(Card, item.card_id) if item.card_id is not None else None
        if card is None:
            turn.say(f"{turn.t('card_from_kb')}\n\n{item.text}", is_card=True)
            return
        token = deliver(
            session=turn.anon,
            sealer=turn.sealer,
            card=card,
            reader=turn.person,
            kind=DeliveryKind.CARD,
            keys=turn.session,
        ).token
        buttons = [
            [
                Button(turn.t("card_helped"), f"c:helped:{token}"),
                Button(turn.t("card_reply"), f"c:reply:{token}"),
            ],
            [Button(turn.t("card_report"), f"c:report:{token}")],
        ]
        turn.say(item.text, buttons, protect_content=True, is_card=True, delivery_token=token)

    # -- buttons ---------------------------------------------------------------------------
    def card_choice(self, turn: Turn, rest: str) -> None:
        action, _, token = rest.partition(":")
        simple: dict[str, TurnHandler] = {
            "publish": self._publish,
            "edit": self._edit,
            "discard": self._discard,
            "more": self.read,
        }
        if action in simple:
            simple[action](turn)
            return
        handlers: dict[str, DeliveryHandler] = {
            "helped": self._helped,
            "reply": self._start_reply,
            "report": self._report,
            "withdraw": self._unused,
        }
        handler = handlers.get(action)
        if handler is None:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        if action == "withdraw":
            self._withdraw(turn, token)
            return
        found = delivery_for(
            session=turn.anon,
            sealer=turn.sealer,
            token=token,
            person=turn.person,
            keys=turn.session,
        )
        if found is None:
            self._unavailable(turn)
            return
        handler(turn, *found)

    @staticmethod
    def _unavailable(turn: Turn) -> None:
        """The one answer to anything refused: the same as for a card that does not exist."""
        turn.say(turn.t("card_unavailable"))

    def _edit(self, turn: Turn) -> None:
        data = turn.data
        if turn.state == CONFIRMING and data.get("draft") == REPLY_DRAFT:
            turn.set_state(REPLYING, delivery=data.get("delivery"))
            turn.say(turn.t("reply_prompt"))
            return
        self.share(turn)

    def _discard(self, turn: Turn) -> None:
        reply = turn.state == CONFIRMING and turn.data.get("draft") == REPLY_DRAFT
        turn.set_state(IDLE)
        turn.say(turn.t("reply_discarded" if reply else "share_discarded"), turn.menu_buttons())

    def _preview(self, card: Card) -> str:
        limit = self._policy.preview_chars
        return card.text if len(card.text) <= limit else card.text[: limit - 1] + "…"

    def _author(self, turn: Turn, card: Card) -> Person | None:
        author = author_id(sealer=turn.sealer, card=card)
        return None if author is None else turn.session.get(Person, author)

    @staticmethod
    def _open_card(card: Card, delivery: CardDelivery) -> bool:
        """A card delivered to this reader that they may still act on."""
        return (
            delivery.kind == DeliveryKind.CARD.value
            and card.status == PUBLISHED
            and not delivery.reported
        )

    def _helped(self, turn: Turn, delivery: CardDelivery, card: Card) -> None:
        if not self._open_card(card, delivery):
            self._unavailable(turn)
            return
        if mark_helped(session=turn.anon, delivery=delivery):  # the author hears it once
            author = self._author(turn, card)
            if author is not None and author.id is not None and author.id != turn.person.id:
                notice = turn.texts.get(card.language, "helped_notice", preview=self._preview(card))
                turn.send_to(author.id, Outbound(text=notice, protect_content=True))
            if self._learning:
                self._learning.helped(turn, card.card_type)
            self._widened(turn, card)
        # The pressed card's keyboard is gone; a kind reply is still one tap away.
        turn.say(
            turn.t("helped_thanks"), [[Button(turn.t("card_reply"), f"c:reply:{delivery.token}")]]
        )

    def _report(self, turn: Turn, delivery: CardDelivery, card: Card) -> None:
        """A reader reports a card they were given, or an author a reply they received; never
        their own card (its /mycards token allows withdrawing only)."""
        reportable = (DeliveryKind.CARD.value, DeliveryKind.REPLY.value)
        if delivery.kind not in reportable or card.status not in (PUBLISHED, UNDER_REVIEW):
            self._unavailable(turn)
            return
        if not delivery.reported and self._limiter is not None:
            until = self._limiter.blocked_until(
                session=turn.session, sealer=turn.sealer, person=turn.person, what="report"
            )
            if until is not None:  # the button comes back, to press when the limit allows
                limit = self._limiter.policy.limit_for("report")
                turn.say(
                    turn.t(
                        "limit_report",
                        per_hour=limit.per_hour,
                        per_day=limit.per_day,
                        wait=self._wait_text(turn, until),
                    ),
                    [[Button(turn.t("card_report"), f"c:report:{delivery.token}")]],
                )
                return
        hide_at = self._matching.staged_exposure.reports_to_hide
        if mark_reported(session=turn.anon, delivery=delivery, reports_to_hide=hide_at):
            self._count(turn, "report")
            turn.raise_flag(
                kind="report",
                categories=[card.content_class],
                about_card=True,
                card_id=card.id,
                severity="medium",
            )
        turn.say(turn.t("report_thanks"))

    # -- replies ---------------------------------------------------------------------------
    def _start_reply(self, turn: Turn, delivery: CardDelivery, card: Card) -> None:
        if self._paused(turn, "reply"):
            return
        if not self._open_card(card, delivery) or is_author(
            session=turn.session, sealer=turn.sealer, card=card, person=turn.person
        ):
            self._unavailable(turn)
            return
        # Sealed under the replier's key: in the clear, their person row would point at the
        # delivery, and so at the card they are answering.
        assert turn.person.id is not None
        sealed = seal_for(
            session=turn.session,
            sealer=turn.sealer,
            person_id=turn.person.id,
            value=delivery.token,
            purpose=REPLY_TO_PURPOSE,
        )
        turn.set_state(REPLYING, delivery=sealed)
        turn.say(turn.t("reply_prompt"))

    def _reply_target(self, turn: Turn, sealed: object) -> tuple[CardDelivery, Card] | None:
        try:
            assert turn.person.id is not None
            token = unseal_for(
                session=turn.session,
                sealer=turn.sealer,
                person_id=turn.person.id,
                token=str(sealed or ""),
                purpose=REPLY_TO_PURPOSE,
            )
        except SealError:
            return None
        found = delivery_for(
            session=turn.anon,
            sealer=turn.sealer,
            token=token,
            person=turn.person,
            keys=turn.session,
        )
        if found is None:
            return None
        delivery, card = found
        if not self._open_card(card, delivery) or is_author(
            session=turn.session, sealer=turn.sealer, card=card, person=turn.person
        ):
            return None
        return found

    def replied(self, turn: Turn, text: str) -> None:
        if self._paused(turn, "reply") or not self._fits(turn, text, REPLY):
            return
        token = turn.data.get("delivery")
        target = self._reply_target(turn, token)
        if target is None:
            turn.set_state(IDLE)
            self._unavailable(turn)
            return
        draft = compose(self._moderator, text, turn.language, turn.inbound.author_names)
        if draft.crisis:
            self._store(turn, draft, REPLY, reply_to=target[1])
            turn.set_state(IDLE)
            turn.answer_crisis(categories=draft.crisis_categories, text=draft.text)
            turn.say(turn.t("reply_held_crisis"))
            return
        turn.set_state(CONFIRMING, draft=REPLY_DRAFT, delivery=token, **draft.as_state())
        turn.say(turn.t("reply_preview"))
        self._preview_draft(turn, draft, publish_label=turn.t("reply_send"))

    def _send_reply(self, turn: Turn, draft: Draft) -> None:
        target = self._reply_target(turn, turn.data.get("delivery"))
        turn.set_state(IDLE)
        if target is None:
            turn.say(turn.t("card_unavailable"), turn.menu_buttons())
            return
        delivery, card = target
        author = self._author(turn, card)
        # A restricted reply (sad, or read with low confidence) reaches only an author who feels
        # good; for anyone else it waits for a counsellor, like a held one.
        held = draft.held or (
            draft.restricted
            and (
                author is None or not self._matching.first_stage(reader_class(author, self._policy))
            )
        )
        if held:
            draft = replace(draft, verdict=Verdict.HOLD)
        reply = self._store(turn, draft, REPLY, reply_to=card)
        self._count(turn, "reply")
        if held or author is None or author.id is None:
            self._flag_held(turn, reply, draft, "reply")
            turn.say(turn.t("reply_held"), turn.menu_buttons())
            return
        mark_replied(session=turn.anon, delivery=delivery)
        to_author = deliver(
            session=turn.anon,
            sealer=turn.sealer,
            card=reply,
            reader=author,
            kind=DeliveryKind.REPLY,
            keys=turn.session,
        ).token
        notice = turn.texts.get(
            card.language, "reply_notice", preview=self._preview(card), reply=draft.text
        )
        report = Button(turn.texts.get(card.language, "card_report"), f"c:report:{to_author}")
        turn.send_to(
            author.id,
            Outbound(
                text=notice,
                buttons=((report,),),
                protect_content=True,
                is_card=True,
                delivery_token=to_author,
            ),
            card_id=reply.id,
        )
        turn.say(turn.t("reply_sent"), turn.menu_buttons())

    # -- the author's own cards ------------------------------------------------------------
    def my_cards(self, turn: Turn) -> None:
        cards = own_cards(session=turn.anon, sealer=turn.sealer, person=turn.person)
        if not cards:
            turn.say(turn.t("mycards_none"), turn.menu_buttons())
            return
        assert turn.person.id is not None
        key = ensure_person_key(session=turn.session, sealer=turn.sealer, person_id=turn.person.id)
        turn.say(turn.t("mycards_intro"))
        for number, card in enumerate(cards, start=1):
            held = f" {turn.t('mycards_held')}" if card.status != PUBLISHED else ""
            # A keyed hash under the author's own key: no row records the listing.
            token = withdraw_token(key, card.author_ref)
            button = Button(turn.t("mycards_withdraw", number=number), f"c:withdraw:{token}")
            turn.say(f"#{number}{held}\n{card.text}", [[button]], is_card=True)

    def _unused(self, turn: Turn, delivery: CardDelivery, card: Card) -> None:
        """Withdraw tokens are not deliveries (card_choice answers them first)."""
        self._unavailable(turn)

    def _withdraw(self, turn: Turn, token: str) -> None:
        card = own_card_for_token(
            session=turn.anon,
            sealer=turn.sealer,
            person=turn.person,
            token=token,
            keys=turn.session,
        )
        done = None
        if card is not None:
            done = withdraw_card(
                session=turn.anon,
                sealer=turn.sealer,
                person=turn.person,
                card=card,
                delete_window=self._policy.delete_window,
                keys=turn.session,
            )
        if done is not None and card is not None and card.id is not None:
            settle_approval(  # in the card's own transaction: nothing ties it to the author
                session=turn.anon,
                card_id=card.id,
                why="withdrawn by its author",
                retention_days=self._retention_days,
            )
        if done is None:
            self._unavailable(turn)
        elif done.kept:
            turn.say(turn.t("withdrawn_partly", removed=done.removed, kept=done.kept))
        elif done.removed:
            turn.say(turn.t("withdrawn_removed", removed=done.removed))
        else:
            turn.say(turn.t("withdrawn"))
