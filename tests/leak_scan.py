"""After the whole suite: no planted secret or personal datum in any database or log it produced.

The leak tests (``test_engine_policy``, ``test_security``) plant the values of ``tests.planted`` in
requests, model answers, edits and errors, and check their own run. This plugin checks everything
else the suite wrote, whatever test wrote it:

- **logs**: from the session's start, every record any logger emits goes (at INFO, like
  production) through the production pipeline (``bot.runtime.logs.json_lines``: JSON behind the
  ``RedactingFilter``), into one session log file; the bot processes that tests start write their
  own JSON logs (``*.log``) under the session's temporary directory;
- **SQLite**: every database file, WAL and journal under the session's temporary directory, read
  as raw bytes (deleted rows and free pages included);
- **PostgreSQL**: each test's private schema, every row of every table, just before the schema is
  dropped (``inspect_postgres_schema``, called by the ``pg_url`` fixture).

Findings are reported at the end of the run with the file or schema and the family found, and
turn a green run red.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from tests.planted import EVERY_PLANTED_VALUE

SCANNED_SUFFIXES = (".db", ".db-wal", ".db-journal", ".db-shm", ".sqlite", ".sqlite-wal", ".log", ".jsonl")


@dataclass(frozen=True)
class Leak:
    where: str
    family: str


@dataclass
class ScanState:
    session_log: Path
    handler: logging.Handler
    previous_root_level: int
    leaks: list[Leak]
    schemas_checked: int = 0
    files_checked: int = 0


_state: ScanState | None = None


def spellings(value: str) -> list[str]:
    """``value`` as text holds it, and as JSON with ``ensure_ascii`` writes it (our JSON logs do:
    ``síle`` is ``s\\u00edle`` there)."""
    escaped = json.dumps(value)[1:-1]
    return [value] if escaped == value else [value, escaped]


def find_planted(data: bytes, planted: Mapping[str, str] = EVERY_PLANTED_VALUE) -> list[str]:
    """The families whose planted value occurs in ``data`` (UTF-8 bytes, as files and logs hold them)."""
    return [
        family for family, value in planted.items() if any(form.encode() in data for form in spellings(value))
    ]


def scan_files(paths: Iterable[Path]) -> Iterator[Leak]:
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:  # vanished (a test's cleanup) or unreadable: nothing of ours to judge
            continue
        for family in find_planted(data):
            yield Leak(str(path), family)


def scanned_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(SCANNED_SUFFIXES))


def planted_in_schema(conn: Connection, schema: str) -> list[tuple[str, str]]:
    """(table, family) for each planted value found in any row of ``schema``'s tables."""
    tables = conn.execute(
        text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
    ).scalars()
    families = {form: family for family, value in EVERY_PLANTED_VALUE.items() for form in spellings(value)}
    found: list[tuple[str, str]] = []
    for table in list(tables):
        needles = conn.execute(
            text(
                f'SELECT DISTINCT n FROM "{schema}"."{table}" t, unnest(CAST(:needles AS text[])) n '
                "WHERE strpos(row_to_json(t)::text, n) > 0"
            ),
            {"needles": list(families)},
        ).scalars()
        found.extend(dict.fromkeys((table, families[n]) for n in needles))
    return found


def inspect_postgres_schema(conn: Connection, schema: str, owner: str) -> None:
    """Record any planted value in ``schema`` (the ``pg_url`` fixture calls this before dropping it)."""
    if _state is None:
        return
    found = planted_in_schema(conn, schema)
    _state.leaks.extend(Leak(f"PostgreSQL, {owner}: table {table}", family) for table, family in found)
    _state.schemas_checked += 1


def pytest_configure(config: pytest.Config) -> None:
    global _state
    from bot.runtime.logs import json_lines

    session_log = Path(tempfile.mkdtemp(prefix="lanebot-session-logs-")) / "session.jsonl"
    handler = json_lines(logging.FileHandler(session_log, encoding="utf-8"))
    root = logging.getLogger()
    _state = ScanState(session_log, handler, root.level, [])
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan once every test has finished (the terminal summary, printed after this, reports it)."""
    if _state is None:
        return
    root = logging.getLogger()
    root.removeHandler(_state.handler)
    root.setLevel(_state.previous_root_level)
    _state.handler.close()
    factory = getattr(session.config, "_tmp_path_factory", None)
    base = factory.getbasetemp() if factory is not None else None
    files = [_state.session_log, *(scanned_files(base) if base is not None else [])]
    _state.files_checked = len(files)
    _state.leaks.extend(scan_files(files))
    if not _state.leaks:
        shutil.rmtree(_state.session_log.parent, ignore_errors=True)  # kept for inspection on a find
    elif session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _state is None:
        return
    terminalreporter.write_line(
        f"leak scan: {_state.files_checked} database and log files, {_state.schemas_checked} PostgreSQL "
        f"schemas, {len(_state.leaks)} planted values found"
    )
    for leak in _state.leaks:
        terminalreporter.write_line(f"  LEAK {leak.family} in {leak.where}", red=True)
    if _state.leaks:
        terminalreporter.write_line("planted values leaked: the run fails", red=True)
