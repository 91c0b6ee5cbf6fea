"""Alembic environment: run migrations on the connection lanebot hands over (see storage.migrate)."""

from __future__ import annotations

from alembic import context

from storage.models import Base
from storage.text_index import include_in_autogenerate

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_in_autogenerate,
)
with context.begin_transaction():
    context.run_migrations()
