"""Errors a person can act on: one paragraph on stderr, the fix, a documented exit code, no traceback.

Each failure is real: a PostgreSQL port nobody listens on, a role or database the loopback server
does not have, a SQLite file opened read-only, tables dropped behind lanebot's back, a schema
stamped by a newer lanebot, and a disk that fills up (SQLite's own page limit, set on every
connection the way a small disk would stop it). ``-v`` must add the traceback and keep the
password masked.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from bot.cli import main
from bot.cli.boundary import explain
from bot.cli.exits import Exit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "s3cr3t-pw-7f9a"
UNREACHABLE = f"postgresql://lanebot:{PASSWORD}@127.0.0.1:9/lanebot"
"""Port 9 (discard) on loopback: nothing listens there, the connection is refused at once."""


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LANEBOT_CONFIG", "DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LANEBOT_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run(capsys: pytest.CaptureFixture[str], database: str, *argv: str) -> Outcome:
    capsys.readouterr()
    code = main([*argv, "--database-url", database, "--config", str(ROOT / "lanes.toml")])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def one_paragraph(err: str) -> str:
    assert "Traceback" not in err
    assert err.startswith("lanebot: ") and err.endswith("\n") and err.count("\n") == 1, err
    return err


def test_an_unreachable_database_is_one_paragraph_with_the_password_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run(capsys, UNREACHABLE, "audit", "--lane", "support")

    assert result.code == Exit.STORE and result.out == ""
    err = one_paragraph(result.err)
    assert PASSWORD not in err
    assert "postgresql://lanebot:***@127.0.0.1:9/lanebot" in err
    assert "does not answer" in err and "Connection refused" in err
    assert "check that the database server is running" in err and "-v" in err


def test_verbose_adds_the_traceback_and_still_masks_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, UNREACHABLE, "audit", "-v")

    assert result.code == Exit.STORE
    assert result.err.startswith("Traceback (most recent call last):")
    assert result.err.splitlines()[-1].startswith("lanebot: the audit database at postgresql://lanebot:***@")
    assert PASSWORD not in result.err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://nobody_lanebot:pw@127.0.0.1:5432/test", "refused the login"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_db_lanebot", "createdb"),
        ("sqlite:///{tmp}/no/such/folder/audit.db", "its folder {tmp}/no/such/folder does not exist"),
        ("mysql://root:pw@127.0.0.1/lanebot", "is not a database URL lanebot can use"),
        ("lanebot.db", "is not a database URL lanebot can use"),
    ],
    ids=["unknown-role", "unknown-database", "missing-folder", "unsupported", "not-a-url"],
)
def test_a_wrong_database_url_says_what_is_wrong(
    url: str, expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, pg_available: bool
) -> None:
    if url.startswith("postgresql") and not pg_available:
        pytest.skip("PostgreSQL not reachable")

    result = run(capsys, url.format(tmp=tmp_path), "db", "upgrade")

    assert result.code == Exit.STORE
    assert expected.format(tmp=tmp_path) in one_paragraph(result.err)
    assert ":pw@" not in result.err


def _drop_run_tables(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        for table in ("decisions", "attempts", "runs"):
            connection.execute(f"DROP TABLE {table}")


def _stamp(path: Path, revision: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))


@pytest.mark.parametrize(
    ("damage", "argv", "expected"),
    [
        (
            _drop_run_tables,
            ["audit"],
            "has no lanebot tables (no such table: runs); run `lanebot db upgrade`",
        ),
        (_drop_run_tables, ["ask", "support", "hello", "--offline"], "run `lanebot db upgrade`"),
        (lambda path: _stamp(path, "9999_future"), ["audit"], "was migrated by a newer lanebot"),
    ],
    ids=["missing-table-audit", "missing-table-ask", "newer-schema"],
)
def test_a_store_without_lanebots_tables_says_how_to_get_them(
    damage: Any, argv: list[str], expected: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "audit.db"
    assert run(capsys, f"sqlite:///{path}", "db", "upgrade").code == 0
    damage(path)

    result = run(capsys, f"sqlite:///{path}", *argv)

    assert result.code == Exit.STORE and result.out == ""
    assert expected in one_paragraph(result.err)


def test_a_read_only_store_stops_the_run_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "audit.db"
    assert run(capsys, f"sqlite:///{path}", "db", "upgrade").code == 0

    result = run(capsys, f"sqlite:///file:{path}?mode=ro&uri=true", "ask", "support", "Hello", "--offline")

    assert result.code == Exit.STORE and result.out == "", "no draft without an audit record"
    err = one_paragraph(result.err)
    assert "is read-only (attempt to write a readonly database)" in err
    assert "make the file and its folder writable" in err


def test_a_full_disk_is_named_with_the_fix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The store may not grow past its current size on any connection (SQLite's ``max_page_count``,
    set by a listener on every engine): SQLite then fails a write as on a full disk."""
    path = tmp_path / "audit.db"
    assert run(capsys, f"sqlite:///{path}", "db", "upgrade").code == 0
    with sqlite3.connect(path) as connection:
        connection.execute("VACUUM")  # no free pages left inside the file
        pages = connection.execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(Engine, "connect")
    def cap(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    try:
        result = run(capsys, f"sqlite:///{path}", "ask", "support", "Hello " * 1300, "--offline")
    finally:
        event.remove(Engine, "connect", cap)

    assert result.code == Exit.STORE and result.out == ""
    err = one_paragraph(result.err)
    assert "is out of disk space (database or disk is full)" in err and "free space" in err


def test_default_verbosity_prints_no_log_lines_and_verbose_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path}/audit.db"

    quiet = run(capsys, database, "ask", "support", "Where is my parcel?")
    loud = run(capsys, database, "ask", "support", "Where is my parcel?", "-v")

    assert quiet.code == loud.code == Exit.FAILED
    assert "{" not in quiet.err and "model call failed" not in quiet.err
    assert any(line.startswith("{") and '"model call failed"' in line for line in loud.err.splitlines())


