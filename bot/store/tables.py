"""SQLModel tables. Alembic migrations in bot/store/migrations follow these.

What is deliberately absent: no table holds a Telegram id, username or name in clear. A person is
their keyed-hash `key`; the chat id the bot delivers to lives only in `delivery_address`,
encrypted under the person's own key. A card holds a random `author_ref` (unique to the card,
so a copy of the database cannot group one author's cards) and an encrypted `author_link` (to
relay reactions and replies), never the author's key or id, and only the day it was written; a
person finds their own cards through their private index in `person_secret`, sealed under their
own key. docs/privacy.md says what a copy of the database reveals, with and without the key.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC: SQLModel stores datetimes as UTC and refuses naive ones."""
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(UTC).date()


def day_start() -> datetime:
    """Midnight UTC today: the time of what must not be dated finer than the day."""
    return datetime.combine(today(), datetime.min.time(), tzinfo=UTC)


class Person(SQLModel, table=True):
    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=64)
    language: str = Field(default="en", max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    consented_at: datetime | None = None
    # conversation state machine (bot/conversation.py): a core state ("new", "idle", the
    # crisis pause) or a flow's, named after it ("cards.composing"); survives restarts
    state: str = Field(default="new", max_length=32)
    state_data: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON))
    # the latest assessment (bot/assessment): evidence, not a diagnosis
    dominant_emotion: str | None = Field(default=None, max_length=32)
    user_class: str | None = Field(default=None, max_length=32)
    mood_level: int | None = None
    assessment_confidence: float | None = None
    assessed_at: datetime | None = None
    # The latest assessment's final state (bot.assessment.state.AssessmentState as JSON:
    # posteriors and question/option ids, never words). A later /assess starts from it
    # (`reassess.previous_weight`) and "that doesn't sound like me" revisits it, whatever the
    # person did in between. On this row, so /forget deletes it with the person.
    assessment_state: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    state_embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class PersonSecret(SQLModel, table=True):
    """A person's own key (random, wrapped under the server key) and their private index of
    own cards (sealed under that key). /forget deletes this row first: everything sealed under
    the key (address, check-ins, flag text, the index) stops opening at once, wherever copies
    of it survive (crypto-shredding, bot/store/keys.py)."""

    __tablename__ = "person_secret"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True, index=True, ondelete="CASCADE")
    wrapped_key: str
    sealed_index: str | None = None


class DeliveryAddress(SQLModel, table=True):
    """The one place a channel address is kept, and only encrypted (under the person's key)."""

    __tablename__ = "delivery_address"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    sealed_ref: str


