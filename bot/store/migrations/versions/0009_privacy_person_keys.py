"""per-person keys, AES-GCM seals, no author grouping, no delivered outbox rows

What a copy of the database may reveal changes here (docs/privacy.md):
- every sealed value is re-sealed from Fernet (whose tokens carry their creation time to the
  second) to AES-GCM with associated data naming its table and column;
- each person gets a random key in `person_secret`, wrapped under the server key; their
  address, check-ins, flag texts and case texts are re-sealed under it;
- `card.author_seal` (a keyed hash grouping all of one author's cards) becomes a random
  `author_ref` per card, listed in the author's private index sealed under their key;
- `card_delivery.reader_seal` (one value per reader) becomes a per-delivery tag under the
  reader's key; the rows of /mycards listings (`own`) are dropped (the withdraw buttons on
  /mycards messages sent before this revision answer "that card isn't available");
- delivered, failed and undeliverable outbox rows are deleted; waiting ones get a sealed
  payload and a keyed hash instead of the card id;
- flags take their case's random pseudonym as `case_ref` (no more hash of the person).

The sealing secret comes from `bot.store.engine.upgrade(..., secret=...)` (the running
Settings), else from the environment's Settings. The old values are read with the Fernet key
derived exactly as before this revision. A value that does not open is dropped (it could not be
read by the bot either).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import context, op
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.store.sealing import Sealer, new_person_key, seal_with, tag_with

revision: str = '0009'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _secret() -> str:
    secret = context.config.attributes.get("secret")
    if secret:
        return str(secret)
    from bot.config import Settings

    return Settings().secret_key.get_secret_value()


class _Old:
    """Fernet as sealed before this revision (HKDF label "needtotalk/encryption/v1")."""

    def __init__(self, secret: str) -> None:
        raw = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"needtotalk/encryption/v1"
        ).derive(secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(raw))

    def open(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None


def _table(name: str, *columns: str) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in columns))


def upgrade() -> None:
    op.create_table('person_secret',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sealed_index', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person_secret', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_secret_person_id'), ['person_id'], unique=True)
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_ref', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_tag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))

    deliveries = _reseal(op.get_bind())

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_author_seal'))
        batch_op.drop_column('author_seal')
        batch_op.alter_column('author_ref', existing_type=sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False)
        batch_op.create_index(batch_op.f('ix_card_author_ref'), ['author_ref'], unique=True)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_card_id'))
        batch_op.drop_column('card_id')
        batch_op.create_index(batch_op.f('ix_outbox_card_tag'), ['card_tag'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_case_id'), ['case_id'], unique=False)

    # card_delivery: one column's meaning changes and its unique constraint with it; the table
    # is small (one row per delivery), so it is rebuilt with its rows re-tagged.
    with op.batch_alter_table('card_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_delivery_token'))
        batch_op.drop_index(batch_op.f('ix_card_delivery_reader_seal'))
        batch_op.drop_index(batch_op.f('ix_card_delivery_card_id'))
    op.drop_table('card_delivery')
    op.create_table('card_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('reader_tag', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('shown_day', sa.Date(), nullable=False),
    sa.Column('helped', sa.Boolean(), nullable=False),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('replied', sa.Boolean(), nullable=False),
    sa.Column('sealed_copy', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['card.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('card_id', 'reader_tag', 'kind')
    )
    with op.batch_alter_table('card_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_delivery_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_delivery_reader_tag'), ['reader_tag'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_delivery_token'), ['token'], unique=True)
    if deliveries:
        op.bulk_insert(
            sa.table(
                'card_delivery',
                sa.column('token'), sa.column('card_id'), sa.column('reader_tag'),
                sa.column('kind'), sa.column('shown_day', sa.Date()),
                sa.column('helped', sa.Boolean()), sa.column('reported', sa.Boolean()),
                sa.column('replied', sa.Boolean()), sa.column('sealed_copy'),
            ),
            deliveries,
        )


def _reseal(bind: sa.engine.Connection) -> list[dict[str, Any]]:
    """Re-seal every value; returns the card_delivery rows to write into the rebuilt table."""
    person = _table('person', 'id', 'key')
    people = [(row.id, row.key) for row in bind.execute(sa.select(person.c.id, person.c.key))]
    has_data = bool(people) or bind.execute(sa.text("SELECT count(*) FROM card")).scalar()
    if not has_data:
        return []
    secret = _secret()
    sealer, old = Sealer(secret), _Old(secret)
    keys: dict[int, bytes] = {}
    by_author_seal: dict[str, int] = {}
    by_reader_seal: dict[str, int] = {}
    person_secret = _table('person_secret', 'person_id', 'wrapped_key', 'sealed_index')
    for person_id, key in people:
        keys[person_id] = new_person_key()
        by_author_seal[sealer.keyed_hash("author", key)] = person_id
        by_reader_seal[sealer.keyed_hash("reader", key)] = person_id

    # delivery addresses, under the person's key
    address = _table('delivery_address', 'id', 'person_id', 'sealed_ref')
    for row in list(bind.execute(sa.select(address.c.id, address.c.person_id, address.c.sealed_ref))):
        value = old.open(row.sealed_ref)
        if value is None or row.person_id not in keys:
            bind.execute(address.delete().where(address.c.id == row.id))
            continue
        sealed = seal_with(keys[row.person_id], value, purpose=f"delivery_address.sealed_ref:{row.person_id}")
        bind.execute(address.update().where(address.c.id == row.id).values(sealed_ref=sealed))

    # cards: a random reference each, listed in the author's private index
    card = _table('card', 'id', 'author_seal', 'author_link', 'author_ref')
    index: dict[int, list[str]] = {pid: [] for pid in keys}
    for row in list(bind.execute(sa.select(card.c.id, card.c.author_seal, card.c.author_link).order_by(card.c.id))):
        ref = secrets.token_hex(16)
        author = by_author_seal.get(row.author_seal)
        if author is None:
            opened = old.open(row.author_link)
            author = int(opened) if opened and opened.isdigit() and int(opened) in keys else None
        link = sealer.seal(str(author) if author is not None else "", purpose=f"card.author_link:{ref}")
        if author is not None:
            index[author].append(ref)
        bind.execute(card.update().where(card.c.id == row.id).values(author_ref=ref, author_link=link))
    for person_id, key in keys.items():
        sealed_index = seal_with(key, json.dumps(index[person_id]), purpose=f"person_secret.sealed_index:{person_id}")
        bind.execute(person_secret.insert().values(
            person_id=person_id,
            wrapped_key=sealer.wrap_person_key(key, person_id),
            sealed_index=sealed_index,
        ))

    # flags: their case's pseudonym, text under the person's key (or the server key for a card)
    flag = _table('flag', 'id', 'person_id', 'case_id', 'sealed_text', 'case_ref')
    case = _table('counsellor_case', 'id', 'pseudonym', 'person_id')
    pseudonyms = {r.id: r.pseudonym for r in bind.execute(sa.select(case.c.id, case.c.pseudonym))}
    case_person = {r.id: r.person_id for r in bind.execute(sa.select(case.c.id, case.c.person_id))}
    for row in list(bind.execute(sa.select(flag.c.id, flag.c.person_id, flag.c.case_id, flag.c.sealed_text))):
        text = old.open(row.sealed_text)
        purpose = f"flag.sealed_text:{row.id}"
        sealed = None
        if text is not None:
            if row.person_id in keys:
                sealed = seal_with(keys[row.person_id], text, purpose=purpose)
            else:
                sealed = sealer.seal(text, purpose=purpose)
        ref = pseudonyms.get(row.case_id) or "case-" + secrets.token_hex(4)
        bind.execute(flag.update().where(flag.c.id == row.id).values(sealed_text=sealed, case_ref=ref))

    event = _table('case_event', 'id', 'case_id', 'sealed_text')
    for row in list(bind.execute(sa.select(event.c.id, event.c.case_id, event.c.sealed_text).where(event.c.sealed_text.is_not(None)))):
        text = old.open(row.sealed_text)
        purpose = f"case_event.sealed_text:{row.case_id}"
        owner = case_person.get(row.case_id)
        sealed = None
        if text is not None:
            sealed = seal_with(keys[owner], text, purpose=purpose) if owner in keys else sealer.seal(text, purpose=purpose)
        bind.execute(event.update().where(event.c.id == row.id).values(sealed_text=sealed))

    checkin = _table('checkin', 'id', 'person_id', 'sealed')
    for row in list(bind.execute(sa.select(checkin.c.id, checkin.c.person_id, checkin.c.sealed))):
        text = old.open(row.sealed)
        if text is None or row.person_id not in keys:
            bind.execute(checkin.delete().where(checkin.c.id == row.id))
            continue
        sealed = seal_with(keys[row.person_id], text, purpose=f"checkin.sealed:{row.person_id}")
        bind.execute(checkin.update().where(checkin.c.id == row.id).values(sealed=sealed))

    # the outbox keeps only what still waits, sealed
    outbox = sa.table(
        'outbox', sa.column('id'), sa.column('status'), sa.column('sealed_address'),
        sa.column('payload', sa.JSON()), sa.column('card_id'), sa.column('card_tag'),
    )
    bind.execute(outbox.delete().where(outbox.c.status != 'pending'))
    for row in list(bind.execute(sa.select(outbox.c.id, outbox.c.sealed_address, outbox.c.payload, outbox.c.card_id))):
        payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload or "{}")
        address_value = old.open(row.sealed_address) if row.sealed_address else None
        if row.sealed_address and address_value is None:
            bind.execute(outbox.delete().where(outbox.c.id == row.id))
            continue
        values: dict[str, Any] = {
            "payload": {"sealed": sealer.seal(json.dumps(payload), purpose="outbox.payload")},
            "card_tag": None if row.card_id is None else sealer.keyed_hash("outbox.card", str(row.card_id)),
        }
        if address_value is not None:
            values["sealed_address"] = sealer.seal(address_value, purpose="outbox.sealed_address")
        bind.execute(outbox.update().where(outbox.c.id == row.id).values(**values))

    # deliveries: a tag per delivery under the reader's key; /mycards listings are not kept
    delivery = sa.table(
        'card_delivery', sa.column('token'), sa.column('card_id'), sa.column('reader_seal'),
        sa.column('kind'), sa.column('shown_day', sa.Date()), sa.column('helped', sa.Boolean()),
        sa.column('reported', sa.Boolean()), sa.column('replied', sa.Boolean()),
        sa.column('sealed_copy'), sa.column('copy_sent_at', sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    rows: list[dict[str, Any]] = []
    for row in bind.execute(sa.select(delivery)):
        reader = by_reader_seal.get(row.reader_seal)
        if reader is None or row.kind not in ("card", "reply"):
            continue
        copy = old.open(row.sealed_copy)
        if copy is not None and row.copy_sent_at is not None:  # the time goes inside the seal
            sent = row.copy_sent_at if row.copy_sent_at.tzinfo else row.copy_sent_at.replace(tzinfo=UTC)
            copy = json.dumps({**json.loads(copy), "sent": sent.isoformat()})
        elif copy is not None:
            copy = None  # never knew when it was sent: cannot be deleted in time anyway
        rows.append({
            "token": row.token,
            "card_id": row.card_id,
            "reader_tag": tag_with(keys[reader], "card_delivery.reader_tag", f"{row.card_id}:{row.kind}"),
            "kind": row.kind,
            "shown_day": row.shown_day,
            "helped": bool(row.helped),
            "reported": bool(row.reported),
            "replied": bool(row.replied),
            "sealed_copy": None if copy is None else sealer.seal(copy, purpose=f"card_delivery.sealed_copy:{row.token}"),
        })
    return rows


def downgrade() -> None:
    raise NotImplementedError(
        "0009 re-sealed every value under new keys and dropped what linked people to cards; "
        "restore a backup taken before it to go back"
    )
