"""The audit log port: what the domain needs from the audit store, as ``Protocol`` classes.

``lanes`` owns this interface and the records it exchanges (``lanes.audit.records``); ``storage``
implements it with SQLAlchemy and imports nothing else from ``lanes``. The engine and the decision
service depend on these protocols only, so tests can hand them a fake and the store can change
without touching the domain.

Every status change goes through a ``lanes.lifecycle.Transition`` handed to a method here; the
store executes it as one conditional write and reports whether it won (see ``lanes.lifecycle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from lanes.audit.records import (
    Attempt,
    DecisionOutcome,
    NewDecision,
    NewRun,
    RunOutcome,
    RunRecord,
)
from lanes.lifecycle import DecisionGuard, Transition


class RunLog(Protocol):
    """Runs and their attempts: the engine's side of the audit trail."""

    def start_run(self, run: NewRun, change: Transition) -> tuple[str, bool]:
        """Write a new run (``start``/``enqueue``). Returns the run's id and whether this call
        created or adopted it; ``(other_id, False)`` when its idempotency key already has a run."""
        ...

    def adopt_queued_run(self, run_id: str, run: NewRun) -> bool:
        """Start the ``queued`` run ``run_id`` with ``run``'s details; False unless still queued."""
        ...

    def record_attempt(self, run_id: str, seq: int, attempt: Attempt) -> None: ...

    def finish_run(
        self,
        run_id: str,
        change: Transition,
        outcome: RunOutcome,
        *,
        attempts: Sequence[tuple[int, Attempt]] = (),
    ) -> bool:
        """Execute ``change`` with ``outcome``'s columns (and ``attempts``) in one transaction;
        False if the run was no longer in one of ``change.sources``."""
        ...

    def get_run(self, run_id: str) -> RunRecord: ...

    def spent_since(self, lane: str, since: datetime) -> float: ...


class DecisionLog(Protocol):
    """Decisions on drafts: appended, never edited; a final one closes the run."""

    def get_run(self, run_id: str) -> RunRecord: ...

    def apply_decision(self, decision: NewDecision, guard: DecisionGuard) -> DecisionOutcome:
        """Append ``decision`` if ``guard`` still holds (status and approval count), atomically."""
        ...

    def record_event(
        self,
        run_id: str,
        kind: str,
        actor: str,
        at: datetime,
        *,
        note: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Append a non-final row: a refused click, a reminder, a "run anyway"."""
        ...


class AuditLog(RunLog, DecisionLog, Protocol):
    """Both sides together: what ``storage.AuditStore`` implements."""
