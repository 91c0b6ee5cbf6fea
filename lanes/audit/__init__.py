"""The audit log port: the protocol the domain writes through, the records it exchanges, its errors,
and what a store needs to check an audit query (the run statuses, the "did you mean" helper).

``storage`` implements this and imports nothing else from ``lanes``; see ``port.py`` for why.
"""

from lanes.audit.port import AuditLog, DecidedRuns, DecisionLog, PolicyHistory, RunLog, ShadowLog
from lanes.audit.records import (
    Attempt,
    AttemptKind,
    AttemptOutcome,
    AttemptRecord,
    DecisionOutcome,
    DecisionRecord,
    NewDecision,
    NewRun,
    PolicyEntry,
    PolicySnapshot,
    RecordedRoute,
    RouteFeatures,
    RouteInputs,
    RunOutcome,
    RunRecord,
    ShadowCall,
    ShadowRecord,
    ShadowResult,
)
from lanes.audit.text import needs_repair, storable_text
from lanes.choices import check_choice
from lanes.errors import (
    AuditStoreError,
    AuditWriteError,
    InvalidRequestError,
    PolicyNotFoundError,
    RunNotFoundError,
)
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
    "DecidedRuns",
    "DecisionGuard",
    "DecisionLog",
    "DecisionOutcome",
    "DecisionRecord",
    "InvalidRequestError",
    "NewDecision",
    "NewRun",
    "PolicyEntry",
    "PolicyHistory",
    "PolicyNotFoundError",
    "PolicySnapshot",
    "RecordedRoute",
    "RouteFeatures",
    "RouteInputs",
    "RunLog",
    "RunNotFoundError",
    "RunOutcome",
    "RunRecord",
    "RunStatus",
    "ShadowCall",
    "ShadowLog",
    "ShadowRecord",
    "ShadowResult",
    "Transition",
    "check_choice",
    "needs_repair",
    "storable_text",
    "transition",
]
