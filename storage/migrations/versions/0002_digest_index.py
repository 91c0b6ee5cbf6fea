"""covering index for the weekly digest's scans of runs

Every digest query reads runs requested in a week (or the chart's older weeks) and needs only
these columns, so an index holding them all answers the week without touching the table (rows
with long redacted texts are never read): PostgreSQL reads it with index-only scans, SQLite as a
covering index. It leads with ``lane, created_at`` because the digest groups by lane: it asks for
the week lane by lane (``lane IN (...)``), each lane's week is one contiguous slice, and the rows
arrive grouped, so SQLite (no hash aggregate) needs no sort for the per-lane figures. The same
prefix serves the budget read ``lane = ? AND created_at >= ?`` with ``cost_usd`` in the index.
``id`` is last so the rejection reason and edit distance can be looked up in ``decisions``.

Revision ID: 0002_digest_index
Revises: 0001_initial
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_digest_index"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "lane",
    "created_at",
    "route_kind",
    "model",
    "tier",
    "status",
    "cost_usd",
    "cost_known",
    "drafted_at",
    "decided_at",
    "fallback_reason",
    "escalation_reason",
    "id",
]
"""Kept equal to ``storage.models.DIGEST_INDEX_COLUMNS`` (tests/test_migrations.py compares them)."""


def upgrade() -> None:
    op.create_index("ix_runs_digest", "runs", COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_runs_digest", table_name="runs")
