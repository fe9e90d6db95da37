"""Selfplay (docs/design.md §21): episodes and the candidates they replayed, each stream's
versioned champion configuration, and replay scores kept for reuse.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "selfplay_episodes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stream_id", sa.Integer(), sa.ForeignKey("streams.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("frontier", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("champion_id", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        _moment("created_at"),
        _moment("finished_at", nullable=True),
    )
    op.create_index("ix_selfplay_episodes_stream_id", "selfplay_episodes", ["stream_id"])
    op.create_table(
        "selfplay_candidates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "episode_id", sa.Integer(), sa.ForeignKey("selfplay_episodes.id"), nullable=False
        ),
        sa.Column("stream_id", sa.Integer(), sa.ForeignKey("streams.id"), nullable=False),
        sa.Column("candidate_key", sa.String(16), nullable=False),
        sa.Column("candidate", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("exploration", sa.JSON(), nullable=False),
        sa.Column("confirmation", sa.JSON(), nullable=True),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cpu_seconds", sa.Float(), nullable=False),
        _moment("created_at"),
    )
    op.create_index("ix_selfplay_candidates_episode_id", "selfplay_candidates", ["episode_id"])
    op.create_index("ix_selfplay_candidates_stream_id", "selfplay_candidates", ["stream_id"])
    op.create_table(
        "champions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stream_id", sa.Integer(), sa.ForeignKey("streams.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("candidate", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("promised_hit_rate", sa.Float(), nullable=False),
        sa.Column("episode_id", sa.Integer(), sa.ForeignKey("selfplay_episodes.id"), nullable=True),
        sa.Column(
            "candidate_id", sa.Integer(), sa.ForeignKey("selfplay_candidates.id"), nullable=True
        ),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("live_from", sa.Integer(), nullable=False),
        _moment("created_at"),
        _moment("ended_at", nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("stream_id", "version"),
    )
    op.create_index("ix_champions_stream_id", "champions", ["stream_id"])
    op.create_index("ix_champions_state", "champions", ["state"])
    op.create_table(
        "replay_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stream_id", sa.Integer(), sa.ForeignKey("streams.id"), nullable=False),
        sa.Column("configuration_key", sa.String(16), nullable=False),
        sa.Column("origin", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("score", sa.JSON(), nullable=False),
        _moment("created_at"),
        sa.UniqueConstraint("stream_id", "configuration_key", "origin", "horizon", "fingerprint"),
    )
    op.create_index("ix_replay_scores_stream_id", "replay_scores", ["stream_id"])


def downgrade() -> None:
    op.drop_table("replay_scores")
    op.drop_table("champions")
    op.drop_table("selfplay_candidates")
    op.drop_table("selfplay_episodes")
