"""The conversation core: one Inbound in, a list of Outbound out, state kept in the database.

Transport-agnostic on purpose (docs/architecture.md: the core never imports a channel). Each inbound
runs in one database transaction, so a crash or restart mid-conversation leaves the person exactly
where their last completed message put them. On PostgreSQL the rows that must not share a
transaction id with the person's own (cards, reactions, messages for others) are written in side
transactions committed right after it (`Turn.anon`, `Turn.outbox`; docs/privacy.md).

Order of work for every inbound, whatever the state:
1. the crisis screen, on any text (a hit answers at once with helplines and flags the case, and
   pauses whatever flow was running: see `pause_for_crisis`);
2. input that is not a plain message (stickers, edits, empty, huge) gets a short kind answer;
3. commands and button choices are routed to the flow that owns them;
4. free text goes to the flow that owns the person's current state.

Features live in flows (bot/flows/): each declares the commands, button prefixes and states it
handles, so adding a feature is adding a flow, not growing this file.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.domain import (
    Button,
    Inbound,
    InboundKind,
    Outbound,
    Settle,
    sanitised,
    without_surrogates,
)
from bot.safety.crisis_screen import CrisisResult, CrisisScreen
from bot.safety.helplines import HelplineDirectory, crisis_locale, helpline_text
from bot.store.addresses import channel_of
from bot.store.cases import HIGH, case_of_flag, opened_by
from bot.store.outbox import enqueue, enqueue_to_address
from bot.store.people import add_flag, get_or_create_person
from bot.store.sealing import Sealer
from bot.store.side_work import SideJournal, claim, seal_ops
from bot.store.tables import Flag, Person, SideWork
from bot.texts import SUPPORTED_LANGUAGES, Texts, ui_language

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4000
COUNSELLOR_CHANNEL = "telegram"  # counsellors' alert chat (COUNSELLOR_CHAT_ID) is on Telegram
# What a person may do before they have given consent.
OPEN_COMMANDS = frozenset({"/start", "/help", "/forget", "/cancel"})
OPEN_CHOICES = frozenset({"consent", "forget", "care"})
# The choices that belong to the pause after a crisis answer (bot/flows/crisis_care.py); any other
# button pressed during the pause (an assessment option, say) first resumes what was paused.
CARE_PREFIX = "care"
# In the after-crisis state's data: the state that was interrupted and its data, kept whole.
PAUSED_STATE = "paused"
PAUSED_DATA = "paused_data"
DRAFT_CHOICES = frozenset({"c:publish", "c:edit", "c:discard"})
MENU_PREFIX = "command_"  # menu descriptions in prompts/<lang>/menu.yaml
_LOCALE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,3})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class State(StrEnum):
    NEW = "new"
    AWAITING_CONSENT = "awaiting_consent"
    ASSESSING = "assessing"
    IDLE = "idle"
    COMPOSING = "composing"
    CONFIRMING_CARD = "confirming_card"
    REPLYING = "replying"
    CONFIRMING_FORGET = "confirming_forget"
    # After a crisis answer: the next message is a person talking, not an answer to a question.
    AFTER_CRISIS = "after_crisis"
    ANSWERING_COUNSELLOR = "answering_counsellor"


def locale_of(language_hint: str | None) -> str:
    """ "en-GB" -> "en-gb"; anything odd ("en-gb-oxendict", "x" * 50) is cut to language[-region],
    since it only picks catalogs and helplines and must fit its column."""
    match = _LOCALE.match((language_hint or "").lower().replace("_", "-"))
    return match.group(0) if match else "en"


def clean_text(text: str) -> str:
    """Drop control characters and lone surrogates, normalise to NFC; keep emoji and all
    scripts intact."""
    return unicodedata.normalize("NFC", _CONTROL.sub("", without_surrogates(text))).strip()


@dataclass
class Turn:
    """Everything a flow needs while handling one inbound; collects the replies."""

    session: Session
    person: Person
    inbound: Inbound
    texts: Texts
    sealer: Sealer
    channel: str
    counsellor_ref: str | None = None
    console_url: str | None = None
    helplines: HelplineDirectory | None = None
    counsellors_see_flags: bool = False  # whether the crisis answer may say counsellors know
    replies: list[Outbound] = field(default_factory=list)
    # Opens the side transactions; None: they are all `session` (SQLite rows carry no
    # transaction id).
    anon_factory: Callable[[], Session] | None = None
    _sides: dict[str, Session] = field(default_factory=dict, repr=False)
    _journals: dict[str, SideJournal] = field(default_factory=dict, repr=False)
    # Run once everything is committed (best effort: a failure is logged, never answered).
    after_commit: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def _side(self, name: str) -> Session:
        if self.anon_factory is None:
            return self.session
        if name not in self._sides:
            side = self.anon_factory()
            self._sides[name] = side
            self._journals[name] = SideJournal(side)
        return self._sides[name]

    def commit(self) -> None:
        """The person's own transaction first, then the side ones, so a card is never stored
        without its author's index knowing it.

        A process killed between those commits must not lose the card or the notice: each side
        transaction's work is written down, sealed, in the person's transaction (one
        `side_work` row), and the side transaction deletes that row as it commits. A row left
        behind is written by any worker's recovery (bot/store/side_work.py): exactly once,
        whichever of the two gets there first."""
        written: dict[str, int] = {}
        for name, side in self._sides.items():
            side.flush()
            ops = self._journals[name].ops
            if ops:
                row = SideWork(sealed=seal_ops(self.sealer, ops))
                self.session.add(row)
                self.session.flush()
                assert row.id is not None
                written[name] = row.id
        self.session.commit()
        self._commit_sides(written)
        for hook in self.after_commit:
            try:
                hook()
            except Exception as exc:
                log.error("after-commit step failed: %s", type(exc).__name__)

    def _commit_sides(self, written: dict[str, int]) -> None:
        for name, side in self._sides.items():
            row_id = written.get(name)
            if row_id is not None and not claim(side, row_id):
                side.rollback()  # recovery wrote it already (this process stalled that long)
                continue
            side.commit()

    def close_sides(self) -> None:
        for side in self._sides.values():
            side.close()

    @property
    def anon(self) -> Session:
        """The transaction for rows that must not share one with the person's own rows: cards,
        deliveries, reactions, flags and cases about a card, messages for other people.

        On PostgreSQL every row carries the id of the transaction that wrote it (`xmin`); a
        card written in the same transaction as its author's person row would name its author
        in any copy of the database (docs/privacy.md). It is committed right after the turn's
        own transaction; reads may use either."""
        return self._side("anon")

    @property
    def outbox(self) -> Session:
        """The transaction for messages to other people: apart from the person's (it would
        say who reacted or replied) and from the card's (it would name a card's author)."""
        return self._side("outbox")

    @property
    def language(self) -> str:
        return ui_language(self.person.language)

    @property
    def state(self) -> State:
        return State(self.person.state)

    def set_state(self, state: State, **data: object) -> None:
        self.person.state = state.value
        self.person.state_data = dict(data)

    @property
    def data(self) -> dict[str, object]:
        return dict(self.person.state_data or {})

    def t(self, key: str, **values: object) -> str:
        return self.texts.get(self.language, key, **values)

    def say(
        self,
        text: str,
        buttons: Sequence[Sequence[Button]] = (),
        *,
        protect_content: bool = False,
        is_card: bool = False,
        delivery_token: str | None = None,
    ) -> None:
        self.replies.append(
            Outbound(
                text=text,
                buttons=tuple(tuple(row) for row in buttons),
                protect_content=protect_content,
                is_card=is_card,
                delivery_token=delivery_token,
            )
        )

    def answer_crisis(self, *, categories: Sequence[str], text: str, spoken: bool = True) -> None:
        """The one crisis answer: a high-severity flag for counsellors, helplines at once.

        Used by the core for any message, and by flows for crisis language found in a card or
        a reply (moderation), so the words and the helplines stay in one place. `spoken`: the
        crisis was read in a language the bot speaks; otherwise the international helplines.
        """
        self.raise_flag(kind="crisis", categories=list(categories), text=text)
        log.warning("crisis flag raised (categories: %s)", ",".join(categories))
        locale = crisis_locale(self.person.language, spoken=spoken)
        helplines = helpline_text(self.helplines, locale) if self.helplines else ""
        self.say(
            crisis_text(
                self.texts, self.language, helplines, counsellors_told=self.counsellors_see_flags
            )
        )
        pause_for_crisis(self)

    def send_to(self, person_id: int, message: Outbound, *, card_id: int | None = None) -> None:
        """Queue a message for someone else; the running channel delivers it (the outbox).
        `card_id`: the card whose words it carries, withdrawn with it on /forget."""
        channel = channel_of(session=self.outbox, person_id=person_id) or self.channel
        enqueue(
            session=self.outbox,
            sealer=self.sealer,
            person_id=person_id,
            channel=channel,
            message=message,
            card_id=card_id,
        )

    def raise_flag(
        self,
        *,
        kind: str,
        categories: list[str],
        about_card: bool = False,
        text: str | None = None,
        card_id: int | None = None,
        severity: str = "high",
    ) -> Flag:
        """Record something counsellors must see, and alert their chat if one is configured.

        A flag joins the sender's case, or with `about_card` the card's own case (toxic,
        reported), which names no person. A high-severity flag alerts the counsellors' chat with
        the case's pseudonym, severity and console link only (with a console, only the flag that
        opens the case: the rest join it in the queue).
        """
        session = self.anon if about_card else self.session
        flag = add_flag(
            session=session,
            sealer=self.sealer,
            person=None if about_card else self.person,
            kind=kind,
            categories=categories,
            language=self.language,
            text=text,
            card_id=card_id,
            severity=severity,
        )
        case = case_of_flag(session=session, flag=flag)
        opened = opened_by(session=session, flag=flag)
        # Without a console the chat is the only place counsellors see anything, so every
        # high-severity flag alerts it; with a console, only the flag that opens a case does.
        worth_alerting = opened or not self.console_url
        if self.counsellor_ref and case is not None and worth_alerting and case.severity == HIGH:
            link = f"{self.console_url.rstrip('/')}/cases/{case.id}" if self.console_url else "-"
            alert = self.texts.get(
                "en",
                "counsellor_alert",
                kind=kind,
                case=case.pseudonym,
                severity=case.severity,
                link=link,
            )
            enqueue_to_address(
                session=session,
                sealer=self.sealer,
                address=self.counsellor_ref,
                channel=COUNSELLOR_CHANNEL,
                message=Outbound(text=alert),
                case_id=case.id,
            )
        return flag

    def menu_buttons(self) -> list[list[Button]]:
        return [
            [
                Button(self.t("menu_read"), "menu:read"),
                Button(self.t("menu_share"), "menu:share"),
            ],
            [Button(self.t("menu_assess"), "menu:assess")],
        ]


def pause_for_crisis(turn: Turn) -> None:
    """Put whatever was running aside after a crisis answer, whole (its state and data: the
    assessment's current question, a draft), so the next message is heard as a person talking
    rather than taken as an answer, and "carry on" can resume it exactly. A crisis during the
    pause keeps what was paused the first time."""
    if turn.state is State.AFTER_CRISIS:
        return
    turn.set_state(State.AFTER_CRISIS, **{PAUSED_STATE: turn.state.value, PAUSED_DATA: turn.data})


def resume_paused(turn: Turn) -> State:
    """Put back what `pause_for_crisis` set aside (IDLE if nothing was); returns that state."""
    paused = str(turn.data.get(PAUSED_STATE, State.IDLE.value))
    saved = turn.data.get(PAUSED_DATA)
    data = saved if isinstance(saved, dict) else {}
    state = State(paused) if paused in State._value2member_map_ else State.IDLE
    if state is State.AFTER_CRISIS:  # never nest pauses
        state, data = State.IDLE, {}
    turn.set_state(state, **{str(k): v for k, v in data.items()})
    return state


def crisis_text(texts: Texts, language: str, helplines: str, *, counsellors_told: bool) -> str:
    """The crisis answer. It says counsellors were told only when that is true in this
    deployment (an alert was queued to their chat, or a console will show the stored flag);
    otherwise it says what the person can do themselves."""
    who_knows = texts.get(language, "crisis_told" if counsellors_told else "crisis_not_told")
    return texts.get(language, "crisis", helplines=helplines, who_knows=who_knows)


def consent_buttons(turn: Turn) -> list[list[Button]]:
    return [
        [
            Button(turn.t("consent_yes"), "consent:yes"),
            Button(turn.t("consent_no"), "consent:no"),
        ]
    ]


TurnHandler = Callable[[Turn], None]
ChoiceHandler = Callable[[Turn, str], None]
TextHandler = Callable[[Turn, str], None]


class Flow(Protocol):
    """A feature of the conversation: the commands, button prefixes and states it owns."""

    def commands(self) -> dict[str, TurnHandler]: ...

    def choices(self) -> dict[str, ChoiceHandler]: ...

    def states(self) -> dict[State, TextHandler]: ...


class DuplicateRegistration(ValueError):
    """Two flows claim the same command, button prefix or state. Merging them silently would let
    the later flow take over the earlier one's buttons, so building the service refuses."""


def _register(
    into: dict[Any, Any],
    entries: Mapping[Any, Any],
    kind: str,
    flow: str,
    owners: dict[tuple[str, object], str],
) -> None:
    for key, handler in entries.items():
        first = owners.get((kind, key))
        if first is not None:
            raise DuplicateRegistration(f"{kind} {key!s} is claimed by both {first} and {flow}")
        owners[(kind, key)] = flow
        into[key] = handler


class ConversationService:
    """Implements bot.domain.Conversation for one channel ("telegram", "console", ...)."""

    def __init__(
        self,
        *,
        engine: Engine,
        sealer: Sealer,
        screen: CrisisScreen,
        helplines: HelplineDirectory,
        texts: Texts,
        flows: Iterable[Flow],
        channel: str,
        counsellor_ref: str | None = None,
        counsellor_console_url: str | None = None,
    ) -> None:
        self._engine = engine
        self._sealer = sealer
        self._screen = screen
        self._helplines = helplines
        self._texts = texts
        self.channel = channel
        self._counsellor_ref = counsellor_ref
        self._counsellor_console_url = counsellor_console_url
        self._commands: dict[str, TurnHandler] = {}
        self._choices: dict[str, ChoiceHandler] = {}
        self._states: dict[State, TextHandler] = {}
        owners: dict[tuple[str, object], str] = {}
        for flow in flows:
            name = type(flow).__name__
            _register(self._commands, flow.commands(), "command", name, owners)
            _register(self._choices, flow.choices(), "button prefix", name, owners)
            _register(self._states, flow.states(), "state", name, owners)

    def handle(
        self,
        inbound: Inbound,
        settle: Settle | None = None,
        overflow: Literal["first", "more"] | None = None,
    ) -> list[Outbound]:
        """One turn. `settle` (from a durable inbox) runs inside the person's own transaction
        with the person's id, the replies and whether they are a crisis answer, so the update is
        marked handled and its replies queued together with the turn's changes to the person,
        or none of it is. It is not called when the turn fails (the fallback is returned). Rows
        that must not share the person's transaction (cards, reactions, messages to others:
        `Turn.anon`, `Turn.outbox`) commit right after it (docs/privacy.md).

        `overflow`: the person has more updates waiting than their cap (policies/inbox.yaml);
        a crisis is still answered in full, anything else is set aside with one kind word
        ("first") or silently ("more").
        """
        inbound = sanitised(inbound)  # text a client sent may not even be encodable
        language = ui_language(inbound.language_hint)
        # Screened before any database work, so a failing database cannot stop the answer.
        text = clean_text(inbound.text) if inbound.kind is not InboundKind.CHOICE else ""
        crisis = self._screen.screen(text) if text else None
        try:
            with Session(self._engine) as session:
                person, _created = get_or_create_person(
                    session=session,
                    sealer=self._sealer,
                    channel=self.channel,
                    user_ref=inbound.user_ref,
                    language=locale_of(inbound.language_hint),
                )
                language = ui_language(person.language)
                turn = Turn(
                    session=session,
                    person=person,
                    inbound=inbound,
                    texts=self._texts,
                    sealer=self._sealer,
                    channel=self.channel,
                    counsellor_ref=self._counsellor_ref,
                    console_url=self._counsellor_console_url,
                    helplines=self._helplines,
                    counsellors_see_flags=self.counsellors_see_flags,
                    anon_factory=self._anon_factory(),
                )
                urgent = crisis is not None and crisis.is_crisis
                try:
                    if overflow is not None and not urgent:
                        if overflow == "first":
                            turn.say(turn.t("too_many_waiting"))
                    else:
                        self._dispatch(turn, text, crisis)
                    if settle is not None:
                        assert person.id is not None
                        settle(session, person.id, turn.replies, urgent)
                    turn.commit()
                finally:
                    turn.close_sides()
                return turn.replies
        except Exception as exc:
            # The type only: messages of database errors can carry parameters (hide_parameters
            # is set on the engine too) and nothing here may leak text or ids.
            log.error("conversation turn failed: %s", type(exc).__name__, exc_info=False)
            log.debug("conversation turn failure detail", exc_info=True)
            if crisis is not None and crisis.is_crisis:  # helplines even when nothing else works
                locale = crisis_locale(locale_of(inbound.language_hint), spoken=crisis.spoken)
                helplines = helpline_text(self._helplines, locale)
                # No flag was stored, so nobody will see one: promise nothing.
                text = crisis_text(self._texts, language, helplines, counsellors_told=False)
                return [Outbound(text=text)]
            return [Outbound(text=self._texts.get(language, "error"))]

    def _anon_factory(self) -> Callable[[], Session] | None:
        """A second transaction for what must not share the person's (PostgreSQL, whose rows
        carry their transaction's id); SQLite rows carry none, and one writer at a time there
        makes one transaction the only safe choice."""
        if self._engine.dialect.name == "sqlite":
            return None
        engine = self._engine
        return lambda: Session(engine)

    # -- the fixed order of work -------------------------------------------------------------
    def _dispatch(self, turn: Turn, text: str, crisis: CrisisResult | None) -> None:
        inbound = turn.inbound
        if crisis is not None and crisis.is_crisis:
            self._answer_crisis(turn, text, crisis)
            return
        if inbound.kind is InboundKind.UNSUPPORTED:
            turn.say(turn.t("unsupported"))
            return
        if inbound.kind is InboundKind.EDITED:
            turn.say(turn.t("edited"))
            return
        if inbound.kind is InboundKind.COMMAND:
            self._command(turn, text)
            return
        if inbound.kind is InboundKind.CHOICE:
            self._choice(turn, inbound.text)
            return
        if not text:
            turn.say(turn.t("empty"))
            return
        if len(text) > MAX_TEXT_CHARS:
            turn.say(turn.t("too_long", limit=MAX_TEXT_CHARS))
            return
        handler = self._states.get(turn.state)
        if handler is None:
            self._states[State.NEW](turn, text)
        else:
            handler(turn, text)

    def _answer_crisis(self, turn: Turn, text: str, result: CrisisResult) -> None:
        turn.answer_crisis(categories=result.categories, text=text, spoken=result.spoken)

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """The menu a channel shows: every command some flow owns and the menu catalog
        describes, in the catalog's order (a flow's command without a description is missing
        from the menu; tests/unit/test_command_menu.py keeps that from happening)."""
        owned = {name.removeprefix("/") for name in self._commands}
        names = [
            key.removeprefix(MENU_PREFIX)
            for key in self._texts.keys(MENU_PREFIX)
            if key.removeprefix(MENU_PREFIX) in owned
        ]
        return {
            language: [(name, self._texts.get(language, MENU_PREFIX + name)) for name in names]
            for language in SUPPORTED_LANGUAGES
        }

    @property
    def counsellors_see_flags(self) -> bool:
        """Whether a flag stored now reaches a counsellor: an alert is queued to their chat, or a
        console shows the queue. (The flag's own storing is the turn's transaction: if that
        fails, `handle` answers with the fallback, which promises nothing.)"""
        return self._counsellor_ref is not None or bool(self._counsellor_console_url)

    def _command(self, turn: Turn, text: str) -> None:
        name = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text else "/"
        if turn.person.consented_at is None and name not in OPEN_COMMANDS:
            self._ask_consent(turn)
            return
        handler = self._commands.get(name)
        if handler is None:
            turn.say(turn.t("unknown_command"))
            return
        handler(turn)

    def _ask_consent(self, turn: Turn) -> None:
        turn.say(turn.t("consent_needed"), consent_buttons(turn))

    def _choice(self, turn: Turn, data: str) -> None:
        prefix, _, rest = data.partition(":")
        if turn.state is State.AFTER_CRISIS and prefix != CARE_PREFIX:
            # A button of what was paused (the interrupted question's options): carry on there.
            resume_paused(turn)
        if turn.person.consented_at is None and prefix not in OPEN_CHOICES:
            self._ask_consent(turn)
            return
        if turn.state is State.CONFIRMING_CARD and data not in DRAFT_CHOICES and prefix != "forget":
            turn.say(turn.t("draft_waiting"))  # an old button must not throw a draft away
            return
        if prefix == "menu":  # menu buttons are shortcuts for commands
            self._command(turn, "/" + rest)
            return
        handler = self._choices.get(prefix)
        if handler is None:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        handler(turn, rest)
