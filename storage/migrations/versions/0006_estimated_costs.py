"""estimated costs: runs and attempts say when the offline sample answered and the cost is an estimate

The offline sample model stands in for a tier's configured model (``lanebot ask --offline``, the
playground without keys, the demo history). Its runs are recorded under the model that would
have answered, priced at that model's catalogue price for the sample's tokens, so the audit
trail and the digest show what lanebot would have done and cost. ``cost_estimated`` keeps those
figures apart from billed ones: it is true on every run and attempt the sample answered. Rows
written before this revision were billed (or the old offline model's explicit zero), so the
column starts false.

Plain ``ADD COLUMN`` / ``DROP COLUMN`` on both backends: no table is rebuilt, so SQLite's search
triggers on ``runs`` (revision 0004) are left as they are.

Revision ID: 0006_estimated_costs
Revises: 0005_policy_log_route_features
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_estimated_costs"
down_revision: str | None = "0005_policy_log_route_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("runs", "attempts")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column("cost_estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "cost_estimated")
