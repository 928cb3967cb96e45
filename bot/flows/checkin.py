"""Check-ins and /progress: how the bot finds out whether what it shows helps (seed 1 §3.6, §3.8).

A check-in is one tap: "how do you feel now" (1-5), then "were these cards helpful" (yes / a bit
/ no), each skippable, the whole thing snoozable. It is offered after a batch of cards, at most
as often as policies/learning.yaml allows, and never during or right after a crisis: a crisis
flag on the person's case within `crisis_quiet_hours` stops every offer (a person who asks with
/checkin is told kindly that now is not the time). Answers are stored sealed, as a time series,
and feed the learners (bot/learning/service.py); /progress draws them (seed 1 §3.8, Fig. 8).

This flow is also the cards flow's `FeedLearning`: it gives each batch its learned card-type
weights and hears "this helped".
"""

from __future__ import annotations

from bot.cards.card_types import CardTypeCatalog, PeerQuestion
from bot.cards.compose import CardsPolicy
from bot.cards.reading import reader_class
from bot.conversation import ChoiceHandler, Flow, Turn, TurnHandler
from bot.domain import Button, ContentClass, Outbound, parse_id
from bot.learning.progress import progress_png
from bot.learning.service import HELPFUL_ANSWERS, LearningService
from bot.matching.visibility import MatchingPolicy


class CheckinFlow(Flow):
    name = "checkin"

    def __init__(
        self,
        *,
        service: LearningService,
        cards_policy: CardsPolicy,
        matching_policy: MatchingPolicy,
        card_types: CardTypeCatalog,
    ) -> None:
        self.service = service
        self._cards_policy = cards_policy
        self._matching = matching_policy
        self._card_types = card_types

    def commands(self) -> dict[str, TurnHandler]:
        return {"/checkin": self.checkin_command, "/progress": self.progress}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"ck": self.choice}

    @staticmethod
    def _me(turn: Turn) -> int:
        assert turn.person.id is not None
        return turn.person.id

    # -- FeedLearning ----------------------------------------------------------------------
    def allowed_actions(self, turn: Turn) -> list[str]:
        """The learner's card types this reader may be shown: a peer's question only for
        readers the matching policy lets see vulnerable cards (seed 1 §3.7)."""
        klass = reader_class(turn.person, self._cards_policy)

        def may_see(content_class: ContentClass) -> bool:
            return self._matching.may_see(klass, content_class)

        allowed = []
        for action in self.service.policy.actions:
            kind = self._card_types.get(action)
            if isinstance(kind, PeerQuestion) and not kind.readable_by(may_see):
                continue
            allowed.append(action)
        return allowed

    def type_weights(self, turn: Turn) -> dict[str, float]:
        plan = self.service.plan_batch(
            turn.session, turn.sealer, turn.person, self.allowed_actions(turn)
        )
        return plan.type_weights

    def after_batch(self, turn: Turn) -> None:
        if not self.service.policy.checkin.after_batch:
            return
        if self.service.checkin_due(turn.session, turn.sealer, turn.person):
            self._offer(turn)

    def helped(self, turn: Turn, card_type: str) -> None:
        self.service.helped(turn.session, turn.sealer, turn.person, card_type)

    # -- the check-in ----------------------------------------------------------------------
    def _offer(self, turn: Turn) -> None:
        self.service.offered(turn.session, turn.sealer, self._me(turn))
        feelings = [Button(turn.t(f"checkin_feeling_{n}"), f"ck:f:{n}") for n in range(1, 6)]
        turn.say(
            turn.t("checkin_feeling"),
            [
                feelings,
                [
                    Button(turn.t("checkin_skip"), "ck:skip"),
                    Button(turn.t("checkin_later"), "ck:later"),
                ],
            ],
        )

    def checkin_command(self, turn: Turn) -> None:
        """Asked for: no gap or weekly limit applies, the crisis rule does."""
        if self.service.crisis_quiet(turn.session, self._me(turn)):
            turn.say(turn.t("checkin_not_now"), turn.menu_buttons())
            return
        self._offer(turn)

    def choice(self, turn: Turn, rest: str) -> None:
        action, _, value = rest.partition(":")
        feeling = parse_id(value)  # strict ASCII: "²" passes isdigit() and fails int()
        if action == "f" and feeling is not None and feeling <= 5:
            self._feeling(turn, feeling)
        elif action == "h" and value in HELPFUL_ANSWERS:
            self.service.helpful(turn.session, turn.sealer, self._me(turn), value)
            turn.say(turn.t("checkin_thanks"), turn.menu_buttons())
        elif action == "skip":
            self.service.skipped(turn.session, turn.sealer, self._me(turn))
            turn.say(turn.t("checkin_skipped"), turn.menu_buttons())
        elif action == "later":
            self.service.snoozed(turn.session, turn.sealer, self._me(turn))
            turn.say(turn.t("checkin_snoozed"), turn.menu_buttons())
        else:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())

    def _feeling(self, turn: Turn, feeling: int) -> None:
        answer = self.service.answer(turn.session, turn.sealer, turn.person, feeling)
        if not answer.after_batch:
            turn.say(turn.t("checkin_thanks"), turn.menu_buttons())
            return
        turn.say(
            turn.t("checkin_helpful"),
            [
                [Button(turn.t(f"checkin_helpful_{a}"), f"ck:h:{a}") for a in HELPFUL_ANSWERS],
                [Button(turn.t("checkin_skip"), "ck:skip")],
            ],
        )

    # -- /progress -------------------------------------------------------------------------
    def progress(self, turn: Turn) -> None:
        image = progress_png(turn.session, turn.sealer, self._me(turn), turn.texts, turn.language)
        if image is None:
            turn.say(turn.t("progress_none"), turn.menu_buttons())
            return
        turn.replies.append(
            Outbound(text=turn.t("progress_caption"), image_png=image, protect_content=True)
        )
