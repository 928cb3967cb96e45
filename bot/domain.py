"""The product's vocabulary (docs/architecture.md) as enums and small value types.

No I/O lives here: every other module, core or channel, can import this one without pulling in a
database, a model or a network client. (Checking a `Language` code reads the language packs'
manifests once, through bot/languages.py.)

The classes come from seed 1 (needtotalk-inverse-social-network.txt): user classes (Fig. 2),
content classes (Fig. 3) and the 16 emotions, four per user class (Fig. 4). Mood levels 0-3 come
from seed 2 (knapsack-connections-mood-disorders.txt, §V-B1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, Protocol

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from bot.languages import ANALYSERS, registry


class UserClass(StrEnum):
    """Seed 1 Fig. 2: two "feeling good" and two "feeling bad" classes."""

    POTENTIAL_HEALING = "potential_healing"
    NORMAL = "normal"
    VULNERABLE = "vulnerable"
    HARMFUL = "harmful"

    @property
    def feels_good(self) -> bool:
        return self in (UserClass.POTENTIAL_HEALING, UserClass.NORMAL)


class Emotion(StrEnum):
    """Seed 1 Fig. 4: the dominant one of these decides a person's user class."""

    EMPATHY = "empathy"
    COMPASSION = "compassion"
    ALTRUISM = "altruism"
    NON_JUDGEMENT = "non_judgement"
    OPEN_MINDEDNESS = "open_mindedness"
    AUTHENTICITY = "authenticity"
    OPTIMISM = "optimism"
    RECIPROCITY = "reciprocity"
    IMPULSIVITY = "impulsivity"
    NARCISSISM = "narcissism"
    SUPERIORITY = "superiority"
    HATRED = "hatred"
    REGRET = "regret"
    SELF_DOUBT = "self_doubt"
    NEED_FOR_VALIDATION = "need_for_validation"
    NEGATIVE_SELF_TALK = "negative_self_talk"

    @property
    def user_class(self) -> UserClass:
        return EMOTION_CLASS[self]


EMOTION_CLASS: dict[Emotion, UserClass] = {
    **dict.fromkeys(
        (Emotion.EMPATHY, Emotion.COMPASSION, Emotion.ALTRUISM, Emotion.NON_JUDGEMENT),
        UserClass.POTENTIAL_HEALING,
    ),
    **dict.fromkeys(
        (
            Emotion.OPEN_MINDEDNESS,
            Emotion.AUTHENTICITY,
            Emotion.OPTIMISM,
            Emotion.RECIPROCITY,
        ),
        UserClass.NORMAL,
    ),
    **dict.fromkeys(
        (Emotion.IMPULSIVITY, Emotion.NARCISSISM, Emotion.SUPERIORITY, Emotion.HATRED),
        UserClass.HARMFUL,
    ),
    **dict.fromkeys(
        (
            Emotion.REGRET,
            Emotion.SELF_DOUBT,
            Emotion.NEED_FOR_VALIDATION,
            Emotion.NEGATIVE_SELF_TALK,
        ),
        UserClass.VULNERABLE,
    ),
}

EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)


class ContentClass(StrEnum):
    """Seed 1 Fig. 3: what a card is, as far as who may see it is concerned."""

    INSPIRATIONAL = "inspirational"
    ENTERTAINING = "entertaining"
    VULNERABLE = "vulnerable"
    TOXIC = "toxic"


class MoodLevel(IntEnum):
    """Seed 2 §V-B1: 0 none, 1 early, 2 mild, 3 severe tendency. Never shown as a diagnosis."""

    NONE = 0
    EARLY = 1
    MILD = 2
    SEVERE = 3


class _Languages(type):
    """`for language in Language`: every language the bot speaks now (the registry's packs,
    the default first), as enum classes iterate over their members."""

    def __iter__(cls) -> Iterator[Language]:
        return iter([Language(code) for code in registry().codes])

    def __len__(cls) -> int:
        return len(registry().codes)


