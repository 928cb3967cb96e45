"""The frame of every conversation: welcome and consent, help, cancel, and /forget.

"Not now" means different things to different people. To someone new it is simply no (nothing
of theirs is kept beyond this chat's setting). To someone who agreed earlier it cannot mean
that, since their answers and cards are kept: for them it is a pause (nothing more is asked
until they send /start) and they are told that /forget deletes everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.conversation import (
    IDLE,
    NEW,
    ChoiceHandler,
    Flow,
    TextHandler,
    Turn,
    TurnHandler,
    consent_buttons,
)
from bot.domain import Button
from bot.safety.helplines import HelplineDirectory, helpline_text
from bot.store.engine import erase_deleted
from bot.store.people import forget_person
from bot.store.tables import utcnow

NAME = "frame"
AWAITING_CONSENT = f"{NAME}.awaiting_consent"
CONFIRMING_FORGET = f"{NAME}.confirming_forget"
FORGET = "forget"  # the button prefix of "delete everything?", which nothing may hold back

# In the NEW state's data of someone who agreed earlier and then said "not now".
_PAUSED = "paused"


def _forget_buttons(turn: Turn) -> list[list[Button]]:
    return [
        [Button(turn.t("forget_yes"), f"{FORGET}:yes"), Button(turn.t("forget_no"), f"{FORGET}:no")]
    ]


# Offered text typed while idle before the menu answers it; True when it handled the text.
IdleListener = Callable[[Turn, str], bool]


class FrameFlow(Flow):
    name = NAME

    def __init__(
        self,
        helplines: HelplineDirectory,
        after_consent: TurnHandler | None = None,
        idle_listeners: Sequence[IdleListener] = (),
    ):
        self._helplines = helplines
        # What starts once a person says yes (the pre-assessment, when it is configured).
        self.after_consent: TurnHandler = after_consent or self.show_menu
        # Other flows' words that mean something while idle ("that doesn't sound like me").
        self._idle_listeners = tuple(idle_listeners)

    def commands(self) -> dict[str, TurnHandler]:
        return {
            "/start": self.start,
            "/help": self.help,
            "/cancel": self.cancel,
            "/forget": self.forget,
        }

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"consent": self.consent, FORGET: self.forget_answer}

    def states(self) -> dict[str, TextHandler]:
        return {
            NEW: self.before_consent,
            AWAITING_CONSENT: self.before_consent,
            CONFIRMING_FORGET: self.before_forget_answer,
            IDLE: self.idle_text,
        }

    def resumers(self) -> dict[str, TurnHandler]:
        return {
            IDLE: self.show_menu,
            NEW: self.start,
            AWAITING_CONSENT: self.ask_consent_again,
            CONFIRMING_FORGET: self.forget,
        }

    def open_before_consent(self) -> frozenset[str]:
        return frozenset({"/start", "/help", "/forget", "/cancel", "consent", FORGET})

    def anytime(self) -> frozenset[str]:
        return frozenset({FORGET})

    def start(self, turn: Turn) -> None:
        """Welcome: what NeedToTalk is and is not, the anonymity promise, crisis lines, consent."""
        helplines = helpline_text(self._helplines, turn.person.language, intro=False)
        turn.say(turn.t("welcome", helplines=helplines), consent_buttons(turn))
        turn.set_state(AWAITING_CONSENT)

    def help(self, turn: Turn) -> None:
        turn.say(turn.t("help"))

    def show_menu(self, turn: Turn) -> None:
        turn.set_state(IDLE)
        turn.say(turn.t("menu"), turn.menu_buttons())

    def consent(self, turn: Turn, answer: str) -> None:
        if turn.state not in (NEW, AWAITING_CONSENT):
            # a welcome's buttons pressed again later must not restart anything
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        if answer == "yes":
            if turn.person.consented_at is None:
                turn.person.consented_at = utcnow()
            turn.say(turn.t("consent_given"))
            self.after_consent(turn)
        elif turn.person.consented_at is not None:
            turn.set_state(NEW, **{_PAUSED: True})
            turn.say(turn.t("consent_paused"))
        else:
            turn.set_state(NEW)
            turn.say(turn.t("consent_declined"))

    def before_consent(self, turn: Turn, _text: str) -> None:
        if turn.person.consented_at is not None:
            if turn.data.get(_PAUSED) is True:  # they asked for a pause: ask nothing
                turn.say(turn.t("paused_text"))
                return
            self.show_menu(turn)
            return
        if turn.state == NEW:
            self.start(turn)
        else:
            turn.say(turn.t("consent_needed"), consent_buttons(turn))

    def idle_text(self, turn: Turn, text: str) -> None:
        if any(listener(turn, text) for listener in self._idle_listeners):
            return
        turn.say(turn.t("idle_text"), turn.menu_buttons())

    def cancel(self, turn: Turn) -> None:
        if turn.state in (NEW, IDLE, AWAITING_CONSENT):
            turn.say(turn.t("nothing_to_cancel"))
            return
        turn.say(turn.t("cancelled"))
        if turn.person.consented_at is None:
            turn.set_state(NEW)
        else:
            self.show_menu(turn)

    def ask_consent_again(self, turn: Turn) -> None:
        """Back to the consent question (resuming it after a pause)."""
        turn.say(turn.t("consent_needed"), consent_buttons(turn))

    def forget(self, turn: Turn) -> None:
        """Ask first: /forget deletes everything and cannot be undone. What the person was doing
        (a draft, a reply) is kept aside, so "no" puts them back exactly there."""
        if turn.state != CONFIRMING_FORGET:
            turn.set_state(CONFIRMING_FORGET, previous=turn.state, previous_data=turn.data)
        turn.say(turn.t("forget_confirm"), _forget_buttons(turn))

    def forget_answer(self, turn: Turn, answer: str) -> None:
        if turn.state != CONFIRMING_FORGET:
            turn.say(turn.t("unknown_choice"))
            return
        if answer != "yes":
            previous = str(turn.data.get("previous", IDLE))
            saved = turn.data.get("previous_data")
            data = saved if isinstance(saved, dict) else {}
            state = previous if turn.registry.knows(previous) else IDLE
            turn.set_state(state, **{str(k): v for k, v in data.items()})
            turn.say(turn.t("forget_kept"))
            return
        message = turn.t("forget_done")
        forget_person(session=turn.session, sealer=turn.sealer, person=turn.person)
        # Once committed, push the deleted pages out of SQLite's WAL (they are zeroed in the
        # file: secure_delete); the key's deletion already made every sealed copy unreadable.
        engine = turn.session.get_bind()
        turn.after_commit.append(lambda: erase_deleted(engine))
        turn.replies.clear()
        turn.say(message)

    def before_forget_answer(self, turn: Turn, _text: str) -> None:
        turn.say(turn.t("forget_confirm"), _forget_buttons(turn))