def test_an_unexpected_error_is_reported_as_a_bug_with_the_way_to_see_it() -> None:
    failure = explain(RuntimeError(f"boom with sk-proj-{'a1B2' * 10}"), UNREACHABLE)

    assert failure.code == Exit.INTERNAL
    (line,) = failure.lines
    assert line.startswith("unexpected RuntimeError: boom with ")
    assert "sk-proj-" not in line
    assert line.endswith("This is a bug in lanebot: run again with -v for the traceback and report it.")


def test_a_file_the_cli_cannot_read_names_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "reply.txt"

    result = run(capsys, f"sqlite:///{tmp_path}/audit.db", "decide", "0" * 32, "edit", "--as", "U0OWNER",
                 "--text-file", str(missing))  # fmt: skip

    assert result.code == Exit.FAILED
    assert one_paragraph(result.err) == f"lanebot: {missing}: No such file or directory; check the path\n"


def test_postgresql_missing_tables_and_read_only_transactions(
    capsys: pytest.CaptureFixture[str], pg_url: str
) -> None:
    assert run(capsys, pg_url, "db", "upgrade").code == 0
    read_only = pg_url + "%20-cdefault_transaction_read_only%3Don"

    refused = run(capsys, read_only, "ask", "support", "Hello", "--offline")
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE decisions, attempts, runs CASCADE"))  # and what points at runs
    engine.dispose()
    missing = run(capsys, pg_url, "audit")

    assert refused.code == Exit.STORE and refused.out == ""
    assert "is read-only (cannot execute INSERT in a read-only transaction)" in one_paragraph(refused.err)
    assert missing.code == Exit.STORE
    assert 'has no lanebot tables (relation "runs" does not exist' in one_paragraph(missing.err)
    assert "run `lanebot db upgrade`" in missing.err
