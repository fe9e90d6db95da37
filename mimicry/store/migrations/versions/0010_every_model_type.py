"""Every model type kept (docs/design.md §20, ``save_all_models``): a run may register the best
model of each type; ``chosen`` marks the one that predicts (the winner). Models registered
before are the winners of their runs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 03:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trained_models") as batch:
        batch.add_column(
            sa.Column("chosen", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("trained_models") as batch:
        batch.drop_column("chosen")
