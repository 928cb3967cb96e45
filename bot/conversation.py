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

Features live in flows (bot/flows/): each declares everything about itself (`Flow`): its states,
namespaced by its name ("cards.composing"), its commands, button prefixes, menu buttons, the
guards on its states' buttons, how each of its states resumes after a crisis pause, and what may
be done before consent. `FlowRegistry` merges them once, at start-up, and refuses any clash or
stray declaration with a clear error; adding a feature is adding a flow module and one line in
`bot.services.build_flows`, not growing this file. The core itself knows three states only:
`NEW`, `IDLE` and the crisis pause (`PAUSED`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
from bot.languages import registry
from bot.safety.crisis_screen import CrisisResult, CrisisScreen
from bot.safety.helplines import HelplineDirectory, crisis_locale, helpline_text
from bot.store.addresses import channel_of
from bot.store.cases import HIGH, case_of_flag, opened_by
from bot.store.outbox import enqueue, enqueue_to_address
from bot.store.people import add_flag, get_or_create_person
from bot.store.sealing import Sealer
from bot.store.side_work import SideJournal, claim, seal_ops
from bot.store.tables import Flag, Person, SideWork
from bot.texts import CATALOGS, Texts, ui_language

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4000
COUNSELLOR_CHANNEL = "telegram"  # counsellors' alert chat (COUNSELLOR_CHAT_ID) is on Telegram
# The states the core itself relies on; every other state belongs to a flow and carries its name.
NEW = "new"  # nobody has said anything yet, or consent was declined; also where an unknown state
#             (written by a version that had it) is heard
IDLE = "idle"  # consented, nothing running: the menu
# After a crisis answer (`pause_for_crisis`): the next message is a person talking, not an answer
# to a question. Part of the crisis answer, which the core gives whatever runs.
PAUSED = "after_crisis"
CORE_STATES = frozenset({NEW, IDLE, PAUSED})
STATE_MAX_CHARS = 32  # Person.state's column
# In the paused state's data: the state that was interrupted and its data, kept whole.
PAUSED_STATE = "paused"
PAUSED_DATA = "paused_data"
MENU_PREFIX = "command_"  # menu descriptions in prompts/<lang>/menu.yaml
MENU_CHOICE = "menu"  # "menu:read" is a button for the command /read; no flow may claim it
_LOCALE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,3})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_COMMAND = re.compile(r"/[a-z0-9_]+")


def locale_of(language_hint: str | None) -> str:
    """ "en-GB" -> "en-gb"; anything odd ("en-gb-oxendict", "x" * 50) is cut to language[-region],
    since it only picks catalogs and helplines and must fit its column."""
    match = _LOCALE.match((language_hint or "").lower().replace("_", "-"))
    return match.group(0) if match else registry().default


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
    registry: FlowRegistry
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
    def state(self) -> str:
        """The person's state: a core state or one a flow registered ("cards.composing")."""
        return self.person.state

    def set_state(self, state: str, **data: object) -> None:
        """Move to `state` with exactly `data` (the previous state's data is dropped). A state
        no flow registered is a bug, refused here rather than stored and lost on the next
        message."""
        if not self.registry.knows(state):
            raise ValueError(f"no flow registered the state {state!r}")
        self.person.state = state
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
                self.texts.default,  # the counsellors' language: the default pack's
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
        """The main menu: the buttons the flows declared (`Flow.menu`), row by row."""
        return [
            [Button(self.t(entry.text_key), f"{MENU_CHOICE}:{entry.command[1:]}") for entry in row]
            for row in self.registry.menu_rows
        ]


def pause_for_crisis(turn: Turn) -> None:
    """Put whatever was running aside after a crisis answer, whole (its state and data: the
    assessment's current question, a draft), so the next message is heard as a person talking
    rather than taken as an answer, and "carry on" can resume it exactly. A crisis during the
    pause keeps what was paused the first time."""
    if turn.state == PAUSED:
        return
    turn.set_state(PAUSED, **{PAUSED_STATE: turn.state, PAUSED_DATA: turn.data})


def resume_paused(turn: Turn) -> str:
    """Put back what `pause_for_crisis` set aside (IDLE if nothing was, or a state no flow
    registers any more); returns that state."""
    paused = str(turn.data.get(PAUSED_STATE, IDLE))
    saved = turn.data.get(PAUSED_DATA)
    data = saved if isinstance(saved, dict) else {}
    state = paused if turn.registry.knows(paused) else IDLE
    if state == PAUSED:  # never nest pauses
        state, data = IDLE, {}
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
# Runs before a button is routed while the person is in the state it guards, with the button's
# whole data ("c:publish"); True: it answered, and the button goes no further.
ChoiceGuard = Callable[[Turn, str], bool]


@dataclass(frozen=True, slots=True)
class MenuEntry:
    """A main-menu button: it runs `command` (one of its flow's), labelled with the message
    `text_key`; buttons with the same `row` share a line, lower rows first."""

    command: str
    text_key: str
    row: int = 0


