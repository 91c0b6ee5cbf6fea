"""What went wrong with the audit database, in words a person can act on.

A database failure reaches the surface as a chain (``AuditWriteError`` from SQLAlchemy's
``OperationalError`` from the driver's error); the useful fact is at the bottom and the driver
says it in its own words. ``describe_database_error`` walks the chain, recognises the failures
people actually meet (server down, wrong host, unknown role or database, missing tables, a
read-only file or transaction, a full disk, a locked or damaged SQLite file, a schema newer than
this lanebot) and returns one paragraph: what failed, where (the URL with its password masked,
``storage.db.display_url``) and the likely fix. Anything else about a database still gets the
driver's first line and the generic fix. The driver's text passes the secret scrubber first. A
write the database refused on its merits (a unique key, a NOT NULL) says nothing about the
database and is left to the caller.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError, NoSuchModuleError

from storage.db import display_url, unusable_url

UPGRADE = "run `lanebot db upgrade` (with the same DATABASE_URL) to create or update the tables"
_DETAIL_CHARS = 200


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    """Searched in the driver's first line, ignoring case."""
    problem: str
    fix: str


def _rule(pattern: str, problem: str, fix: str) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), problem, fix)


_DISK_FULL = _rule(
    r"database or disk is full|no space left on device|disk full|could not extend file",
    "is out of disk space",
    "free space on the disk that holds it (or raise the quota), then run the command again",
)
_READ_ONLY = _rule(
    r"readonly database|read-only transaction|read only transaction|read-only file system",
    "is read-only",
    "lanebot writes every run and decision to it: make the file and its folder writable, or "
    "use a database user that may write",
)
_CANNOT_OPEN = _rule(
    r"unable to open database file",
    "cannot be opened",
    "check that the folder of the SQLite file exists and is writable, or fix the path in DATABASE_URL",
)
_RULES: tuple[_Rule, ...] = (  # in this order: the first match wins
    _DISK_FULL,
    _rule(
        r"disk i/o error",
        "could not be written to disk",
        "check that the disk is not full or failing and that the file is writable",
    ),
    _READ_ONLY,
    _rule(
        r"permission denied",
        "refused access to its tables",
        "grant the database user in DATABASE_URL the rights to read and write lanebot's tables",
    ),
    _rule(r'no such table|relation ".+" does not exist', "has no lanebot tables", UPGRADE),
    _rule(
        r'no such column|has no column named|column ".+" (of relation ".+" )?does not exist',
        "has tables from an older lanebot",
        UPGRADE,
    ),
    _rule(
        r"file is not a database|database disk image is malformed",
        "is not a lanebot SQLite database (or is damaged)",
        "point DATABASE_URL (or --database-url) at another file, or restore it from a backup",
    ),
    _rule(
        r"database is locked",
        "stayed locked by another process",
        "stop the other process writing to it, or use PostgreSQL when several processes share the store",
    ),
    _rule(
        r'authentication failed|no pg_hba\.conf entry|role ".+" does not exist',
        "refused the login",
        "check the user name and password in DATABASE_URL (or --database-url)",
    ),
    _rule(
        r'database ".+" does not exist',
        "does not exist on that server",
        "create it (e.g. `createdb NAME`) or fix the database name in DATABASE_URL",
    ),
    _CANNOT_OPEN,
    _rule(
        r"connection refused|could not connect|failed to resolve host|could not translate host name"
        r"|name or service not known|timeout expired|timed out|no route to host"
        r"|server closed the connection|the database system is (starting up|shutting down)",
        "does not answer",
        "check that the database server is running and that DATABASE_URL (or --database-url) names "
        "the right host and port",
    ),
)
_GENERIC = _rule(
    r"$^", "failed", "check DATABASE_URL (or --database-url) and that the database is up and writable"
)
_NEWER_SCHEMA = re.compile(r"can't locate revision identified by '([^']+)'", re.IGNORECASE)
_OS_RULES = {
    errno.ENOSPC: _DISK_FULL,
    errno.EDQUOT: _DISK_FULL,
    errno.EROFS: _READ_ONLY,
}


def describe_database_error(exc: BaseException, url: str) -> str | None:
    """One paragraph on what failed with the database at ``url``, or None if ``exc`` is not about it."""
    where = f"the audit database at {display_url(url)}"
    for link in _chain(exc):
        if isinstance(link, ArgumentError | NoSuchModuleError):
            return unusable_url(url)
        newer = _NEWER_SCHEMA.search(str(link))
        if newer:
            return (
                f"{where} was migrated by a newer lanebot (schema revision {newer.group(1)}); upgrade "
                "lanebot, or point DATABASE_URL at another database"
            )
        if isinstance(link, DBAPIError) and not isinstance(link, IntegrityError | DataError):
            detail = _driver_message(link)
            rule = _match(detail)
            return f"{where} {rule.problem}{_context(rule, url)} ({detail}); {rule.fix}"
        if isinstance(link, OSError) and link.errno in _OS_RULES:
            rule = _OS_RULES[link.errno]
            return f"{where} {rule.problem} ({link.strerror}); {rule.fix}"
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it was raised from or during, outermost first (each once)."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)


def _driver_message(error: DBAPIError) -> str:
    from storage.redaction import scrub_secrets

    text = str(error.orig) if error.orig is not None else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else type(error).__name__
    first = first.removeprefix("connection failed: ")
    if len(first) > _DETAIL_CHARS:
        first = first[: _DETAIL_CHARS - 1] + "…"
    return scrub_secrets(first).text


def _match(message: str) -> _Rule:
    return next((rule for rule in _RULES if rule.pattern.search(message)), _GENERIC)


def _context(rule: _Rule, url: str) -> str:
    """For a SQLite file that cannot be opened: say whether its folder is the problem."""
    if rule is not _CANNOT_OPEN:
        return ""
    try:
        database = make_url(url).database or ""
    except ArgumentError:
        return ""
    folder = Path(database.removeprefix("file:").split("?")[0]).parent
    return f": its folder {folder} does not exist" if not folder.exists() else ""


__all__ = ["UPGRADE", "describe_database_error"]
