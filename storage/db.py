"""Building a SQLAlchemy engine for the audit store.

SQLite is the default (a file next to the bot, WAL so readers never block the writer, a busy
timeout so two processes queue instead of failing); PostgreSQL is for teams and several instances.
A PostgreSQL server that does not answer fails the connection after ``PG_CONNECT_TIMEOUT_S``
rather than hanging a command for minutes. ``display_url`` is the only form of a database URL
that may be printed or logged: it hides the password.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from lanes.audit import AuditStoreError

DEFAULT_DATABASE_URL = "sqlite:///lanebot.db"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
PG_CONNECT_TIMEOUT_S = 10
_USERINFO_PASSWORD = re.compile(r"(//[^/:@]*:)[^/@]*@")
_QUERY_PASSWORD = re.compile(r"([?&](?:password|sslpassword)=)[^&]*", re.IGNORECASE)


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs: Any) -> Engine:
    """An engine for ``url``; ``AuditStoreError`` if it is not a SQLite or PostgreSQL URL."""
    given, url = url, normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise AuditStoreError(unusable_url(given)) from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise AuditStoreError(unusable_url(given))
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S, **kwargs.get("connect_args", {})}
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "connect", _postgres_settings)
    return engine


def _postgres_settings(dbapi_connection: Any, _record: Any) -> None:
    """No JIT: lanebot's statements are short, and PostgreSQL compiles any whose *estimated* cost
    is high, which an audit search's branch that never runs can make it (~0.2 s per search)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()


def unusable_url(url: str) -> str:
    return (
        f"DATABASE_URL {display_url(url)!r} is not a database URL lanebot can use; give "
        "sqlite:///lanebot.db (a file) or postgresql://user@host/db"
    )


def display_url(url: str) -> str:
    """``url`` with its password masked (``***``), as SQLAlchemy renders it; also for URLs it cannot parse."""
    try:
        parsed = make_url(url)
        shown = url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except ArgumentError:
        shown = _USERINFO_PASSWORD.sub(r"\1***@", url)
    return _QUERY_PASSWORD.sub(r"\1***", shown)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()