class Flow:
    """A feature of the conversation. A flow declares everything about itself by overriding
    these (each declares nothing by default), and the registry checks it all at start-up.

    `name` namespaces its states: a flow named "cards" owns "cards.composing" and may not register
    another flow's state or a bare one, except the core's (`NEW`, `IDLE`, `PAUSED`), whose text
    handling one flow may take on.
    """

    name: str = ""

    def commands(self) -> dict[str, TurnHandler]:
        """ "/share" -> what it does."""
        return {}

    def choices(self) -> dict[str, ChoiceHandler]:
        """Button prefix ("c" for "c:publish") -> what pressing it does with the rest."""
        return {}

    def states(self) -> dict[str, TextHandler]:
        """State -> what free text typed in it does."""
        return {}

    def guards(self) -> dict[str, ChoiceGuard]:
        """State -> what stands before any button pressed in it (see `only_choices`)."""
        return {}

    def resumers(self) -> dict[str, TurnHandler]:
        """State -> how it is picked up again after a crisis pause (re-asking the question, say);
        a state without one just hears "let's carry on" and is where it was."""
        return {}

    def menu(self) -> Sequence[MenuEntry]:
        return ()

    def open_before_consent(self) -> frozenset[str]:
        """Its commands and button prefixes a person may use before giving consent."""
        return frozenset()

    def anytime(self) -> frozenset[str]:
        """Its button prefixes that no state's guard may hold back (`only_choices`)."""
        return frozenset()

    def catalogs(self) -> tuple[str, ...]:
        """Catalogs of its own in every prompts/<lang>/ ("diary" for diary.yaml), loaded beside
        the shipped ones (`catalogs_for`), so a new flow brings its texts without a line
        elsewhere."""
        return ()


def catalogs_for(flows: Iterable[Flow]) -> tuple[str, ...]:
    """The catalogs the conversation's Texts must load: the shipped ones and the flows' own."""
    names = list(CATALOGS)
    for flow in flows:
        names += [name for name in flow.catalogs() if name not in names]
    return tuple(names)


class RegistrationError(ValueError):
    """A flow declared something the conversation cannot honour: a bare or foreign state, a
    malformed command, a menu button for another flow's command. Found when the service is
    built, never in front of a person."""


class DuplicateRegistration(RegistrationError):
    """Two flows claim the same command, button prefix, state or name. Merging them silently
    would let the later flow take over the earlier one's buttons, so building the service
    refuses."""


class FlowRegistry:
    """Every flow's declarations merged, each claimed once."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self.commands: dict[str, TurnHandler] = {}
        self.choices: dict[str, ChoiceHandler] = {}
        self.states: dict[str, TextHandler] = {}
        self.guards: dict[str, ChoiceGuard] = {}
        self.resumers: dict[str, TurnHandler] = {}
        self.open_before_consent: set[str] = set()
        self.anytime: set[str] = set()
        self._owners: dict[tuple[str, str], str] = {}
        entries: list[MenuEntry] = []
        for flow in flows:
            label = f"{type(flow).__name__} ({flow.name or 'no name'})"
            self._claim("flow name", flow.name, label)
            if not _NAME.fullmatch(flow.name):
                raise RegistrationError(f"{label}: a flow's name is lower-case letters, digits, _")
            commands, choices = flow.commands(), flow.choices()
            for command in commands:
                if not _COMMAND.fullmatch(command):
                    raise RegistrationError(f"{label}: command {command!r} is not like /name")
            for prefix in choices:
                if not _NAME.fullmatch(prefix) or prefix == MENU_CHOICE:
                    raise RegistrationError(f"{label}: button prefix {prefix!r} is not allowed")
            states = flow.states()
            own = set(states) | CORE_STATES
            for state in states:
                self._check_state(flow, label, state)
            self._merge(self.commands, commands, "command", label)
            self._merge(self.choices, choices, "button prefix", label)
            self._merge(self.states, states, "state", label)
            for kind, declared in (("guard", flow.guards()), ("resumer", flow.resumers())):
                stray = sorted(set(declared) - own)
                if stray:
                    raise RegistrationError(f"{label}: {kind} for states it does not own: {stray}")
            self._merge(self.guards, flow.guards(), "guard of state", label)
            self._merge(self.resumers, flow.resumers(), "resumer of state", label)
            stray = sorted(flow.open_before_consent() - set(commands) - set(choices))
            stray += sorted(flow.anytime() - set(choices))
            if stray:
                raise RegistrationError(f"{label}: opens what it does not own: {stray}")
            self.open_before_consent |= flow.open_before_consent()
            self.anytime |= flow.anytime()
            for entry in flow.menu():
                if entry.command not in commands:
                    raise RegistrationError(
                        f"{label}: a menu button for {entry.command}, a command it does not own"
                    )
            entries.extend(flow.menu())
        if NEW not in self.states:
            raise RegistrationError(f"no flow handles text in the state {NEW!r}")
        self.menu_rows: list[list[MenuEntry]] = [
            [entry for entry in entries if entry.row == row]
            for row in sorted({entry.row for entry in entries})
        ]

    def knows(self, state: str) -> bool:
        """A state some flow registered, or one of the core's."""
        return state in CORE_STATES or state in self.states

    @staticmethod
    def _check_state(flow: Flow, label: str, state: str) -> None:
        if state in CORE_STATES:
            return
        local = state.removeprefix(f"{flow.name}.")
        if local == state or not _NAME.fullmatch(local):
            raise RegistrationError(
                f"{label}: state {state!r} is not named {flow.name}.<name> (nor a core state)"
            )
        if len(state) > STATE_MAX_CHARS:
            raise RegistrationError(f"{label}: state {state!r} is over {STATE_MAX_CHARS} chars")

    def _claim(self, kind: str, key: str, label: str) -> None:
        first = self._owners.get((kind, key))
        if first is not None:
            raise DuplicateRegistration(f"{kind} {key} is claimed by both {first} and {label}")
        self._owners[(kind, key)] = label

    def _merge(
        self, into: dict[str, Any], entries: Mapping[str, Any], kind: str, label: str
    ) -> None:
        for key, handler in entries.items():
            self._claim(kind, key, label)
            into[key] = handler


