"""Schema migrations, applied on start and by ``lanebot db upgrade``.

Alembic is driven programmatically (no alembic.ini to ship or find): the migration scripts live
in ``storage/migrations/versions`` and every schema change gets a named, recorded revision.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from storage import text_index

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 7_261_432_001
"""PostgreSQL advisory lock key that serialises concurrent upgrades."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to call on every start and from several instances."""
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch migrations copy a table and drop the old one; with foreign keys on,
            # that drop cascades (0003 on a populated database deleted every decision and
            # attempt). The pragma is ignored inside a transaction, so it is set before one.
            _foreign_keys(connection, on=False)
        try:
            with connection.begin():
                _upgrade(connection, config, revision)
        finally:
            if sqlite:
                _foreign_keys(connection, on=True)


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Several instances starting at once on a fresh database: one migrates, the rest wait
        # for it and then find nothing to do (the lock is released at commit).
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
    config.attributes["connection"] = connection
    text_index.forget(connection.engine)
    command.upgrade(config, revision)
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
        if broken is not None:
            raise RuntimeError(f"migration left a row without its parent: {tuple(broken)}")
    if revision == "head":
        # A database that could not have the text index when its revision ran may have it now.
        text_index.ensure(connection)


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