class Flag(SQLModel, table=True):
    """Something a counsellor must look at. `case_ref` is its case's random pseudonym (never
    derived from the person). The text of a person's flag is sealed under their own key."""

    __tablename__ = "flag"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, ondelete="CASCADE"
    )
    case_ref: str = Field(max_length=16, index=True)
    kind: str = Field(max_length=32)  # crisis | toxic_card | report | toxic_reply
    severity: str = Field(default="high", max_length=16)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    language: str = Field(default="en", max_length=8)
    card_id: int | None = Field(default=None, index=True)
    sealed_text: str | None = None  # encrypted context for the counsellor, never logged
    status: str = Field(default="open", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    case_id: int | None = Field(default=None, index=True)  # the case it opened or joined


class Card(SQLModel, table=True):
    __tablename__ = "card"

    id: int | None = Field(default=None, primary_key=True)
    text: str  # already scrubbed
    language: str = Field(default="en", max_length=8)  # for choosing readers; never shown
    content_class: str = Field(max_length=16, index=True)
    card_type: str = Field(default="peer_story", max_length=32)
    author_mood_level: int = 0
    polarity_pos: float = 0.5
    polarity_neg: float = 0.5
    # Random per card: links nothing (the author's private index lists it, sealed).
    author_ref: str = Field(index=True, unique=True, max_length=32)
    author_link: str  # encrypted person id (AES-GCM, no timestamp), to relay reactions and replies
    status: str = Field(default="published", max_length=16, index=True)
    reply_to_card_id: int | None = Field(default=None, foreign_key="card.id", ondelete="CASCADE")
    created_day: date = Field(default_factory=today)
    embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Staged exposure (policies/matching.yaml `staged_exposure`, bot/store/cards.py): a card
    # first reaches readers who feel good; vulnerable and harmful readers only once enough
    # readers said it helped and nobody reported it, or once a counsellor approved it.
    restricted: bool = False  # moderation said `restrict`: readers who feel good, ever
    approved_for_vulnerable: bool = False  # set by a counsellor (approve_card)
    reviewed_at: datetime | None = None
    helped_count: int = 0
    report_count: int = 0


class CardDelivery(SQLModel, table=True):
    """One card (or reply) delivered to one person, and what they did with it.

    Buttons carry only `token` (random, unguessable), so a reaction acts only on something
    delivered to the person pressing it. The reader is a keyed hash under the reader's own key
    of this card and kind (`reader_tag`): different for every delivery, so rows of one reader
    cannot be grouped, and nobody without the reader's key can say who read, reacted or
    replied; the Telegram chat and message ids of the delivered copy (for withdrawing it) are
    encrypted.
    """

    __tablename__ = "card_delivery"
    __table_args__ = (UniqueConstraint("card_id", "reader_tag", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, unique=True, index=True)
    card_id: int = Field(foreign_key="card.id", index=True, ondelete="CASCADE")
    reader_tag: str = Field(max_length=64, index=True)
    kind: str = Field(default="card", max_length=8)  # card | reply
    shown_day: date = Field(default_factory=today)
    helped: bool = False
    reported: bool = False
    replied: bool = False
    sealed_copy: str | None = None  # encrypted {"chat", "messages", "sent"}: time only sealed


class OutboxMessage(SQLModel, table=True):
    """A message waiting for delivery: to a person (`person_id`), or to a chat that is not a
    person of ours, such as the counsellors' alert chat (`sealed_address`, encrypted).

    The words are sealed in `payload` while the row waits, and a delivered row is deleted: a
    copy of the database keeps no trace of who was sent what (bot/store/outbox.py)."""

    __tablename__ = "outbox"
    # Ids are never given twice (migration 0014): a late record of a delivery, by id, must not
    # reach a newer message that took a deleted row's id (SQLite reuses max + 1 otherwise).
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, ondelete="CASCADE"
    )
    sealed_address: str | None = None
    # A keyed hash of the card whose words this message carries (a reply), so /forget by its
    # writer can withdraw it before delivery; a hash, so the row does not name the card.
    card_tag: str | None = Field(default=None, index=True, max_length=64)
    # The case an alert to the counsellors' chat is about, so /forget withdraws it too.
    case_id: int | None = Field(default=None, index=True)
    channel: str = Field(max_length=16)
    payload: dict[str, object] = Field(sa_column=Column(JSON))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    # Higher goes first (a crisis answer ahead of every queue).
    priority: int = Field(default=0)
    # A worker that took the row holds it until then (a lease): another worker skips it, and
    # a worker that died lets it go when the lease runs out.
    claimed_until: datetime | None = None


class InboxUpdate(SQLModel, table=True):
    """One update from a channel, stored (sealed) before the channel is told it arrived.

    The webhook answers 200, and polling confirms the offset, only after this row is committed,
    so a process that dies loses nothing; `update_id` is unique per channel, so an update
    delivered twice is handled once. `lane` is a keyed hash of the chat: one lane's updates are
    handled in order, one at a time, across workers. A handled row keeps no payload.
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    lane: str = Field(max_length=64, index=True)
    sealed_payload: str | None = Field(default=None, sa_column=Column(Text))
    # pending, done, set_aside (could not be parsed or handled; `error` is the type only),
    # skipped (over the person's cap and not a crisis)
    status: str = Field(default="pending", max_length=16, index=True)
    over_cap: bool = False
    attempts: int = 0
    error: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class SideWork(SQLModel, table=True):
    """A turn's side transaction (cards, reactions, messages for others) written down, sealed,
    in the person's own transaction, for the moment between the two commits (PostgreSQL).

    The side transaction deletes its row as it commits; a row still here some seconds later
    means the process died between the commits, and any worker writes the side work then
    (bot/store/side_work.py). Nothing in the clear: no person, lane or time.
    """

    __tablename__ = "side_work"

    id: int | None = Field(default=None, primary_key=True)
    sealed: str = Field(sa_column=Column(Text, nullable=False))


class SendBudget(SQLModel, table=True):
    """A token bucket shared by every worker of one bot token (Telegram counts per token)."""

    __tablename__ = "send_budget"

    name: str = Field(primary_key=True, max_length=32)
    tokens: float = 0.0
    updated_at: datetime = Field(default_factory=utcnow)


# -- counsellors and their cases (bot/store/cases.py, bot/console/) ------------------------------


class Counsellor(SQLModel, table=True):
    """A console account. Only an argon2 hash of the password is kept."""

    __tablename__ = "counsellor"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True, unique=True)
    password_hash: str
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ConsoleSession(SQLModel, table=True):
    """A server-side login session. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of the database cannot be replayed as a login."""

    __tablename__ = "console_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, index=True, unique=True)
    counsellor_id: int = Field(foreign_key="counsellor.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class Case(SQLModel, table=True):
    """What counsellors work on: one or more flags about one person or one card.

    `pseudonym` is random, drawn when the case opens: never derived from the person, and a
    person's next case gets another one (a counsellor may link cases, which copies nothing but
    a `linked` event). `person_id` is internal and never shown; a card's case has none, so the
    database does not pair a person's crisis with the cards they wrote.
    """

    __tablename__ = "counsellor_case"

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=24, index=True, unique=True)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, ondelete="SET NULL"
    )
    card_id: int | None = Field(default=None, index=True)
    source: str = Field(max_length=32)  # the first flag's kind: crisis | toxic_card | report ...
    severity: str = Field(default="medium", max_length=16)  # high | medium | low
    status: str = Field(default="new", max_length=16, index=True)  # new | in_review | resolved
    assignee_id: int | None = Field(default=None, foreign_key="counsellor.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    # When the text kept for review is deleted: resolution + policies/safety.yaml's retention.
    purge_text_after: datetime | None = None


class CaseEvent(SQLModel, table=True):
    """The history of a case: flags, actions and messages both ways. Message words are sealed."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="counsellor_case.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=32)
    counsellor_id: int | None = Field(
        default=None, foreign_key="counsellor.id", ondelete="SET NULL"
    )
    flag_id: int | None = Field(default=None, index=True)
    note: str | None = None  # non-identifying detail ("until 2026-12-03", a flag's categories)
    sealed_text: str | None = None  # a counsellor's note or message, or the person's answer
    created_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who looked at or did what, when. The console offers no way to change or delete a row."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    counsellor_id: int | None = Field(
        default=None, foreign_key="counsellor.id", ondelete="SET NULL"
    )
    action: str = Field(max_length=32)
    case_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Restriction(SQLModel, table=True):
    """A counsellor's pause on what one person may do (`share` or `reply`) until a time."""

    __tablename__ = "restriction"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    what: str = Field(max_length=16)
    until: datetime
    case_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)


