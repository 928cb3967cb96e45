"""outbox ids never reused: SQLite AUTOINCREMENT on the outbox table

A delivered row is deleted at once, so an outbox that runs empty used to give its next message
the id of the one just delivered (SQLite's rowid is max + 1 without AUTOINCREMENT). A worker
that recorded a delivery, a sent part or a failure late, by id, could then act on the new
message: delete it unsent, or make a retry skip its first parts. With AUTOINCREMENT an id is
never given twice. PostgreSQL's sequence never reuses one already; nothing changes there.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The table is copied into a new one with the same columns and indexes; a pending row
    # keeps its id, and the AUTOINCREMENT counter starts above the largest id copied.
    with op.batch_alter_table(
        "outbox", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
