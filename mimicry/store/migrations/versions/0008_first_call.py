"""One word per meaning: a survivor's call index of its window's first draw is its
``first_call``; ``position`` is a draw's index in its stream alone (docs/design.md §2)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 19:00:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survivors") as batch:
        batch.alter_column("position", new_column_name="first_call")


def downgrade() -> None:
    with op.batch_alter_table("survivors") as batch:
        batch.alter_column("first_call", new_column_name="position")
