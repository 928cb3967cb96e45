"""The pre-assessment in the conversation (seed 1 §3.6 step 1): ask, listen, reflect.

The engine (bot/assessment) decides what to ask and when it knows enough; this flow shows its
questions with quick replies, passes answers back, keeps the engine's state in the person's row
between messages, and stores the result. Free text answers are read for evidence and also move
the person's "state embedding" (a running mean), which the feed uses for relevance; the words
themselves are not kept. Typed words are heard first (bot/assessment/hearing.py): acknowledged
before the next question, "I don't know" taken as an answer without evidence, and "what does
that mean?" answered with the same question in plainer words rather than read as an answer.

The final state is kept on the person (`Person.assessment_state`), not in the conversation's
state data that every other flow replaces: a later /assess starts from it, and the "that
doesn't sound like me" button revisits it whenever the person is idle. The same words typed
revisit it only right after the result was shown (a flag in the idle state's data, which the next
flow to set a state drops): later, after reading cards say, "not me" is about something else.

A second tap of the keyboard just answered (a double tap) is ignored without a word; buttons of
older questions get "that button has expired" and the question being asked now.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from pydantic import ValidationError

from bot.assessment.engine import AssessmentEngine
from bot.assessment.hearing import ReplyKind
from bot.assessment.state import AssessmentState
from bot.conversation import IDLE, ChoiceHandler, Flow, MenuEntry, TextHandler, Turn, TurnHandler
from bot.domain import Button
from bot.emotion.embeddings import cached_embedding
from bot.store.cards import bytes_to_vector, vector_to_bytes
from bot.store.tables import utcnow

NAME = "assessment"
ASKING = f"{NAME}.asking"  # a question is showing; the engine's state is in the state data
_STATE_KEY = "assessment"
# In the idle state's data right after a result: typed "not me" is about that result.
_JUST_ASSESSED = "just_assessed"


class AssessmentFlow(Flow):
    name = NAME

    def __init__(self, engine: AssessmentEngine) -> None:
        self._engine = engine

    def commands(self) -> dict[str, TurnHandler]:
        return {"/assess": self.start}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"a": self.choice}

    def states(self) -> dict[str, TextHandler]:
        return {ASKING: self.text_answer}

    def resumers(self) -> dict[str, TurnHandler]:
        return {ASKING: self.resume}

    def menu(self) -> tuple[MenuEntry, ...]:
        return (MenuEntry("/assess", "menu_assess", row=1),)

    def start(self, turn: Turn) -> None:
        """Begin (or, later, re-assess: the earlier result is a softened prior)."""
        state = self._engine.start(turn.language, previous=self._previous(turn))
        turn.say(self._engine.phrases_for(turn.language).intro)
        self._ask(turn, state)

    def resume(self, turn: Turn) -> None:
        """Carry on after a pause (a crisis answer): the same question again, nothing answered
        meanwhile. The state was kept whole while paused."""
        state = self._current(turn)
        if state is None:
            self.start(turn)
            return
        self._ask(turn, state)

    def _current(self, turn: Turn) -> AssessmentState | None:
        """The assessment in progress (ASKING), from the conversation's state data."""
        return _parse(turn.data.get(_STATE_KEY))

    def _previous(self, turn: Turn) -> AssessmentState | None:
        """The latest finished assessment of this person, if any."""
        stored = _parse(turn.person.assessment_state)
        if stored is not None and stored.finished:
            return stored
        # Rows from before the column existed kept it in the state data, until replaced.
        legacy = self._current(turn) if turn.state == IDLE else None
        return legacy if legacy is not None and legacy.finished else None

    def _ask(self, turn: Turn, state: AssessmentState) -> None:
        prompt = self._engine.next_prompt(state)
        if prompt is None:
            self._finish(turn, state)
            return
        turn.set_state(ASKING, **{_STATE_KEY: state.model_dump(mode="json")})
        buttons = [[Button(label, f"a:{option_id}")] for option_id, label in prompt.options]
        turn.say(prompt.text, buttons)

    def _finish(self, turn: Turn, state: AssessmentState) -> None:
        result = self._engine.result(state)
        if result is None:  # the bank ran out before the engine decided: decide now
            state = self._engine.finish(state)
            result = self._engine.result(state)
        assert result is not None
        person = turn.person
        # None when the answers named nothing clearly: the card reader then uses the policy's
        # unassessed reader class, rather than a class picked from a tie.
        person.dominant_emotion = _value(result.dominant_emotion)
        person.user_class = _value(result.user_class)
        person.mood_level = None if result.mood_level is None else int(result.mood_level)
        person.assessment_confidence = result.confidence
        person.assessment_state = state.model_dump(mode="json")
        person.assessed_at = utcnow()
        turn.set_state(IDLE, **{_JUST_ASSESSED: True})
        buttons = turn.menu_buttons()
        if result.dominant_emotion is not None:  # there is something to say "not me" to
            not_me = self._engine.phrases_for(turn.language).not_me_label
            buttons = [*buttons, [Button(not_me, "a:revisit")]]
        turn.say(f"{result.reflection}\n\n{turn.t('assess_next')}", buttons)

    def choice(self, turn: Turn, option_id: str) -> None:
        if option_id == "revisit":
            self._revisit_pressed(turn)
            return
        if turn.state != ASKING:
            if self._just_assessed(turn) and self._repeats(
                _parse(turn.person.assessment_state), option_id
            ):
                return  # the last question's keyboard tapped twice: the result is showing
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        state = self._current(turn)
        if state is None:  # state data from an older version: start over rather than fail
            self.start(turn)
            return
        if self._repeats(state, option_id):
            return  # a double tap: the next question is already showing, nothing to add
        try:
            state = self._engine.answer_option(state, option_id)
        except ValueError:  # forged, or not an option of the question being asked now
            turn.say(turn.t("unknown_choice"))
        self._ask(turn, state)

    def _repeats(self, state: AssessmentState | None, option_id: str) -> bool:
        return state is not None and self._engine.repeats_last_answer(state, option_id)

    @staticmethod
    def _just_assessed(turn: Turn) -> bool:
        """Idle since a result was shown, no other flow having set a state meanwhile."""
        return turn.state == IDLE and turn.data.get(_JUST_ASSESSED) is True

    def _revisit_pressed(self, turn: Turn) -> None:
        if turn.state == ASKING:
            # Already asking more (or still on the first round): show where we are.
            turn.say(turn.t("unknown_choice"))
            state = self._current(turn)
            if state is None:
                self.start(turn)
            else:
                self._ask(turn, state)
            return
        if turn.state != IDLE:  # writing a card, replying...: leave that alone
            turn.say(turn.t("unknown_choice"))
            return
        self.revisit(turn)

    def revisit(self, turn: Turn) -> None:
        """ "That doesn't sound like me": ask a little more about the latest result. With none
        on record, simply assess."""
        previous = self._previous(turn)
        if previous is None:
            self.start(turn)
            return
        turn.say(self._engine.phrases_for(turn.language).revisit_ack)
        self._ask(turn, self._engine.revisit(previous))

    def heard_in_idle(self, turn: Turn, text: str) -> bool:
        """Typed "that doesn't sound like me" (or the like, per language) right after a result
        works like the button. Only then: once another flow has run (cards read, say), the
        words are about something else and are ordinary idle text. True if handled."""
        if not self._just_assessed(turn):
            return False
        if not self._engine.phrases_for(turn.language).means_not_me(text):
            return False
        if self._previous(turn) is None:
            return False
        self.revisit(turn)
        return True

    def text_answer(self, turn: Turn, text: str) -> None:
        """Typed words: a question about the question gets the same question in plainer words
        (nothing is read from it); anything else is acknowledged, then the next question."""
        state = self._current(turn)
        if state is None:
            self.start(turn)
            return
        heard = self._engine.hear(state, text)
        if heard.kind is ReplyKind.CLARIFY and heard.prompt is not None:
            buttons = [
                [Button(label, f"a:{option_id}")] for option_id, label in heard.prompt.options
            ]
            turn.say(heard.prompt.text, buttons)
            return
        if heard.kind is ReplyKind.ANSWER:
            self._remember_state_of_mind(turn, text)
        if heard.say:
            turn.say(heard.say)
        self._ask(turn, heard.state)

    @staticmethod
    def _remember_state_of_mind(turn: Turn, text: str) -> None:
        vector = cached_embedding(text)
        previous = bytes_to_vector(turn.person.state_embedding)
        if previous is not None and previous.shape == vector.shape:
            mixed = 0.5 * previous + 0.5 * vector
            vector = (mixed / max(float(np.linalg.norm(mixed)), 1e-9)).astype(np.float32)
        turn.person.state_embedding = vector_to_bytes(vector)


def _parse(raw: object) -> AssessmentState | None:
    if raw is None:
        return None
    try:
        return AssessmentState.model_validate(raw)
    except ValidationError:
        return None  # written by an older version: as if there were none


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value
