"""Migrations on SQLite and PostgreSQL: upgrading is idempotent, every revision downgrades cleanly,
and the migrated schema is exactly ``storage.models`` (Alembic's autogenerate comparison finds
nothing), so a model change without its revision fails here rather than in production.

The free-text index (``storage.text_index``) lives outside the models; its tests here check that
revision 0003 builds it over the runs already stored, that every later write keeps it current, and
that downgrading removes it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url

from lanes.audit.records import NewRun, RunOutcome
from lanes.lifecycle import transition
from storage import text_index
from storage.db import make_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import SEARCH_INDEX_COLUMNS, Base
from storage.search import AuditQuery
from storage.store import AuditStore
from tests.conftest import PG_ADMIN_URL

TABLES = {"runs", "attempts", "decisions", "processed_events", "digest_claims", "job_claims"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def schema_drift(engine: Engine) -> list[Any]:
    """What autogenerate would put in a new revision: empty when models and migrations agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": text_index.include_in_autogenerate},
        )
        return list(compare_metadata(context, Base.metadata))


def tables(engine: Engine) -> set[str]:
    """The schema's tables, less Alembic's own and the text index's (SQLite's FTS5 tables)."""
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if text_index.include_in_autogenerate(name, "table", {})}


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


# --- the search indexes (revision 0003) -----------------------------------------------------

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def test_search_index_columns_match_the_revision() -> None:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0004_search_indexes")
    assert revision.module.SEARCH_INDEX_COLUMNS == SEARCH_INDEX_COLUMNS


def _run(store: AuditStore, run_id: str, text: str | None, draft: str | None, minutes: int) -> None:
    at = T0 + timedelta(minutes=minutes)
    store.start_run(
        NewRun(id=run_id, lane="support", requester="U_A", created_at=at, input_text=text, input_chars=9),
        transition("start"),
    )
    store.finish_run(run_id, transition("draft"), RunOutcome(finished_at=at, draft_text=draft))


def text_ids(store: AuditStore, needle: str) -> list[str]:
    return [row.id for row in store.search(AuditQuery(text=needle))]


def indexed_ids(engine: Engine, needle: str) -> list[str]:
    """The runs the text index itself names (on PostgreSQL: what a bitmap scan of it finds)."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            return sorted(
                connection.execute(text_index.runs_with_trigrams(text_index.fts5_query(needle))).scalars()
            )
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL enable_indexscan = off")  # bitmap scans only
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(_TEXT_SQL, {"p": f"%{needle}%"}))
        assert all(name in plan for name in text_index.TRGM_INDEXES), plan
        return sorted(
            connection.exec_driver_sql(_TEXT_SQL[len("EXPLAIN ") :], {"p": f"%{needle}%"}).scalars()
        )


_TEXT_SQL = "EXPLAIN SELECT id FROM runs WHERE input_text ILIKE %(p)s OR draft_text ILIKE %(p)s"


def check_text_index(engine: Engine) -> None:
    """SQLite: FTS5 compares its index with the texts of every run and raises if they differ."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            fts = text_index.FTS_TABLE
            connection.exec_driver_sql(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)")


