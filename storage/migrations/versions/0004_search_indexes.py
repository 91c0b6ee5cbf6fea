"""indexes for audit search: each filter newest first, and a trigram index for free text

Every search answers "the newest ``limit`` runs matching these filters". An index on the filter
column alone finds the matching runs but then sorts all of them by time (600,000 for
``status = 'approved'`` at a million runs); ``(column, created_at)`` reads them already newest
first and stops after ``limit``, whether a filter matches most runs or almost none. These replace
the single-column indexes on status, requester and model (a prefix of the new ones) and add tier.
Attempts get ``(model_requested, run_id)`` and ``(model_answered, run_id)``: the runs that asked
for or got a model, for a model search that matches few runs (``storage.search_page``).

Free text gets the trigram index of ``storage.text_index``: ``pg_trgm`` GIN indexes on PostgreSQL
(skipped with a warning if the extension cannot be created), an FTS5 table kept in step by
triggers on SQLite; the runs already stored are indexed here. On PostgreSQL the index builds
take a lock that holds writes to ``runs`` back until they finish: about a minute at a million
runs on a small machine (``bench/README.md``, "Audit search").

Revision ID: 0004_search_indexes
Revises: 0003_lifecycle_guards
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

from storage import text_index

revision: str = "0004_search_indexes"
down_revision: str | None = "0003_lifecycle_guards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLACED = ("status", "requester", "model")
ATTEMPT_MODELS = ("model_requested", "model_answered")
SEARCH_INDEX_COLUMNS = ("status", "requester", "model", "tier")
"""Kept equal to ``storage.models.SEARCH_INDEX_COLUMNS`` (tests/test_migrations.py compares them)."""


def upgrade() -> None:
    for column in SEARCH_INDEX_COLUMNS:
        op.create_index(f"ix_runs_{column}_created_at", "runs", [column, "created_at"], unique=False)
    for column in REPLACED:
        op.drop_index(f"ix_runs_{column}", table_name="runs")
    for column in ATTEMPT_MODELS:
        op.create_index(f"ix_attempts_{column}", "attempts", [column, "run_id"], unique=False)
    text_index.create(op.get_bind())


def downgrade() -> None:
    text_index.drop(op.get_bind())
    for column in ATTEMPT_MODELS:
        op.drop_index(f"ix_attempts_{column}", table_name="attempts")
    for column in REPLACED:
        op.create_index(f"ix_runs_{column}", "runs", [column], unique=False)
    for column in SEARCH_INDEX_COLUMNS:
        op.drop_index(f"ix_runs_{column}_created_at", table_name="runs")
