"""card delivery and staged exposure

Cards gain the staged-exposure fields (restricted, counsellor approval, helped and report
counts); `card_delivery` replaces `card_view`. The old table paired a reader's person id with
each card in the clear and cannot be resealed here (the sealing secret never reaches a
migration), so its rows are dropped: readers may be shown an old card once more, and buttons on
messages sent before this revision answer "that card isn't available".

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restricted', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('approved_for_vulnerable', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('helped_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('report_count', sa.Integer(), nullable=False, server_default='0'))

    op.create_table('card_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('reader_seal', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('shown_day', sa.Date(), nullable=False),
    sa.Column('helped', sa.Boolean(), nullable=False),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('replied', sa.Boolean(), nullable=False),
    sa.Column('sealed_copy', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('copy_sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['card.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('card_id', 'reader_seal', 'kind')
    )
    with op.batch_alter_table('card_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_delivery_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_delivery_reader_seal'), ['reader_seal'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_delivery_token'), ['token'], unique=True)

    with op.batch_alter_table('card_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_view_person_id'))
        batch_op.drop_index(batch_op.f('ix_card_view_card_id'))
    op.drop_table('card_view')


def downgrade() -> None:
    op.create_table('card_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('shown_day', sa.Date(), nullable=False),
    sa.Column('reaction', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['card.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('card_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_view_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_card_view_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('card_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_delivery_token'))
        batch_op.drop_index(batch_op.f('ix_card_delivery_reader_seal'))
        batch_op.drop_index(batch_op.f('ix_card_delivery_card_id'))
    op.drop_table('card_delivery')

    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_column('report_count')
        batch_op.drop_column('helped_count')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('approved_for_vulnerable')
        batch_op.drop_column('restricted')
