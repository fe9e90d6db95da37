"""populations, feature tables, model registry, predictions, evaluations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:14:53.615046
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("cut_index", sa.Integer(), nullable=False),
        sa.Column("cut_stop", sa.Integer(), nullable=False),
        sa.Column("schema_hash", sa.String(length=16), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "cut_index"),
    )
    with op.batch_alter_table("feature_tables", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feature_tables_run_id"), ["run_id"], unique=False)

    op.create_table(
        "populations",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("hypotheses", sa.JSON(), nullable=False),
        sa.Column("scorer_config", sa.JSON(), nullable=False),
        sa.Column("scorer_choice", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "trained_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model_type", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("schema_hash", sa.String(length=16), nullable=False),
        sa.Column("data_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("library_versions", sa.JSON(), nullable=False),
        sa.Column("signal", sa.Boolean(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trained_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trained_models_run_id"), ["run_id"], unique=False)

    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("signal", sa.String(length=10), nullable=False),
        sa.Column("pool", sa.JSON(), nullable=False),
        sa.Column("p_hit", sa.Float(), nullable=False),
        sa.Column("p_hit_low", sa.Float(), nullable=False),
        sa.Column("p_hit_high", sa.Float(), nullable=False),
        sa.Column("chance", sa.Float(), nullable=False),
        sa.Column("distribution", sa.JSON(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("top_hypotheses", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["trained_models.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_predictions_stream_id"), ["stream_id"], unique=False)

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prediction_id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("actual", sa.Integer(), nullable=False),
        sa.Column("hit", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("log_loss_gain", sa.Float(), nullable=False),
        sa.Column("rolling", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["predictions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prediction_id"),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluations_stream_id"), ["stream_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_stream_id"))

    op.drop_table("evaluations")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictions_stream_id"))

    op.drop_table("predictions")
    with op.batch_alter_table("trained_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trained_models_run_id"))

    op.drop_table("trained_models")
    op.drop_table("populations")
    with op.batch_alter_table("feature_tables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feature_tables_run_id"))

    op.drop_table("feature_tables")
