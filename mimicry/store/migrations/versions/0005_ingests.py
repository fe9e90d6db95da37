"""ingests: where and when each ingest's draws came from, kept once per ingest instead of on every
draw row (draws.source and draws.ingested_at become draws.ingest_id); on SQLite draws becomes a
WITHOUT ROWID table

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("first_position", sa.Integer(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["stream_id"], ["streams.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ingests_stream_id", "ingests", ["stream_id"])
    # Not a foreign key: PostgreSQL would check it on every draw written (models.Draw says more).
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ingest_id", sa.Integer(), nullable=True))
    # One ingest per (stream, source) the draws already name; a hand-reported draw has no file.
    op.execute(
        "INSERT INTO ingests (stream_id, source, first_position, draws, ingested_at) "
        "SELECT stream_id, source, MIN(position), COUNT(*), MIN(ingested_at) FROM draws "
        "GROUP BY stream_id, source"
    )
    op.execute(
        "UPDATE draws SET ingest_id = (SELECT ingests.id FROM ingests "
        "WHERE ingests.stream_id = draws.stream_id AND (ingests.source = draws.source "
        "OR (ingests.source IS NULL AND draws.source IS NULL)))"
    )
    # SQLite rebuilds the table here anyway: as WITHOUT ROWID, rows kept in the primary key.
    with op.batch_alter_table(
        "draws", schema=None, table_kwargs={"sqlite_with_rowid": False}
    ) as batch_op:
        batch_op.drop_column("source")
        batch_op.drop_column("ingested_at")


def downgrade() -> None:
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE draws SET "
        "source = (SELECT source FROM ingests WHERE ingests.id = draws.ingest_id), "
        "ingested_at = (SELECT ingested_at FROM ingests WHERE ingests.id = draws.ingest_id)"
    )
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_column("ingest_id")
    op.drop_index("ix_ingests_stream_id", table_name="ingests")
    op.drop_table("ingests")
