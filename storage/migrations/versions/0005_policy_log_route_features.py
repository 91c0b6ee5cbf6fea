"""policy log, route features and shadow attempts

- ``policies``: each distinct policy (canonical, secret-free lanes.toml text) once, by sha256;
  ``runs.policy_hash`` points at it (NULL for runs recorded before this revision).
- ``run_route_features``: what routing read for each run and what it chose, for
  ``lanebot routes diff`` (no text needed). Runs before this revision have none and are reported
  as not replayable.
- ``shadow_attempts`` and ``shadow_budget``: shadow routes, kept apart from live attempts so the
  live cost, budgets and the digest never count them.

Revision ID: 0005_policy_log_route_features
Revises: 0004_search_indexes
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005_policy_log_route_features"
down_revision: str | None = "0004_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("first_loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_policies")),
    )
    op.create_index(op.f("ix_policies_first_loaded_at"), "policies", ["first_loaded_at"])
    # A plain ALTER TABLE, not a batch: on SQLite a batch copies ``runs`` into a new table, which
    # the text index's view and triggers (revision 0004) refer to by name and would not survive.
    op.add_column("runs", sa.Column("policy_hash", sa.String(64), nullable=True))
    op.create_table(
        "run_route_features",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("lane", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("input_chars", sa.Integer(), nullable=False),
        sa.Column("keywords_checked", sa.JSON(), nullable=False),
        sa.Column("keywords_hit", sa.JSON(), nullable=False),
        sa.Column("spent_today_usd", sa.Float(), nullable=False),
        sa.Column("open_circuits", sa.JSON(), nullable=False),
        sa.Column("confirmed_tier", sa.String(64), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("route_kind", sa.String(16), nullable=False),
        sa.Column("needs_confirmation", sa.Boolean(), nullable=False),
        sa.Column("estimated_cost_usd", sa.Float(), nullable=True),
        sa.Column("policy_hash", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_route_features_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_route_features")),
    )
    op.create_index(
        "ix_run_route_features_created_at_lane", "run_route_features", ["created_at", "lane"]
    )
    op.create_table(
        "shadow_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("lane", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model_requested", sa.String(128), nullable=False),
        sa.Column("model_answered", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("draft_text", sa.Text(), nullable=True),
        sa.Column("failed_checks", sa.Text(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("cost_known", sa.Boolean(), nullable=False),
        sa.Column("reserved_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_shadow_attempts_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_attempts")),
        sa.UniqueConstraint("run_id", name=op.f("uq_shadow_attempts_run_id")),
    )
    op.create_index("ix_shadow_attempts_lane_created_at", "shadow_attempts", ["lane", "created_at"])
    op.create_table(
        "shadow_budget",
        sa.Column("lane", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("reserved_usd", sa.Float(), nullable=False, server_default="0"),
        sa.Column("spent_usd", sa.Float(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("lane", "day", name=op.f("pk_shadow_budget")),
    )


def downgrade() -> None:
    op.drop_table("shadow_budget")
    op.drop_index("ix_shadow_attempts_lane_created_at", table_name="shadow_attempts")
    op.drop_table("shadow_attempts")
    op.drop_index("ix_run_route_features_created_at_lane", table_name="run_route_features")
    op.drop_table("run_route_features")
    op.drop_column("runs", "policy_hash")  # native on SQLite >= 3.35; see upgrade() for why not a batch
    op.drop_index(op.f("ix_policies_first_loaded_at"), table_name="policies")
    op.drop_table("policies")
