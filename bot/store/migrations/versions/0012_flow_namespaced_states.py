"""flows own their states: stored states renamed to "<flow>.<state>"; person polarity dropped

Each flow now declares its own states, named after it (bot/conversation.py, `Flow`); the core
keeps only "new", "idle" and the crisis pause "after_crisis", which keep their names. A state is
stored in `person.state` and, for the two states that keep what they interrupted, inside
`person.state_data` too: the crisis pause's "paused" (with the interrupted data in
"paused_data") and /forget's question's "previous" (with "previous_data"), nested in each other
when one interrupted the other. All are renamed, both ways. Neither column is sealed (a state
names a step of the conversation, never words or ids), so no key is needed.

`person.polarity_pos` / `polarity_neg` were never written (a card keeps its own polarity
snapshot); they are dropped, and come back empty on downgrade.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a migration must not follow the flows' constants as they change later.
RENAMED = {
    "awaiting_consent": "frame.awaiting_consent",
    "confirming_forget": "frame.confirming_forget",
    "assessing": "assessment.asking",
    "composing": "cards.composing",
    "confirming_card": "cards.confirming",
    "replying": "cards.replying",
    "answering_counsellor": "counsellor.answering",
}
# Keys of state data that hold a state, and the keys holding that state's own data.
_STATE_KEYS = {"paused": "paused_data", "previous": "previous_data"}


def _renamed_data(data: object, names: Mapping[str, str]) -> object:
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for state_key, data_key in _STATE_KEYS.items():
        value = out.get(state_key)
        if isinstance(value, str):  # the frame's NEW data has "paused": true, not a state
            out[state_key] = names.get(value, value)
        if data_key in out:
            out[data_key] = _renamed_data(out[data_key], names)
    return out


def _rename(names: Mapping[str, str]) -> None:
    person = sa.table(
        'person', sa.column('id', sa.Integer()), sa.column('state', sa.String()),
        sa.column('state_data', sa.JSON()),
    )  # fmt: skip
    bind = op.get_bind()
    rows = bind.execute(sa.select(person.c.id, person.c.state, person.c.state_data)).all()
    for row_id, state, data in rows:
        new_state = names.get(state, state)
        new_data = _renamed_data(data, names)
        if new_state != state or new_data != data:
            bind.execute(
                person.update()
                .where(person.c.id == row_id)
                .values(state=new_state, state_data=new_data)
            )


def upgrade() -> None:
    _rename(RENAMED)
    # A plain ALTER TABLE, not batch mode: on SQLite batch mode copies the table and drops the
    # old one, and with foreign keys on that DROP cascades to every row that references a person
    # (their outbox messages, flags, cards' keys). SQLite has dropped plain columns since 3.35.
    op.drop_column('person', 'polarity_neg')
    op.drop_column('person', 'polarity_pos')


def downgrade() -> None:
    op.add_column('person', sa.Column('polarity_pos', sa.Float(), nullable=True))
    op.add_column('person', sa.Column('polarity_neg', sa.Float(), nullable=True))
    _rename({new: old for old, new in RENAMED.items()})
