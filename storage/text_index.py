"""The index behind free-text audit search (``AuditQuery.text``), one per database.

Search matches a case-insensitive substring of a run's stored (redacted) request or draft. A
``LIKE '%…%'`` cannot use a B-tree, so without help every search that finds few runs reads every
run (1.2–1.8 s at a million runs). Both databases have an index that answers substring questions
from *trigrams* (every three-character window of the text), so the semantics stay exactly those of
``ILIKE`` and only the speed changes; the ``LIKE`` stays in the query as the final word, the index
only narrows which rows it reads.

- **PostgreSQL**: ``pg_trgm`` GIN indexes on ``runs.input_text`` and ``runs.draft_text``. The planner
  uses them for ``ILIKE`` by itself (a bitmap scan of each, OR-ed), so the SQL is unchanged. The
  extension is created if missing: it is *trusted* since PostgreSQL 13, so any role with CREATE on
  the database may create it. It goes into ``public`` when that schema exists (so dropping an
  application schema never drops an extension other schemas' indexes use), otherwise into the
  current schema. If it cannot be created, the indexes are skipped with a warning naming the fix,
  search still answers correctly by reading the table, and every later ``lanebot db upgrade`` (and
  every start, which upgrades) tries again (``ensure``).
- **SQLite**: an FTS5 table with the ``trigram`` tokenizer (SQLite 3.34+), ``runs_text``. It is an
  *external-content* table: it stores only the index, and reads texts through the view
  ``runs_text_source``. FTS5 rows are keyed by integers and ``runs.id`` is a string, so
  ``runs_text_keys`` gives each run a stable integer (``runs``' own rowid may change on VACUUM).
  Triggers on ``runs`` keep it in step inside the writing transaction, so every writer, in any
  process or bot instance, keeps the index current without knowing it exists. Search asks it for
  the runs holding the needle as a phrase when it spans words, else every third of its trigrams
  (``fts5_query``, ``matching_keys``): a superset of the runs containing it (FTS5 also folds
  case Unicode-wide, SQLite's ``LIKE`` only ASCII), and the ``LIKE`` then decides. A needle of
  fewer than three characters has no trigram: it is answered by reading runs newest first, as
  before.

These objects are not in ``storage.models`` (SQLAlchemy cannot describe a virtual table, triggers or
an operator class that lives in another schema); revision ``0004_search_indexes`` creates them with
the functions here, ``include_in_autogenerate`` keeps Alembic's comparison from reporting them, and
``tests/test_migrations.py`` checks they exist and work after an upgrade.
"""

from __future__ import annotations

import logging
import string
import weakref
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Select, case, column, literal_column, select, table

log = logging.getLogger(__name__)

MIN_CHARS = 3
"""Shortest needle a trigram index can answer; shorter ones read the runs newest first."""

FTS_TABLE = "runs_text"
KEYS_TABLE = "runs_text_keys"
SOURCE_VIEW = "runs_text_source"
TRIGGERS = ("runs_text_after_insert", "runs_text_after_update", "runs_text_after_delete")
FTS_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config", "_content")
TRGM_INDEXES = {"ix_runs_input_text_trgm": "input_text", "ix_runs_draft_text_trgm": "draft_text"}
SEPARATORS = " \t\n\r" + string.punctuation
"""Characters that make a needle span words (``joins_words``): ASCII spaces and punctuation."""

SQLITE_CREATE = (
    f"CREATE TABLE {KEYS_TABLE} (key INTEGER PRIMARY KEY, run_id VARCHAR(32) NOT NULL UNIQUE)",
    f"CREATE VIEW {SOURCE_VIEW} AS SELECT k.key AS key, r.input_text AS input_text, "
    f"r.draft_text AS draft_text FROM {KEYS_TABLE} AS k JOIN runs AS r ON r.id = k.run_id",
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(input_text, draft_text, "
    f"content='{SOURCE_VIEW}', content_rowid='key', tokenize='trigram')",
    # The texts a run had when indexed are given back to 'delete' exactly (external content).
    f"""CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON runs BEGIN
        INSERT INTO {KEYS_TABLE} (run_id) VALUES (new.id);
        INSERT INTO {FTS_TABLE} (rowid, input_text, draft_text)
            SELECT key, new.input_text, new.draft_text FROM {KEYS_TABLE} WHERE run_id = new.id;
    END""",
    f"""CREATE TRIGGER {TRIGGERS[1]} AFTER UPDATE OF input_text, draft_text ON runs
    WHEN old.input_text IS NOT new.input_text OR old.draft_text IS NOT new.draft_text BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, input_text, draft_text)
            SELECT 'delete', key, old.input_text, old.draft_text FROM {KEYS_TABLE} WHERE run_id = old.id;
        INSERT INTO {FTS_TABLE} (rowid, input_text, draft_text)
            SELECT key, new.input_text, new.draft_text FROM {KEYS_TABLE} WHERE run_id = new.id;
    END""",
    f"""CREATE TRIGGER {TRIGGERS[2]} AFTER DELETE ON runs BEGIN
        INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, input_text, draft_text)
            SELECT 'delete', key, old.input_text, old.draft_text FROM {KEYS_TABLE} WHERE run_id = old.id;
        DELETE FROM {KEYS_TABLE} WHERE run_id = old.id;
    END""",
    # Existing runs, oldest first, then the index built from them in one pass.
    f"INSERT INTO {KEYS_TABLE} (run_id) SELECT id FROM runs ORDER BY created_at, id",
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('rebuild')",
)
SQLITE_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
    f"DROP VIEW IF EXISTS {SOURCE_VIEW}",
    f"DROP TABLE IF EXISTS {KEYS_TABLE}",
)

