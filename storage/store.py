"""The audit store: the one object that owns SQLAlchemy, and implements ``lanes.audit.AuditLog``.

It is assembled from one class per concern, each in its own module, so each stays small enough
to read in one sitting:

    storage.runs          runs and attempts: start, adopt, record, finish (lifecycle transitions)
    storage.decision_writes     decisions: guarded by status and approval count, appended, never edited
    storage.claims        claims and leases: delivery keys, job slots, digest weeks, reminders,
                          heartbeats, late deliveries (exactly once across instances)
    storage.run_queries   the background jobs' reads: expiring, in flight, undelivered
    storage.search        audit search and export
    storage.policies      the policy log, route features for replay, decided runs for golden sets
    storage.shadow        shadow attempts and their daily budget (reserved in SQL)

Methods are named for what the workflow intends (``start_run``, ``record_attempt``,
``apply_decision``), not for tables. Concurrency rules live in SQL, not in process locks, so they
hold across bot instances: a run's status changes only by a ``lanes.lifecycle`` transition
executed as ``UPDATE ... WHERE status IN (...)``, and the row count says who won.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

from storage.claims import DELIVERING, DIGEST_CLAIM_STALE_AFTER, HEARTBEAT_PREFIX, Claims
from storage.decision_writes import DecisionWrites
from storage.policies import PolicyRecords
from storage.run_queries import SLACK_REFUSED_ROOT, RunQueries
from storage.runs import INTERRUPTED, RunWrites
from storage.search import AuditQuery, RunSummary, to_csv
from storage.search import search as search_runs
from storage.shadow import ShadowWrites


class AuditStore(DecisionWrites, RunWrites, Claims, RunQueries, PolicyRecords, ShadowWrites):
    """Runs, attempts and decisions, written before anything is shown to anyone."""

    def search(self, query: AuditQuery) -> list[RunSummary]:
        """Runs matching ``query``, newest first, as summary lines (one SQL statement)."""
        with self._read() as session:
            return search_runs(session, query)

    def export(self, query: AuditQuery, fmt: Literal["json", "csv"] = "json") -> str:
        """The search as a document: a JSON array of ``SUMMARY_KEYS`` objects, or CSV with that header."""
        rows = self.search(query)
        if fmt == "csv":
            return to_csv(rows)
        return json.dumps([row.as_json() for row in rows], indent=2)


StoreFactory = Callable[[str], AuditStore]

__all__ = [
    "DELIVERING",
    "DIGEST_CLAIM_STALE_AFTER",
    "HEARTBEAT_PREFIX",
    "INTERRUPTED",
    "SLACK_REFUSED_ROOT",
    "AuditStore",
    "StoreFactory",
]