def only_choices(accepted: Iterable[str], reminder: str) -> ChoiceGuard:
    """A guard: while in the state, only the buttons `accepted` (whole data, "c:publish") and
    prefixes some flow marks `anytime` go through; anything else (an old button) gets the
    message `reminder` and does nothing, so it cannot throw away what the state holds."""
    allowed = frozenset(accepted)

    def guard(turn: Turn, data: str) -> bool:
        if data in allowed or data.partition(":")[0] in turn.registry.anytime:
            return False
        turn.say(turn.t(reminder))
        return True

    return guard


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
        # Refuses clashes and stray declarations now, at start-up (RegistrationError).
        flows = list(flows)
        self.registry = FlowRegistry(flows)
        for flow in flows:
            missing = [name for name in flow.catalogs() if name not in texts.catalogs]
            if missing:
                raise RegistrationError(
                    f"{type(flow).__name__} ({flow.name}): its catalogs {missing} are not loaded; "
                    "build the Texts with catalogs_for(flows)"
                )

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
                    registry=self.registry,
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
        # A state no flow registers (any more) is heard as new: the frame finds where they are.
        handler = self.registry.states.get(turn.state) or self.registry.states[NEW]
        handler(turn, text)

    def _answer_crisis(self, turn: Turn, text: str, result: CrisisResult) -> None:
        turn.answer_crisis(categories=result.categories, text=text, spoken=result.spoken)

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """The menu a channel shows: every command some flow owns and the menu catalog
        describes, in the catalog's order (a flow's command without a description is missing
        from the menu; tests/unit/test_command_menu.py keeps that from happening)."""
        owned = {name.removeprefix("/") for name in self.registry.commands}
        names = [
            key.removeprefix(MENU_PREFIX)
            for key in self._texts.keys(MENU_PREFIX)
            if key.removeprefix(MENU_PREFIX) in owned
        ]
        return {
            language: [(name, self._texts.get(language, MENU_PREFIX + name)) for name in names]
            for language in self._texts.languages
        }

    @property
    def counsellors_see_flags(self) -> bool:
        """Whether a flag stored now reaches a counsellor: an alert is queued to their chat, or a
        console shows the queue. (The flag's own storing is the turn's transaction: if that
        fails, `handle` answers with the fallback, which promises nothing.)"""
        return self._counsellor_ref is not None or bool(self._counsellor_console_url)

    def _command(self, turn: Turn, text: str) -> None:
        name = text.split(maxsplit=1)[0].split("@", 1)[0].lower() if text else "/"
        if turn.person.consented_at is None and name not in self.registry.open_before_consent:
            self._ask_consent(turn)
            return
        handler = self.registry.commands.get(name)
        if handler is None:
            turn.say(turn.t("unknown_command"))
            return
        handler(turn)

    def _guarded(self, turn: Turn, data: str) -> bool:
        """The guard of the person's state, if its flow declared one; a guard that moves them
        to another state (the crisis pause resuming what it held) hands on to that state's.
        True: a guard answered the button."""
        seen: set[str] = set()
        while turn.state not in seen:
            seen.add(turn.state)
            guard = self.registry.guards.get(turn.state)
            if guard is None:
                return False
            if guard(turn, data):
                return True
        return False

    def _ask_consent(self, turn: Turn) -> None:
        turn.say(turn.t("consent_needed"), consent_buttons(turn))

    def _choice(self, turn: Turn, data: str) -> None:
        prefix, _, rest = data.partition(":")
        if self._guarded(turn, data):
            return
        if turn.person.consented_at is None and prefix not in self.registry.open_before_consent:
            self._ask_consent(turn)
            return
        if prefix == MENU_CHOICE:  # menu buttons are shortcuts for commands
            self._command(turn, "/" + rest)
            return
        handler = self.registry.choices.get(prefix)
        if handler is None:
            turn.say(turn.t("unknown_choice"), turn.menu_buttons())
            return
        handler(turn, rest)
