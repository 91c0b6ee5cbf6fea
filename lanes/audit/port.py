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
    PolicyEntry,
    PolicySnapshot,
    RecordedRoute,
    RunOutcome,
    RunRecord,
    ShadowCall,
    ShadowRecord,
    ShadowResult,
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

    def record_policy(self, policy: PolicySnapshot, at: datetime, instance: str) -> None:
        """Store ``policy`` unless a policy with its hash is stored already (then nothing changes)."""
        ...


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


class PolicyHistory(Protocol):
    """The policy log and what routing recorded: read by ``lanebot policy`` and ``routes diff``."""

    def policies(self) -> list[PolicyEntry]:
        """Every stored policy, oldest first, with the runs routed under it."""
        ...

    def get_policy(self, hash_prefix: str) -> PolicyEntry:
        """One policy with its text; ``PolicyNotFoundError`` naming the fix if none or several match."""
        ...

    def recorded_routes(self, since: datetime, *, lane: str | None = None) -> list[RecordedRoute]:
        """Route inputs and routes of the runs requested at or after ``since``, oldest first
        (without their text: see ``input_texts``)."""
        ...

    def input_texts(self, run_ids: Sequence[str]) -> dict[str, str | None]:
        """The stored, redacted request text of each run (None when its lane stores none)."""
        ...


class DecidedRuns(Protocol):
    """Runs a person decided, with their lineage: where golden examples come from."""

    def decided_runs(self, lane: str, since: datetime) -> list[RunRecord]: ...

    def recorded_routes_of(self, run_ids: Sequence[str]) -> dict[str, RecordedRoute]: ...


class ShadowLog(Protocol):
    """Shadow attempts: the daily budget claimed in SQL, one row per shadowed live run."""

    def start_shadow(self, call: ShadowCall, *, day: str, budget_usd: float) -> str:
        """Reserve ``call.reserved_usd`` of the lane's shadow budget for ``day`` and record the
        call as running, in one transaction. Returns ``"started"``; ``"over_budget"`` when the
        reservation does not fit (the call is recorded as skipped); ``"duplicate"`` when the run
        has a shadow attempt already (nothing is written)."""
        ...

    def finish_shadow(self, run_id: str, result: ShadowResult, *, day: str) -> None:
        """Record how the call ended and move its reservation to actual spend."""
        ...

    def shadow_records(self, since: datetime, *, lane: str | None = None) -> list[ShadowRecord]: ...
