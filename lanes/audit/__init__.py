"""The audit log port: the protocol the domain writes through, the records it exchanges, its errors.

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
from lanes.errors import AuditStoreError, AuditWriteError, InvalidRequestError, RunNotFoundError
from lanes.lifecycle import (
    AWAITING_REVIEW,
    IN_FLIGHT,
    DecisionGuard,
    Transition,
    transition,
)

__all__ = [
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
    "PolicySnapshot",
    "RecordedRoute",
    "RouteFeatures",
    "RouteInputs",
    "RunLog",
    "RunNotFoundError",
    "RunOutcome",
    "RunRecord",
    "ShadowCall",
    "ShadowLog",
    "ShadowRecord",
    "ShadowResult",
    "Transition",
    "needs_repair",
    "storable_text",
    "transition",
]
