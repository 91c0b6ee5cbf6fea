"""The end-of-suite leak scan finds what it is looking for (``tests.leak_scan``).

The planted values are written only outside the session's temporary directory and into a schema
this test drops itself, so the scan of the real run stays clean."""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URL
from tests.leak_scan import find_planted, planted_in_schema, scan_files, scanned_files
from tests.planted import PLANTED, PRIVATE_KEY_BODY


def test_planted_values_are_found_in_raw_bytes_and_clean_text_passes() -> None:
    data = f'{{"msg": "token {PLANTED["slack"]}", "key": "{PRIVATE_KEY_BODY}"}}'.encode()
    assert find_planted(data) == ["slack", "private_key"]
    assert find_planted(b'{"msg": "token [SECRET:slack]", "mail": "[EMAIL]"}') == []


def test_every_family_is_found_and_non_ascii_values_also_as_json_escapes() -> None:
    for family, value in PLANTED.items():
        assert family in find_planted(f"x {value} y".encode()), family
    escaped = json.dumps({"msg": f"from {PLANTED['email_unicode']}"}).encode()  # ensure_ascii, as our logs
    assert find_planted(escaped) == ["email_unicode", "email_unicode (local part)"]


def test_only_database_and_log_files_are_scanned_and_leaks_name_their_file() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "run").mkdir()
        (root / "run" / "audit.db-wal").write_bytes(b"\x00\x01" + PLANTED["iban"].encode() + b"\xff")
        (root / "run" / "bot.log").write_text('{"msg": "all clean"}\n')
        (root / "lanes.toml").write_text(f'note = "{PLANTED["email"]}"')  # an input, not an output
        files = scanned_files(root)
        assert [p.name for p in files] == ["audit.db-wal", "bot.log"]
        leaks = list(scan_files(files))
    assert [(Path(leak.where).name, leak.family) for leak in leaks] == [("audit.db-wal", "iban")]


def test_a_planted_value_in_any_postgres_row_is_found(pg_available: bool) -> None:
    if not pg_available:
        pytest.skip("PostgreSQL not reachable")
    schema = f"leak_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'CREATE TABLE "{schema}".notes (id int, body text, meta jsonb)'))
            conn.execute(text(f'CREATE TABLE "{schema}".clean (body text)'))
            conn.execute(
                text(f'INSERT INTO "{schema}".notes VALUES (1, :body, CAST(:meta AS jsonb))'),
                {"body": f"card {PLANTED['card']}", "meta": f'{{"k": "{PLANTED["aws"]}"}}'},
            )
            conn.execute(
                text(f'INSERT INTO "{schema}".clean VALUES (:body)'), {"body": "[CARD] [SECRET:aws]"}
            )
            found = planted_in_schema(conn, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    assert sorted(found) == [("notes", "aws"), ("notes", "card")]
