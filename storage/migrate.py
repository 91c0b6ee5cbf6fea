"""Schema migrations, applied on start and by ``lanebot db upgrade``.

Alembic is driven programmatically (no alembic.ini to ship or find): the migration scripts live
in ``storage/migrations/versions`` and every schema change gets a named, recorded revision.

Every start upgrades to head, and almost always the database is there already. That case is
told without Alembic (importing it and loading its scripts is over a tenth of a whole
``lanebot ask``): the revisions recorded in ``alembic_version`` are compared with the heads of
the scripts, read from their ``revision`` and ``down_revision`` lines. Anything else (a fresh
database, one behind, a script written in a form this does not read) goes to Alembic, as
before; ``tests/test_migrations.py`` holds the heads read here equal to Alembic's.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect

from storage import text_index

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 7_261_432_001
"""PostgreSQL advisory lock key that serialises concurrent upgrades."""
VERSION_TABLE = "alembic_version"
_ASSIGNMENT = re.compile(r"^(revision|down_revision|depends_on)\b[^=\n]*=(.*)$", re.MULTILINE)
"""``revision: str = "0002_digest_index"`` and ``down_revision: str | None = "0001_initial"``."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to call on every start and from several instances."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch migrations copy a table and drop the old one; with foreign keys on,
            # that drop cascades (0003 on a populated database deleted every decision and
            # attempt). The pragma is ignored inside a transaction, so it is set before one.
            _foreign_keys(connection, on=False)
        try:
            with connection.begin():
                _upgrade(connection, revision)
        finally:
            if sqlite:
                _foreign_keys(connection, on=True)


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Several instances starting at once on a fresh database: one migrates, the rest wait
        # for it and then find nothing to do (the lock is released at commit).
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
    text_index.forget(connection.engine)
    if revision != "head" or not at_head(connection):
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
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


def at_head(connection: Connection) -> bool:
    """Whether the database records exactly the scripts' heads (False whenever unsure)."""
    heads = script_heads()
    if not heads or not inspect(connection).has_table(VERSION_TABLE):
        return False
    recorded = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars().all()
    return len(recorded) == len(heads) and set(recorded) == heads


def script_heads() -> frozenset[str]:
    """The revisions no migration script builds on, read from the scripts' text without Alembic;
    empty if a script does not name its revision and parents as plain literals, or depends on
    another branch (Alembic decides then)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found: dict[str, list[object]] = {"revision": [], "down_revision": [], "depends_on": []}
        for name, value in _ASSIGNMENT.findall(path.read_text(encoding="utf-8")):
            try:
                found[name].append(ast.literal_eval(value.strip()))
            except (ValueError, SyntaxError):
                return frozenset()
        if len(found["revision"]) != 1 or len(found["down_revision"]) != 1 or any(found["depends_on"]):
            return frozenset()
        revision, parent = found["revision"][0], found["down_revision"][0]
        if not isinstance(revision, str):
            return frozenset()
        revisions.add(revision)
        if isinstance(parent, str):
            parents.add(parent)
        elif isinstance(parent, tuple) and all(isinstance(p, str) for p in parent):
            parents.update(parent)
        elif parent is not None:
            return frozenset()
    return frozenset(revisions - parents)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
