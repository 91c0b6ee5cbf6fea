"""lifecycle guards: the approval count and the repaired-text flag on runs

``approval_count`` is the second half of the guard every counted decision carries
(``lanes.lifecycle.DecisionGuard``): two approvers of a two-person review who both saw no approval
cannot both be recorded as "1 of 2"; the second's ``UPDATE ... WHERE approval_count = 0`` finds
nothing and it decides again on the fresh count. Existing runs are backfilled from their
``approval`` decisions, so a review half done before the upgrade completes after it.

``text_repaired`` says that some text of the run could not be stored as received (a lone
surrogate, a NUL) and was repaired at the store's boundary (``lanes.audit.text``).

Revision ID: 0003_lifecycle_guards
Revises: 0002_digest_index
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_lifecycle_guards"
down_revision: str | None = "0002_digest_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("approval_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("text_repaired", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE runs SET approval_count = (SELECT count(*) FROM decisions "
        "WHERE decisions.run_id = runs.id AND decisions.kind = 'approval') "
        "WHERE EXISTS (SELECT 1 FROM decisions WHERE decisions.run_id = runs.id AND decisions.kind = 'approval')"
    )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("text_repaired")
        batch.drop_column("approval_count")