class Language(str, metaclass=_Languages):
    """A language the bot speaks: the code of a pack in the language registry (bot/languages.py,
    docs/languages.md), checked when made, so `Language("xx")` without a pack is a ValueError.
    Not a closed list: adding prompts/<code>/ adds a language, and `for lang in Language`
    goes through the packs there are.

    `Language.EN` and `Language.JA` name the languages the code's own analysers were built for
    (bot/languages.py ANALYSERS); nothing else about a language is known to the code. Made
    without the registry's check, so importing this module reads no file; the registry is read
    (once) the first time a code is checked. One instance per code, like enum members, so
    `reading.language is Language.JA` keeps working."""

    __slots__ = ()
    EN: ClassVar[Language]
    JA: ClassVar[Language]

    def __new__(cls, code: object) -> Language:
        if isinstance(code, Language):
            return code
        text = str(code).strip().lower()
        languages = registry()
        if text not in languages:
            raise ValueError(
                f"{code!r} is not a language the bot speaks ({', '.join(languages.codes)})"
            )
        return _language_instance(text)

    @property
    def value(self) -> str:
        """The code, as a plain str (the name enum members had)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Language({self.value!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


_LANGUAGES: dict[str, Language] = {}


def _language_instance(code: str) -> Language:
    """The one Language object for `code` (unchecked: callers check it against the registry)."""
    instance = _LANGUAGES.get(code)
    if instance is None:
        instance = _LANGUAGES.setdefault(code, str.__new__(Language, code))
    return instance


Language.EN = _language_instance("en")
Language.JA = _language_instance("ja")
# The languages the code's analysers were built for: what a pack's `analysers` may name.
ANALYSER_LANGUAGES: tuple[Language, ...] = tuple(_language_instance(c) for c in ANALYSERS)


@dataclass(frozen=True, slots=True)
class Polarity:
    """Positive and negative evidence in [0, 1]; seed 2's Pos() uses their ratio."""

    pos: float
    neg: float


@dataclass(frozen=True, slots=True)
class EmotionReading:
    """What the emotion engine reads from one text: evidence, not a verdict about the person."""

    scores: dict[Emotion, float]
    polarity: Polarity
    language: Language

    @property
    def top(self) -> Emotion:
        return max(self.scores, key=lambda e: self.scores[e])

    @property
    def user_class(self) -> UserClass:
        return self.top.user_class


@dataclass(frozen=True, slots=True, repr=False)
class AuthorNames:
    """The author's names as the channel gave them at the time of writing.

    The scrubber uses them only to mask them in the author's own text (a sign-off "Love, Mia"
    from a person Telegram calls Mia). They are never stored, logged or relayed: they live in
    the `Inbound` of one update and die with it.
    """

    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None

    def __repr__(self) -> str:
        # A name must never reach a log line or an exception message by way of a repr.
        return "AuthorNames(<redacted>)"


class InboundKind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"  # a button press; `text` holds the button's data
    UNSUPPORTED = "unsupported"  # sticker, photo, voice, document, ...
    EDITED = "edited"  # an edit of an earlier message


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did, as any channel sees it.

    `user_ref` is the channel's own opaque key for the person (for Telegram, the chat id as a
    string). The core seals it before it touches storage and never puts it in an Outbound.
    `author_names` are the person's names as the channel shows them now (Telegram's first
    name, last name and username; None where a channel has none, as the console), passed
    along only so the scrubber can mask them in what the person writes.
    """

    user_ref: str
    kind: InboundKind
    text: str = ""
    language_hint: str | None = None
    author_names: AuthorNames | None = field(default=None, repr=False)


# The largest id a database integer column holds (PostgreSQL `integer`); past it is no id of ours.
DB_INT_MAX = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def parse_id(value: object) -> int | None:
    """A positive number written in ASCII digits that fits a database integer; None otherwise.

    Button data comes from the person's client and may be forged: `str.isdigit` accepts "²" (which
    `int` refuses) and "١٢" (which `int` reads), and a number past 2**31-1 fails a PostgreSQL
    query. Anything that is not one of our ids must get the ordinary "not available" answer.
    """
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _ASCII_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if 0 < number <= DB_INT_MAX else None


def without_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (a client can send "\\ud800" in JSON) become U+FFFD: they cannot
    be encoded as UTF-8, so a tokenizer, a database driver or a log line would fail on them."""
    return _SURROGATE.sub("\ufffd", text)