TextIndex = Literal["fts5", "pg_trgm"]
_PROBE = "lanebot_trigram_probe"
_fts_present: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def create(connection: Connection) -> bool:
    """Create the text index for this database and index the runs already there (revision 0004).

    True if the index exists afterwards; False (with a warning) if this database cannot have it,
    in which case search still works, reading the table."""
    forget(connection.engine)
    if connection.dialect.name == "sqlite":
        return _create_sqlite(connection)
    if connection.dialect.name == "postgresql":
        return ensure(connection)
    return False


def joins_words(needle: str) -> bool:
    """Whether ``needle`` spans a separator, so that trigrams across it can narrow the search."""
    return any(char in SEPARATORS for char in needle)


def drop(connection: Connection) -> None:
    """Remove the text index (downgrade below 0003). ``pg_trgm`` stays: other tables may use it."""
    forget(connection.engine)
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        for name in TRGM_INDEXES:
            connection.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')


def ensure(connection: Connection) -> bool:
    """Create the text index if this database lacks it and now can have it. True if it exists.

    Called after every upgrade to head (``storage.migrate.upgrade``, so on every start), so a
    database that could not have it when revision 0003 ran gets it once the fix is in: PostgreSQL
    once someone created ``pg_trgm``, SQLite once the library has the trigram tokenizer."""
    if connection.dialect.name == "sqlite":
        return fts_present(connection) or create(connection)
    if connection.dialect.name != "postgresql":
        return False
    missing = [name for name in TRGM_INDEXES if not _pg_index_exists(connection, name)]
    if not missing:
        return True
    schema = _pg_trgm_schema(connection) or _create_pg_trgm(connection)
    if schema is None:
        return False
    for name in missing:
        opclass = f'"{schema}".gin_trgm_ops'
        connection.exec_driver_sql(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON runs USING gin ({TRGM_INDEXES[name]} {opclass})'
        )
    log.info("text search indexes created", extra={"indexes": missing, "extension_schema": schema})
    return True


def kind(connection: Connection) -> TextIndex | None:
    """Which text index search may use here: SQLite's FTS5 table if this database has it; on
    PostgreSQL the trigram indexes (the same SQL runs without them, only slower)."""
    if connection.dialect.name == "postgresql":
        return "pg_trgm"
    return "fts5" if fts_present(connection) else None


def fts_present(connection: Connection) -> bool:
    """Whether this SQLite database has ``runs_text`` (False on other databases). Looked up once
    per engine: the schema changes only by migration, and migrating forgets the answer (``forget``)."""
    if connection.dialect.name != "sqlite":
        return False
    engine = connection.engine
    present = _fts_present.get(engine)
    if present is None:
        present = (
            connection.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
            ).first()
            is not None
        )
        _fts_present[engine] = present
    return present


def forget(engine: Engine) -> None:
    """Drop what ``fts_present`` remembers about ``engine`` (its schema is about to change)."""
    _fts_present.pop(engine, None)


def runs_with_trigrams(query: Any, when: Any = None) -> Select[Any]:
    """``SELECT run_id …`` of the runs whose request or draft holds every trigram of a needle
    (``query``: its ``fts5_query``, case folded by FTS5): a superset of the runs containing it,
    never missing one. With ``when`` (a SQL condition), only while it holds: otherwise the query
    is the empty phrase, which matches nothing without reading the index."""
    keys = table(KEYS_TABLE, column("key"), column("run_id"))
    fts = table(FTS_TABLE, column("rowid"))
    if when is not None:
        query = case((when, query), else_='""')
    return (
        select(keys.c.run_id)
        .join(fts, fts.c.rowid == keys.c.key)
        .where(literal_column(FTS_TABLE).op("MATCH")(query))
    )


