"""check-ins and learned values (issue 14)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkin_created_at"), ["created_at"], unique=False)
    op.create_table(
        "learned_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("state_key", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("total_sq", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "learner", "scope", "state_key", "action", name="uq_learned_value_cell"
        ),
    )
    with op.batch_alter_table("learned_value", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learned_value_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("learned_value", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learned_value_person_id"))
    op.drop_table("learned_value")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_created_at"))
        batch_op.drop_index(batch_op.f("ix_checkin_person_id"))
    op.drop_table("checkin")
