"""trigrams across words for text search on PostgreSQL

``pg_trgm`` splits a text into words at spaces and punctuation, so for a needle of several words
("refund login") its index (revision 0004) hands over every run holding each word somewhere:
tens of thousands to recheck when the words are common and rarely side by side. These GIN indexes
are on the texts with each ASCII space and punctuation mark replaced by ``0``
(``storage.text_index.joined_sql``), so the needle's trigrams across its words (``d0l``) are
indexed too and the candidates are the runs with the words next to each other. Search uses them
only for needles that span words; the ``ILIKE`` on the texts as stored still decides.

SQLite needs nothing: its FTS5 trigram tokenizer keeps spaces and punctuation, and search asks it
for the needle as one phrase (``storage.text_index.fts5_query``). Skipped with a warning, as in
0004, if ``pg_trgm`` cannot be created; a later upgrade adds them (``text_index.ensure``). The
builds hold writes to ``runs`` back until they finish (a few minutes at a million runs).

Revision ID: 0005_search_joined_trigrams
Revises: 0004_search_indexes
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from storage import text_index

revision: str = "0005_search_joined_trigrams"
down_revision: str | None = "0004_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text_index.create_joined(op.get_bind())


def downgrade() -> None:
    text_index.drop_joined(op.get_bind())