def text_index_objects(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE name LIKE 'runs_text%'")
        else:
            rows = connection.exec_driver_sql(
                "SELECT indexname FROM pg_indexes "
                "WHERE schemaname = current_schema() AND indexname LIKE '%%trgm'"
            )
        return {row[0] for row in rows}


def test_upgrade_to_the_search_indexes_indexes_the_runs_already_there(engine: Engine) -> None:
    migrate(engine, "upgrade", "0003_lifecycle_guards")
    store = AuditStore(engine)
    _run(store, "r1", "Refund for ORDER 4711, please", "We are looking into it", 1)
    _run(store, "r2", None, None, 2)  # a lane with store_text = "none"
    _run(store, "r3", "Où est mon colis ?", "Votre colis arrive demain", 3)
    assert text_index_objects(engine) == set()

    upgrade(engine)

    assert text_index_objects(engine)
    check_text_index(engine)
    assert indexed_ids(engine, "order 4711") == ["r1"]
    assert indexed_ids(engine, "colis") == ["r3"]
    assert text_ids(store, "order 4711") == ["r1"]
    assert text_ids(store, "looking INTO") == ["r1"]
    assert text_ids(store, "colis") == ["r3"]
    assert text_ids(store, "nowhere") == []


def test_every_later_write_keeps_the_text_index_current(engine: Engine) -> None:
    upgrade(engine)
    store = AuditStore(engine)
    _run(store, "r1", "Where is my parcel?", "It left the depot", 1)
    store.start_run(
        NewRun(id="r2", lane="support", requester="U_B", created_at=T0, input_text="kangaroo court"),
        transition("start"),
    )
    assert indexed_ids(engine, "kangaroo") == ["r2"] and indexed_ids(engine, "depot") == ["r1"]

    store.finish_run("r2", transition("draft"), RunOutcome(finished_at=T0, draft_text="a wombat reply"))
    with engine.begin() as connection:  # a later edit of the stored text (any writer, any process)
        connection.exec_driver_sql("UPDATE runs SET draft_text = 'It is at the warehouse' WHERE id = 'r1'")
    check_text_index(engine)
    assert indexed_ids(engine, "wombat") == ["r2"] and indexed_ids(engine, "kangaroo") == ["r2"]
    assert indexed_ids(engine, "depot") == [] and indexed_ids(engine, "warehouse") == ["r1"]
    assert text_ids(store, "depot") == [] and text_ids(store, "WAREHOUSE") == ["r1"]

    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM runs WHERE id = 'r2'")
    check_text_index(engine)
    assert indexed_ids(engine, "wombat") == [] and text_ids(store, "wombat") == []


def test_downgrade_removes_the_search_indexes(engine: Engine) -> None:
    upgrade(engine)
    migrate(engine, "downgrade", "0003_lifecycle_guards")
    assert text_index_objects(engine) == set()
    assert tables(engine) == TABLES
    store = AuditStore(engine)
    _run(store, "r1", "Refund please", "Sure", 1)  # writes still work: no trigger is left behind
    assert text_ids(store, "refund") == ["r1"]
    indexes = {index["name"] for index in inspect(engine).get_indexes("runs")}
    assert {"ix_runs_status", "ix_runs_requester", "ix_runs_model"} <= indexes
    assert not any(name.endswith("_created_at") and name != "ix_runs_lane_created_at" for name in indexes)


def test_sqlite_index_lost_or_never_built_is_rebuilt_by_the_next_upgrade(sqlite_url: str) -> None:
    """What happens once a database that could not have it (an old SQLite) gets a library that can:
    the next start (which upgrades) builds it over every stored run."""
    engine = make_engine(sqlite_url)
    try:
        upgrade(engine)
        store = AuditStore(engine)
        _run(store, "r1", "Refund for order 4711", "ok", 1)
        with engine.begin() as connection:
            text_index.drop(connection)
        assert text_ids(store, "order 4711") == ["r1"]  # without the index: the table is read

        upgrade(engine)

        check_text_index(engine)
        assert indexed_ids(engine, "order 4711") == ["r1"]
        assert text_ids(store, "order 4711") == ["r1"]
    finally:
        engine.dispose()


def test_postgres_without_pg_trgm_warns_searches_anyway_and_indexes_once_it_exists(
    pg_available: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A role that may not create extensions (no CREATE on its database) on a database without
    pg_trgm: the migration completes with a warning naming the fix, search reads the table, and
    once a superuser has created the extension the next upgrade (every start) builds the indexes."""
    if not pg_available:
        pytest.skip("PostgreSQL not reachable")
    name = f"lanebot_noext_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    database_admin = create_engine(make_url(PG_ADMIN_URL).set(database=name))
    engine = make_engine(
        str(make_url(PG_ADMIN_URL).set(username=name, database=name, query={"options": "-csearch_path=app"}))
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        with database_admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA app AUTHORIZATION "{name}"')
        with caplog.at_level(logging.WARNING, logger="storage.text_index"):
            upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert "CREATE EXTENSION pg_trgm" in caplog.text and "lanebot db upgrade" in caplog.text
        assert text_index_objects(engine) == set()
        store = AuditStore(engine)
        _run(store, "r1", "Refund for order 4711", "ok", 1)
        assert text_ids(store, "order 4711") == ["r1"]

        with database_admin.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION pg_trgm")
        upgrade(engine)

        assert text_index_objects(engine) == set(text_index.TRGM_INDEXES)
        assert indexed_ids(engine, "order 4711") == ["r1"]
    finally:
        engine.dispose()
        database_admin.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        admin.dispose()
