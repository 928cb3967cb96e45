"""SQLModel tables. Alembic migrations in bot/store/migrations follow these.

What is deliberately absent: no table holds a Telegram id, username or name in clear. A person is
their keyed-hash `key`; the chat id the bot delivers to lives only in `delivery_address`,
encrypted. A card holds an `author_seal` (keyed hash, for /forget and own-card filtering) and an
encrypted `author_link` (to relay replies), never the author's key or id, and only the day it was
written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC: SQLModel stores datetimes as UTC and refuses naive ones."""
    return datetime.now(UTC)


def today() -> date:
    return datetime.now(UTC).date()


class Person(SQLModel, table=True):
    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True, unique=True, max_length=64)
    language: str = Field(default="en", max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    consented_at: datetime | None = None
    # conversation state machine (bot/conversation.py); survives restarts
    state: str = Field(default="new", max_length=32)
    state_data: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON))
    # the latest assessment (bot/assessment): evidence, not a diagnosis
    dominant_emotion: str | None = Field(default=None, max_length=32)
    user_class: str | None = Field(default=None, max_length=32)
    mood_level: int | None = None
    polarity_pos: float | None = None
    polarity_neg: float | None = None
    assessment_confidence: float | None = None
    assessed_at: datetime | None = None
    # The latest assessment's final state (bot.assessment.state.AssessmentState as JSON:
    # posteriors and question/option ids, never words). A later /assess starts from it
    # (`reassess.previous_weight`) and "that doesn't sound like me" revisits it, whatever the
    # person did in between. On this row, so /forget deletes it with the person.
    assessment_state: dict[str, object] | None = Field(default=None, sa_column=Column(JSON))
    state_embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class DeliveryAddress(SQLModel, table=True):
    """The one place a channel address is kept, and only encrypted."""

    __tablename__ = "delivery_address"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    channel: str = Field(max_length=16)
    sealed_ref: str


class Flag(SQLModel, table=True):
    """Something a counsellor must look at. `case_ref` is a pseudonym for the counsellor console."""

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
    author_seal: str = Field(index=True, max_length=64)
    author_link: str  # encrypted person id, to relay reactions and replies
    status: str = Field(default="published", max_length=16, index=True)
    reply_to_card_id: int | None = Field(default=None, foreign_key="card.id", ondelete="CASCADE")
    created_day: date = Field(default_factory=today)
    embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class CardView(SQLModel, table=True):
    """Which cards a reader has been shown, and what they did; keyed by the reader's person id."""

    __tablename__ = "card_view"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    card_id: int = Field(foreign_key="card.id", index=True, ondelete="CASCADE")
    shown_day: date = Field(default_factory=today)
    reaction: str | None = Field(default=None, max_length=16)  # helped | reported | replied


class OutboxMessage(SQLModel, table=True):
    """A message waiting for delivery: to a person (`person_id`), or to a chat that is not a
    person of ours, such as the counsellors' alert chat (`sealed_address`, encrypted)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, ondelete="CASCADE"
    )
    sealed_address: str | None = None
    # The card whose words this message carries (a reply), so /forget by its writer can
    # withdraw it before delivery. Delivered rows keep no payload at all.
    card_id: int | None = Field(default=None, index=True)
    channel: str = Field(max_length=16)
    payload: dict[str, object] = Field(sa_column=Column(JSON))
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


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
