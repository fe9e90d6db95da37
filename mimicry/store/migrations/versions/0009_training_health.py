"""Training health per registered model: the worst finding over its fits, and the findings of
each fit (docs/design.md §20); NULL on models registered before the checks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trained_models") as batch:
        batch.add_column(sa.Column("health", sa.String(8), nullable=True))
        batch.add_column(sa.Column("health_findings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trained_models") as batch:
        batch.drop_column("health_findings")
        batch.drop_column("health")
