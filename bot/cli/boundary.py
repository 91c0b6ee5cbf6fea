"""The CLI's one error boundary: every failure becomes one paragraph on stderr and an exit code.

A person at a terminal needs what failed, where, and what to do; a traceback is for whoever
fixes lanebot, so it is printed only with ``-v``. The order of the checks matters: a database
failure often arrives wrapped (``AuditWriteError`` from ``OperationalError``), and its bottom link
says more than the wrapper, so the database is asked first (``storage.db_errors``). The database
password is masked wherever it appears; text lanebot did not write itself (an unexpected
exception's message, a traceback) also passes the secret scrubber.
"""

from __future__ import annotations

import errno
import sys
import traceback
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.cli.exits import Exit
from lanes.errors import AuditStoreError, ConfigError, LanebotError
from storage.db_errors import describe_database_error

TRACEBACK_HINT = "Run again with -v for the traceback."
BUG_HINT = "run again with -v for the traceback and report it."
_OS_FIXES = {
    errno.ENOENT: "check the path",
    errno.EACCES: "check its permissions",
    errno.EPERM: "check its permissions",
    errno.EROFS: "it is on a read-only file system; write somewhere else",
    errno.ENOSPC: "the disk is full; free some space and run the command again",
    errno.EDQUOT: "the disk quota is used up; free some space and run the command again",
    errno.EISDIR: "give a file, not a folder",
}


@dataclass(frozen=True)
class Failure:
    code: Exit
    lines: tuple[str, ...]
    """Usually one paragraph; a ``ConfigError`` has one line per problem in the file."""


def explain(exc: BaseException, database_url: str) -> Failure:
    """What to tell a person about ``exc``, and the exit code that goes with it."""
    about_database = describe_database_error(exc, database_url)
    if about_database is not None:
        return Failure(Exit.STORE, (f"{about_database}. {TRACEBACK_HINT}",))
    if isinstance(exc, AuditStoreError):
        return Failure(Exit.STORE, (str(exc),))
    if isinstance(exc, ConfigError):
        return Failure(Exit.FAILED, tuple(exc.problems) or (str(exc),))
    if isinstance(exc, LanebotError):
        return Failure(Exit.FAILED, (str(exc),))
    if isinstance(exc, OSError):
        return Failure(Exit.FAILED, (_os_message(exc),))
    what = f"unexpected {type(exc).__name__}: {_clean(str(exc), database_url)}"
    return Failure(Exit.INTERNAL, (f"{what}. This is a bug in lanebot: {BUG_HINT}",))


def report(exc: BaseException, database_url: str, *, verbose: bool, stderr: TextIO | None = None) -> int:
    """Print ``exc`` as a person should read it (and its traceback with ``-v``); return the exit code."""
    stderr = stderr or sys.stderr
    failure = explain(exc, database_url)
    if verbose:
        trace = "".join(traceback.format_exception(exc))
        print(_clean(trace, database_url), file=stderr, end="")
    for line in failure.lines:
        print(f"lanebot: {_masked(line, database_url)}", file=stderr)
    return int(failure.code)


def _os_message(exc: OSError) -> str:
    what = f"{exc.filename}: " if exc.filename else ""
    fix = _OS_FIXES.get(exc.errno or 0, "check the file and try again")
    return f"{what}{exc.strerror or exc}; {fix}"


def _masked(text: str, database_url: str) -> str:
    """``text`` with the database password masked, wherever it appears."""
    try:
        password = make_url(database_url).password
    except ArgumentError:
        password = None
    return text.replace(str(password), "***") if password else text


def _clean(text: str, database_url: str) -> str:
    """Text lanebot did not write (an exception's, a traceback): also scrubbed of anything secret."""
    from storage.redaction import scrub_secrets

    return scrub_secrets(_masked(text, database_url)).text


__all__ = ["BUG_HINT", "TRACEBACK_HINT", "Failure", "explain", "report"]
