"""Migrations on SQLite and PostgreSQL: upgrading is idempotent, every revision downgrades cleanly,
and the migrated schema is exactly ``storage.models`` (Alembic's autogenerate comparison finds
nothing), so a model change without its revision fails here rather than in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import Base

TABLES = {
    "runs",
    "attempts",
    "decisions",
    "processed_events",
    "digest_claims",
    "job_claims",
    "policies",
    "run_route_features",
    "shadow_attempts",
    "shadow_budget",
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def schema_drift(engine: Engine) -> list[Any]:
    """What autogenerate would put in a new revision: empty when models and migrations agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def migrate(engine: Engine, direction: str, revision: str) -> None:
    """``alembic upgrade|downgrade revision`` on this engine, the way ``storage.migrate`` drives it."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


def test_there_is_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"merge the migration branches {heads} with `alembic merge`"


def test_upgrade_from_empty_to_head_twice(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert tables(engine) == TABLES
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert tables(engine) == TABLES


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    upgrade(engine)
    assert schema_drift(engine) == []


def test_drift_is_detected(engine: Engine) -> None:
    """The comparison is not vacuous: a missing index or an unknown table shows up."""
    upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX uq_decisions_one_final")
        connection.exec_driver_sql("CREATE TABLE stray (id INTEGER PRIMARY KEY)")
    drift = sorted((diff[0], diff[1].name) for diff in schema_drift(engine))
    assert drift == [("add_index", "uq_decisions_one_final"), ("remove_table", "stray")]


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    upgrade(engine)
    migrate(engine, "downgrade", "base")
    assert current_revision(engine) is None
    assert tables(engine) == set()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert schema_drift(engine) == []


def test_every_revision_steps_down_and_up(engine: Engine) -> None:
    """Stairway: each revision, one at a time, upgrades, downgrades and upgrades again."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]
    for revision in revisions:
        migrate(engine, "upgrade", revision)
        migrate(engine, "downgrade", "-1")
        migrate(engine, "upgrade", revision)
        assert current_revision(engine) == revision
    assert schema_drift(engine) == []