class CheckIn(SQLModel, table=True):
    """One event of a person's check-in time series (bot/learning, seed 1 §3.6 and §3.8).

    `kind`: "shown" (a batch leaned towards a card type), "offered", "answered", "helpful",
    "skipped", "snoozed". What was said or chosen (feeling 1-5, helpful, state, card type,
    reward) is only in `sealed`, encrypted; /forget deletes the rows with the person.
    """

    __tablename__ = "checkin"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sealed: str


class LearnedValue(SQLModel, table=True):
    """One cell a learner keeps: a Q value (seed 1 §3.6) or a bandit's running sums.

    `scope` is "all" for what is learned from everyone, "p:<person id>" for one person (then
    `person_id` is set too, so /forget deletes it). Updates are single SQL statements
    (value = value + ...), so concurrent check-ins never overwrite each other.
    """

    __tablename__ = "learned_value"
    __table_args__ = (
        UniqueConstraint("learner", "scope", "state_key", "action", name="uq_learned_value_cell"),
    )

    id: int | None = Field(default=None, primary_key=True)
    learner: str = Field(max_length=16)
    scope: str = Field(max_length=32)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, ondelete="CASCADE"
    )
    state_key: str = Field(max_length=96)
    action: str = Field(max_length=32)
    value: float = 0.0
    visits: int = 0
    total: float = 0.0
    total_sq: float = 0.0


class ActionLog(SQLModel, table=True):
    """A person's recent cards, replies and reports, for the limits of policies/limits.yaml
    (bot/store/limits.py): one row per person, the (what, when) list sealed under their own
    key and padded, so a copy of the database neither groups nor times their actions."""

    __tablename__ = "action_log"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True, index=True, ondelete="CASCADE")
    sealed: str
