"""survivors: offset counts calls before the stream's first draw (None where a variable-skip
walk cannot reach it); position keeps the call of the window's first draw

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survivors", schema=None) as batch_op:
        batch_op.alter_column("offset", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("survivors", schema=None) as batch_op:
        batch_op.drop_column("position")
        batch_op.alter_column("offset", existing_type=sa.Integer(), nullable=False)
