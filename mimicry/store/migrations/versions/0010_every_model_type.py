"""Every model type kept, and a critical model not promoted (docs/design.md §20): a run may
register the best model of each type; ``chosen`` marks the one that won (models registered
before are the winners of their runs). ``runs.not_promoted`` says why a completed run's model
does not predict for its stream (NULL: it does).

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
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("not_promoted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("not_promoted")
    with op.batch_alter_table("trained_models") as batch:
        batch.drop_column("chosen")
