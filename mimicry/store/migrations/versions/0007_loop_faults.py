"""The loop under faults: a draw is scored once (one evaluation per stream position), and a
decision dispatched in a process says that process is alive (its owner and heartbeat)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Stores written before this revision may hold a position scored twice (a second run's
    # prediction for a position the first run's was scored at): the first scoring stands.
    op.execute(
        "DELETE FROM evaluations WHERE id NOT IN "
        "(SELECT MIN(id) FROM evaluations GROUP BY stream_id, position)"
    )
    op.create_index(
        "ux_evaluations_stream_position", "evaluations", ["stream_id", "position"], unique=True
    )
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
    op.drop_index("ux_evaluations_stream_position", table_name="evaluations")
