"""A throwaway audit store: a SQLite file in a temporary directory, migrated, removed afterwards.

``lanebot eval`` and ``lanebot drill`` run the real engine, which writes every run before it
returns a draft; they write to one of these so the team's audit trail never sees test runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.db import make_engine
from storage.migrate import upgrade
from storage.store import AuditStore


@contextmanager
def scratch_store(prefix: str = "lanebot-scratch-") -> Iterator[AuditStore]:
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'audit.db'}")
        try:
            upgrade(engine)
            yield AuditStore(engine)
        finally:
            engine.dispose()
