"""Where the demo store lives: its own SQLite file, next to the audit store, "demo" in its name.

Demo runs must never mix with a team's own audit trail (a digest or an audit search would count
them), so ``lanebot playground --demo`` always opens a separate file: ``lanebot.db`` gets
``lanebot-demo.db`` beside it. A PostgreSQL (or in-memory) audit store has no "beside", so the
demo file is then ``lanebot-demo.db`` in the working folder.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_DEMO_DATABASE_URL = "sqlite:///lanebot-demo.db"
SUFFIX = "-demo"


def demo_database_url(database: str) -> str:
    """The demo store's URL for the audit store at ``database``."""
    url = make_url(database)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return DEFAULT_DEMO_DATABASE_URL
    path = Path(url.database)
    if path.stem.endswith(SUFFIX):
        return database
    return f"sqlite:///{path.with_name(path.stem + SUFFIX + (path.suffix or '.db'))}"


def demo_file(database: str) -> str:
    """The demo store's file, as the user should read it (``lanebot-demo.db``)."""
    return make_url(database).database or database
