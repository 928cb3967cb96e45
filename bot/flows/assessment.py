"""The pre-assessment in the conversation (seed 1 §3.6 step 1): ask, listen, reflect.

The engine (bot/assessment) decides what to ask and when it knows enough; this flow shows its
questions with quick replies, passes answers back, keeps the engine's state in the person's row
between messages, and stores the result. Free text answers are read for evidence and also move
the person's "state embedding" (a running mean), which the feed uses for relevance; the words
themselves are not kept.
"""

from __future__ import annotations

import numpy as np
from pydantic import ValidationError

from bot.assessment.engine import AssessmentEngine
from bot.assessment.state import AssessmentState
from bot.conversation import ChoiceHandler, State, TextHandler, Turn, TurnHandler
from bot.domain import Button
from bot.emotion.embeddings import embed
from bot.store.cards import bytes_to_vector, vector_to_bytes
from bot.store.tables import utcnow

_STATE_KEY = "assessment"


class AssessmentFlow:
    def __init__(self, engine: AssessmentEngine) -> None:
        self._engine = engine

    def commands(self) -> dict[str, TurnHandler]:
        return {"/assess": self.start}

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"a": self.choice}

    def states(self) -> dict[State, TextHandler]:
        return {State.ASSESSING: self.text_answer}

    def start(self, turn: Turn) -> None:
        """Begin (or, later, re-assess: the earlier result is a softened prior)."""
        previous = self._load(turn)  # a finished assessment still in the row softens the prior
        state = self._engine.start(turn.language, previous=previous)
        turn.say(self._engine.phrases_for(turn.language).intro)
        self._ask(turn, state)

    def _load(self, turn: Turn) -> AssessmentState | None:
        raw = turn.data.get(_STATE_KEY)
        if raw is None:
            return None
        try:
            return AssessmentState.model_validate(raw)
        except ValidationError:
            return None  # written by an older version: start over rather than fail

    def _ask(self, turn: Turn, state: AssessmentState) -> None:
        prompt = self._engine.next_prompt(state)
        if prompt is None:
            self._finish(turn, state)
            return
        turn.set_state(State.ASSESSING, **{_STATE_KEY: state.model_dump(mode="json")})
        buttons = [[Button(label, f"a:{option_id}")] for option_id, label in prompt.options]
        turn.say(prompt.text, buttons)

    def _finish(self, turn: Turn, state: AssessmentState) -> None:
        result = self._engine.result(state)
        if result is None:  # the bank ran out before the engine decided: decide now
            state = self._engine.finish(state)
            result = self._engine.result(state)
        assert result is not None
        person = turn.person
        person.dominant_emotion = result.dominant_emotion.value
        person.user_class = result.user_class.value
        person.mood_level = int(result.mood_level)
        person.assessment_confidence = result.confidence
        person.assessed_at = utcnow()
        turn.set_state(State.IDLE, **{_STATE_KEY: state.model_dump(mode="json")})
        not_me = self._engine.phrases_for(turn.language).not_me_label
        buttons = [*turn.menu_buttons(), [Button(not_me, "a:revisit")]]
        turn.say(f"{result.reflection}\n\n{turn.t('assess_next')}", buttons)

    def choice(self, turn: Turn, option_id: str) -> None:
        state = self._load(turn)
        if state is None:
            self.start(turn)
            return
        if option_id == "revisit":
            if turn.state is not State.IDLE:  # only right after a result
                turn.say(turn.t("unknown_choice"))
                return
            turn.say(self._engine.phrases_for(turn.language).revisit_ack)
            self._ask(turn, self._engine.revisit(state))
            return
        if turn.state is not State.ASSESSING:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        try:
            state = self._engine.answer_option(state, option_id)
        except ValueError:
            turn.say(turn.t("unknown_choice"))
        self._ask(turn, state)

    def text_answer(self, turn: Turn, text: str) -> None:
        state = self._load(turn)
        if state is None:
            self.start(turn)
            return
        self._remember_state_of_mind(turn, text)
        self._ask(turn, self._engine.answer_text(state, text))

    @staticmethod
    def _remember_state_of_mind(turn: Turn, text: str) -> None:
        vector = embed([text])[0]
        previous = bytes_to_vector(turn.person.state_embedding)
        if previous is not None and previous.shape == vector.shape:
            mixed = 0.5 * previous + 0.5 * vector
            vector = (mixed / max(float(np.linalg.norm(mixed)), 1e-9)).astype(np.float32)
        turn.person.state_embedding = vector_to_bytes(vector)