def sanitised(inbound: Inbound) -> Inbound:
    """The Inbound with every string the channel gave made encodable: the one place text enters
    the core, so no flow has to think about it."""
    names = inbound.author_names
    if names is not None:
        names = AuthorNames(
            *(
                None if part is None else without_surrogates(part)
                for part in (names.first_name, names.last_name, names.username)
            )
        )
    return replace(
        inbound,
        user_ref=without_surrogates(inbound.user_ref),
        text=without_surrogates(inbound.text),
        language_hint=None
        if inbound.language_hint is None
        else without_surrogates(inbound.language_hint),
        author_names=names,
    )


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message for the channel to send to the person who wrote the Inbound.

    `protect_content` is set on everything that carries another person's words, so Telegram
    forbids forwarding and saving it (docs/architecture.md, anonymity rules).

    `image_png`: a picture to send with `text` as its caption (the /progress chart); a channel
    that cannot show pictures saves it and says where.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    protect_content: bool = False
    is_card: bool = False
    flags: frozenset[str] = field(default_factory=frozenset)
    # Set on a card or reply delivered to this person: the channel reports where the copy
    # landed (DeliveredCopies), so a withdrawn card can be deleted from the chat.
    delivery_token: str | None = None
    image_png: bytes | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message addressed to someone other than the sender (docs/architecture.md, "outbox").

    `recipient_ref` is the channel key, unsealed only at delivery time.
    """

    id: int
    recipient_ref: str
    message: Outbound
    attempts: int = 0
    # Not a message to send but earlier copies to delete (a withdrawn card), by message id.
    delete_message_ids: tuple[int, ...] = ()
    # The answer to a pressed button: the channel may edit that message (this id) into this
    # one instead of sending a new one; it sends a new one when the edit is refused.
    edit_message_id: int | None = None
    # The claim this worker holds on the row (its lease's end, which is also its fencing token:
    # a row claimed again by another worker after the lease ran out has another one).
    lease: datetime | None = None
    # How many of its messages (a long text's parts, a picture before its text) went out in
    # an earlier attempt that was cut off: those are not sent again.
    parts_sent: int = 0
    # Claimed before by a worker that never recorded an outcome (it died, or stalled past its
    # lease): this may have gone out already.
    retaken: bool = False


# Called by the core inside a turn's transaction: (session, person id, replies, urgent). A
# durable inbox uses it to mark its update handled and queue the replies in the same commit.
Settle = Callable[[Any, int, list[Outbound], bool], None]


class Conversation(Protocol):
    """What a channel needs from the core: one call per thing a person did.

    Synchronous on purpose (database and model work); an async channel runs it in a worker
    thread and keeps one person's updates in order.
    """

    def handle(self, inbound: Inbound) -> list[Outbound]: ...

    def command_menu(self) -> dict[str, list[tuple[str, str]]]:
        """Per language, the (command, description) pairs a channel shows as its menu: the
        commands the flows own, described in prompts/<lang>/menu.yaml."""
        ...


class Outbox(Protocol):
    """What a channel needs to deliver messages that wait in the outbox table."""

    def due(self, channel: str, limit: int = 50) -> list[OutboxItem]: ...

    def delivered(self, item_id: int) -> None: ...

    def delivered_many(self, item_ids: Sequence[int]) -> None:
        """`delivered` for several items, in one write."""
        ...

    def failed(self, item_id: int, retry_after_seconds: float | None = None) -> None: ...

    def undeliverable(self, item_id: int) -> None: ...

    def release(self, item_id: int) -> None: ...

    def renew(self, item_id: int, lease: datetime | None) -> datetime | None: ...

    def progress(self, item_id: int, parts_sent: int) -> None:
        """A message in several parts: this many went out (so a retry sends the rest only)."""
        ...


class DeliveredCopies(Protocol):
    """Where a delivered card landed, reported by the channel after sending it (for withdraw)."""

    def copy_sent(
        self, token: str, channel: str, chat_ref: str, message_ids: Sequence[int]
    ) -> None: ...


class Housekeeping(Protocol):
    """Work a long-running channel does now and then besides messages: deleting review text
    whose retention ended (bot.store.retention). `run_once` is synchronous database work."""

    @property
    def interval_seconds(self) -> float: ...

    def run_once(self) -> int: ...
