"""The audit log port: the protocol the domain writes through, the records it exchanges, its errors,
and what a store needs to check an audit query (the run statuses, the "did you mean" helper).

``storage`` implements this and imports nothing else from ``lanes``; see ``port.py`` for why.
"""

from lanes.audit.port import AuditLog, DecisionLog, RunLog
from lanes.audit.records import (
    Attempt,
    AttemptKind,
    AttemptOutcome,
    AttemptRecord,
    DecisionOutcome,
    DecisionRecord,
    NewDecision,
    NewRun,
    RunOutcome,
    RunRecord,
)
from lanes.audit.text import needs_repair, storable_text
from lanes.choices import check_choice
from lanes.errors import AuditStoreError, AuditWriteError, InvalidRequestError, RunNotFoundError
from lanes.lifecycle import (
    ALL_STATUSES,
    AWAITING_REVIEW,
    IN_FLIGHT,
    DecisionGuard,
    RunStatus,
    Transition,
    transition,
)

__all__ = [
    "ALL_STATUSES",
    "AWAITING_REVIEW",
    "IN_FLIGHT",
    "Attempt",
    "AttemptKind",
    "AttemptOutcome",
    "AttemptRecord",
    "AuditLog",
    "AuditStoreError",
    "AuditWriteError",
    "DecisionGuard",
    "DecisionLog",
    "DecisionOutcome",
    "DecisionRecord",
    "InvalidRequestError",
    "NewDecision",
    "NewRun",
    "RunLog",
    "RunNotFoundError",
    "RunOutcome",
    "RunRecord",
    "RunStatus",
    "Transition",
    "check_choice",
    "needs_repair",
    "storable_text",
    "transition",
]
