"""Staying with a person after a crisis answer.

The crisis answer (bot/conversation.py) pauses whatever was running and keeps it whole (the core's
`PAUSED` state, whose text and buttons this flow takes on). What the
person writes next is a person talking, not an answer to the interrupted question ("I don't
really want to call anyone. I just wanted to say it somewhere."), so it is acknowledged and
three things are offered:
- talk to a counsellor, only when counsellors are configured in this deployment (their alert
  chat or their console): it raises (or refreshes) a contact request flag and says honestly what
  happens next;
- coping ideas from `kb/coping/<lang>/` (the knowledge base's coping tips), a few at a time;
- carry on where they were: the paused flow resumes exactly (the same assessment question).

A crisis during the pause is answered as a crisis again (the screen runs first on every text);
any button of the paused flow, pressed now, resumes it first (this flow's guard on the pause), and
each flow says how its own states are picked up again (`Flow.resumers`).
"""

from __future__ import annotations

from sqlmodel import select

from bot.conversation import (
    IDLE,
    PAUSED,
    PAUSED_STATE,
    ChoiceGuard,
    ChoiceHandler,
    Flow,
    TextHandler,
    Turn,
    resume_paused,
)
from bot.domain import Button
from bot.knowledge.knowledge_base import KnowledgeBase
from bot.store.tables import Flag, utcnow

NAME = "care"
CARE_PREFIX = NAME  # "care:coping"; any other button pressed during the pause resumes first
COPING_CARD_TYPE = "coping_tip"
COPING_PER_PAGE = 3
CONTACT_REQUEST = "contact_request"
# In the after-crisis state's data: how many messages were heard, which coping tip comes next.
_HEARD = "heard"
_COPING_NEXT = "coping_next"


class CrisisCareFlow(Flow):
    """Takes on the text and buttons of the core's crisis pause (`PAUSED`)."""

    name = NAME

    def __init__(self, knowledge: KnowledgeBase, *, counsellors_configured: bool) -> None:
        self._knowledge = knowledge
        self._counsellors = counsellors_configured

    def choices(self) -> dict[str, ChoiceHandler]:
        return {CARE_PREFIX: self.choice}

    def states(self) -> dict[str, TextHandler]:
        return {PAUSED: self.heard}

    def guards(self) -> dict[str, ChoiceGuard]:
        return {PAUSED: self._button_while_paused}

    def open_before_consent(self) -> frozenset[str]:
        return frozenset({CARE_PREFIX})  # a crisis can come before consent; so does its care

    @staticmethod
    def _button_while_paused(turn: Turn, data: str) -> bool:
        """A button of what was paused (the interrupted question's options): carry on there,
        and let that state's guard and the button's flow take it from here."""
        if data.partition(":")[0] != CARE_PREFIX:
            resume_paused(turn)
        return False

    def buttons(self, turn: Turn) -> list[list[Button]]:
        rows: list[list[Button]] = []
        if self._counsellors:
            rows.append([Button(turn.t("care_counsellor"), f"{CARE_PREFIX}:counsellor")])
        rows.append([Button(turn.t("care_coping"), f"{CARE_PREFIX}:coping")])
        rows.append([Button(turn.t("care_resume"), f"{CARE_PREFIX}:resume")])
        return rows

    def heard(self, turn: Turn, _text: str) -> None:
        """A message after the crisis answer: acknowledged, never read as an answer. The words
        are not kept (the crisis screen has already read them)."""
        data = turn.data
        count = _int(data.get(_HEARD))
        turn.set_state(PAUSED, **{**data, _HEARD: count + 1})
        turn.say(turn.t("care_heard" if count == 0 else "care_heard_again"), self.buttons(turn))

    def choice(self, turn: Turn, what: str) -> None:
        if what == "counsellor":
            self._counsellor(turn)
        elif what == "coping":
            self._coping(turn)
        elif what == "resume":
            self.resume(turn)
        else:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())

    def resume(self, turn: Turn) -> None:
        if turn.state != PAUSED or PAUSED_STATE not in turn.data:
            # An old "carry on" button: nothing is paused now.
            if turn.state == PAUSED:
                resume_paused(turn)
            turn.say(turn.t("care_nothing_paused"))
            if turn.person.consented_at is not None and turn.state == IDLE:
                turn.say(turn.t("menu"), turn.menu_buttons())
            return
        state = resume_paused(turn)
        turn.say(turn.t("care_resumed"))
        resumer = turn.registry.resumers.get(state)
        if resumer is not None:
            resumer(turn)

    def _counsellor(self, turn: Turn) -> None:
        if not self._counsellors:  # a button from when counsellors were configured
            turn.say(turn.t("care_counsellor_unavailable"), self._buttons_if_paused(turn))
            return
        existing = self._open_request(turn)
        if existing is None:
            turn.raise_flag(kind=CONTACT_REQUEST, categories=["asked_for_counsellor"])
        else:  # asked again: the same request moves to the front of the queue, no duplicate
            existing.created_at = utcnow()
            turn.session.add(existing)
        turn.say(turn.t("care_counsellor_asked"), self._buttons_if_paused(turn))

    def _open_request(self, turn: Turn) -> Flag | None:
        person_id = turn.person.id
        if person_id is None:
            return None
        query = select(Flag).where(
            Flag.person_id == person_id, Flag.kind == CONTACT_REQUEST, Flag.status == "open"
        )
        return turn.session.exec(query).first()

    def _coping(self, turn: Turn) -> None:
        """A few coping tips from kb/coping in the person's language, the next few each time."""
        tips = [
            card
            for card in self._knowledge.all_cards(turn.language)
            if card.card_type == COPING_CARD_TYPE
        ]
        if not tips:
            turn.say(turn.t("care_coping_none"), self._buttons_if_paused(turn))
            return
        start = _int(turn.data.get(_COPING_NEXT)) % len(tips)
        shown = [tips[(start + i) % len(tips)] for i in range(min(COPING_PER_PAGE, len(tips)))]
        if turn.state == PAUSED:
            turn.set_state(PAUSED, **{**turn.data, _COPING_NEXT: start + len(shown)})
        turn.say(turn.t("care_coping_intro"))
        for index, tip in enumerate(shown):
            last = index == len(shown) - 1
            turn.say(
                f"{tip.title}\n{tip.text}" if tip.title else tip.text,
                self._buttons_if_paused(turn) if last else (),
            )

    def _buttons_if_paused(self, turn: Turn) -> list[list[Button]]:
        """The care buttons while paused; afterwards (an old button) the menu instead."""
        if turn.state == PAUSED:
            return self.buttons(turn)
        return turn.menu_buttons() if turn.person.consented_at is not None else []


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
