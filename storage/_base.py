"""What every part of the audit store shares: the engine, short transactions, error mapping.

Every write runs in its own short transaction and any database failure surfaces as
``AuditWriteError`` (reads as ``AuditStoreError``): the engine treats that as "no log, no draft".
The messages say what failed and what to check, never the SQL or its parameters (which could hold
request text).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lanes.audit import AttemptRecord, AuditStoreError, AuditWriteError, DecisionRecord, RunRecord
from storage import models
from storage.run_writes import RunStatements

log = logging.getLogger("storage.store")


class StoreBase:
    """The engine, the session factory and the prebuilt statements every concern uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._sql = RunStatements.build()

    @contextmanager
    def _write(self, what: str, *, conflicts_expected: bool = False) -> Iterator[Session]:
        """A short write transaction. Database failures become ``AuditWriteError``; a unique-key
        conflict stays an ``IntegrityError`` only where the caller expects one (claims, races)."""
        with write_errors(what, conflicts_expected), self._sessions.begin() as session:
            yield session

    @contextmanager
    def _write_core(self, what: str, *, conflicts_expected: bool = False) -> Iterator[Connection]:
        """``_write`` without the ORM, for the per-run writes (``storage.run_writes``)."""
        with write_errors(what, conflicts_expected), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with read_errors(), self._sessions() as session:
            yield session


@contextmanager
def read_errors() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        log.error("audit store read failed (%s)", type(exc).__name__)
        raise AuditStoreError(
            f"the audit store could not be read ({type(exc).__name__}); check DATABASE_URL and that "
            "the database is up"
        ) from exc


@contextmanager
def write_errors(what: str, conflicts_expected: bool) -> Iterator[None]:
    """Database failures of a write become ``AuditWriteError`` (see ``StoreBase._write``)."""
    try:
        yield
    except IntegrityError as exc:
        if conflicts_expected:
            raise
        log.error("audit store write rejected: %s (%s)", what, type(exc).__name__)
        raise AuditWriteError(
            f"the audit store rejected {what} ({type(exc).__name__}); "
            "no draft is shown without an audit record"
        ) from exc
    except SQLAlchemyError as exc:
        log.error("audit store write failed: %s (%s)", what, type(exc).__name__)
        raise AuditWriteError(
            f"the audit store could not record {what} ({type(exc).__name__}); "
            "no draft is shown without an audit record — "
            "check DATABASE_URL and that the database is writable"
        ) from exc


def to_record(row: models.Run) -> RunRecord:
    """Copy an ORM run (with attempts and decisions loaded) into a frozen record."""
    fields = {
        name: getattr(row, name)
        for name in RunRecord.__dataclass_fields__
        if name not in ("attempts", "decisions")
    }
    fields["route_reasons"] = tuple(row.route_reasons or ())
    attempts = tuple(
        AttemptRecord(**{name: getattr(a, name) for name in AttemptRecord.__dataclass_fields__})
        for a in row.attempts
    )
    decisions = tuple(
        DecisionRecord(**{name: getattr(d, name) for name in DecisionRecord.__dataclass_fields__})
        for d in row.decisions
    )
    return RunRecord(**fields, attempts=attempts, decisions=decisions)