def matching_keys(query: Any) -> Select[Any]:
    """``SELECT key …`` of the FTS5 rows matching ``query`` (an ``fts5_query``): the index alone,
    no run looked up (``run_ids`` turns keys into runs)."""
    fts = table(FTS_TABLE, column("rowid"))
    return select(fts.c.rowid.label("key")).where(literal_column(FTS_TABLE).op("MATCH")(query))


def run_ids(keys: Any, *conditions: Any) -> Select[Any]:
    """``SELECT run_id …`` of the runs whose keys are the ``key`` column of ``keys``."""
    table_ = table(KEYS_TABLE, column("key"), column("run_id"))
    return select(table_.c.run_id).join(keys, keys.c.key == table_.c.key).where(*conditions)


def fts5_query(needle: str) -> str:
    """The FTS5 query for the runs that may contain ``needle``.

    A needle spanning words (``joins_words``) is one quoted phrase: with the trigram tokenizer
    that is the substring itself, so the candidates are the runs holding it (FTS5 folds case for
    all of Unicode, ``LIKE`` for ASCII only: never fewer). Its words may each be everywhere and
    rarely together ("refund login"), where trigrams one by one would hand over ten thousand runs
    to recheck; the phrase costs one pass over its trigrams' position lists (~40 ms at a million
    runs when they are common).

    Otherwise ``"abc" AND "def" AND …``: trigrams of ``needle`` covering all of it, each quoted.

    An AND of every third trigram (and the last): FTS5 advances a conjunction by seeking, so it
    stays cheap for common trigrams, where a phrase query of all of them reads every position of
    every one (~0.1 s for "the customer" at 100,000 runs, asked for every match; search asks for
    at most ``rare_below``, which bounds a common phrase's cost)."""
    if joins_words(needle):
        return '"' + needle.replace('"', '""') + '"'
    starts = [*range(0, len(needle) - MIN_CHARS + 1, MIN_CHARS)]
    if starts[-1] != len(needle) - MIN_CHARS:
        starts.append(len(needle) - MIN_CHARS)
    trigrams = dict.fromkeys(needle[start : start + MIN_CHARS] for start in starts)
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


def include_in_autogenerate(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: leave the text index's objects out of schema comparison."""
    if type_ == "table" and name is not None:
        return name not in _sqlite_tables()
    if type_ == "index":
        return name not in TRGM_INDEXES
    return True


def _sqlite_tables() -> set[str]:
    return {KEYS_TABLE, FTS_TABLE, *(FTS_TABLE + suffix for suffix in FTS_SHADOW_SUFFIXES)}


def _create_sqlite(connection: Connection) -> bool:
    import sqlite3

    try:
        connection.exec_driver_sql(f"CREATE VIRTUAL TABLE temp.{_PROBE} USING fts5(x, tokenize='trigram')")
        connection.exec_driver_sql(f"DROP TABLE temp.{_PROBE}")
    except Exception as exc:  # the library lacks FTS5 or its trigram tokenizer: no index, search scans
        log.warning(
            "text search index not created: this SQLite (%s) has no FTS5 trigram tokenizer (needs 3.34 or "
            "later); text search reads every run instead. Upgrade SQLite (a newer Python bundles one) "
            "and run `lanebot db upgrade` to build it, or use PostgreSQL",
            sqlite3.sqlite_version,
            extra={"error": type(exc).__name__},
        )
        return False
    for statement in SQLITE_CREATE:
        connection.exec_driver_sql(statement)
    return True


def _pg_index_exists(connection: Connection, name: str) -> bool:
    found = connection.exec_driver_sql(
        "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %(name)s",
        {"name": name},
    ).first()
    return found is not None


def _pg_trgm_schema(connection: Connection) -> str | None:
    row = connection.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'"
    ).first()
    return None if row is None else str(row[0])


def _create_pg_trgm(connection: Connection) -> str | None:
    """Create ``pg_trgm`` in ``public`` (or, failing that, the current schema); a savepoint keeps a
    refusal from aborting the migration's transaction."""
    for target in ("SCHEMA public", ""):
        try:
            with connection.begin_nested():
                connection.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS pg_trgm {target}".strip())
        except Exception as exc:  # no privilege, or the contrib package is not installed
            last_error = exc
            continue
        return _pg_trgm_schema(connection)
    log.warning(
        "text search indexes not created: the pg_trgm extension is missing and this role may not "
        "create it (%s); text search reads every run instead. Ask a superuser to run "
        "`CREATE EXTENSION pg_trgm;` in this database (or grant CREATE on it), then run "
        "`lanebot db upgrade`",
        type(last_error).__name__,
    )
    return None
