"""Shared fixtures: real databases (SQLite files and a private PostgreSQL schema per test) and a
network guard that fails any connection leaving loopback."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from storage.db import make_engine
from storage.migrate import upgrade
from storage.store import AuditStore

pytest_plugins = ["tests.leak_scan"]

PG_ADMIN_URL = os.environ.get("LANEBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    inet = self.family in (socket.AF_INET, socket.AF_INET6)
    if host is not None and inet and not (str(host).startswith("127.") or host in ("::1", "localhost")):
        raise ConnectionRefusedError(f"test network guard: unplanned connection to {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _network_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


def _pg_available() -> bool:
    try:
        with create_engine(PG_ADMIN_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


@pytest.fixture
def pg_url(pg_available: bool, request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not pg_available:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (CI must start it)")
        pytest.skip("PostgreSQL not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        from tests.leak_scan import inspect_postgres_schema  # the plugin above; imported once registered

        with admin.begin() as conn:
            inspect_postgres_schema(conn, schema, request.node.nodeid)
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/audit.db"  # type: ignore[str-bytes-safe]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every test using this runs twice: on a SQLite file and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[AuditStore]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield AuditStore(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def redactor() -> object:
    """One redactor for the whole session, as each process builds one."""
    from storage.redaction import Redactor

    return Redactor()
