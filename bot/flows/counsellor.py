"""The person's side of a counsellor's message: "Reply to the counsellor", then one answer.

A counsellor's message arrives through the outbox with a button `cr:<case id>`. Pressing it
(only the person the case reaches may) makes the next text an answer, which lands in the case
sealed like every other word kept for review. The crisis screen still reads that text first,
as it reads every text.
"""

from __future__ import annotations

from bot.conversation import IDLE, ChoiceHandler, Flow, TextHandler, Turn
from bot.domain import parse_id
from bot.store.cases import RESOLVED, recipient_of, record, seal_case_text
from bot.store.tables import Case

NAME = "counsellor"
ANSWERING = f"{NAME}.answering"  # the next text is the answer, for the case in the state's data


class CounsellorReplyFlow(Flow):
    name = NAME

    def choices(self) -> dict[str, ChoiceHandler]:
        return {"cr": self.start_answer}

    def states(self) -> dict[str, TextHandler]:
        return {ANSWERING: self.answered}

    @staticmethod
    def _open_case(turn: Turn, raw_id: object) -> Case | None:
        """The case, if it is still open and reaches this very person; None otherwise."""
        case_id = parse_id(raw_id)  # button data may be forged: "²", or past a database integer
        case = turn.session.get(Case, case_id) if case_id is not None else None
        if case is None or case.status == RESOLVED:
            return None
        reached = recipient_of(session=turn.session, sealer=turn.sealer, case=case)
        return case if reached is not None and reached == turn.person.id else None

    def start_answer(self, turn: Turn, rest: str) -> None:
        case = self._open_case(turn, rest)
        if case is None:
            turn.say(turn.t("counsellor_reply_unavailable"), turn.menu_buttons())
            return
        turn.set_state(ANSWERING, case_id=case.id)
        turn.say(turn.t("counsellor_reply_prompt"))

    def answered(self, turn: Turn, text: str) -> None:
        case = self._open_case(turn, turn.data.get("case_id"))
        turn.set_state(IDLE)
        if case is None:
            turn.say(turn.t("counsellor_reply_unavailable"), turn.menu_buttons())
            return
        sealed = seal_case_text(session=turn.session, sealer=turn.sealer, case=case, text=text)
        record(session=turn.session, case=case, kind="message_in", sealed_text=sealed)
        turn.say(turn.t("counsellor_reply_sent"), turn.menu_buttons())
