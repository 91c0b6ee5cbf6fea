"""The value objects that flow through a run: request, route, attempts and result.

Frozen dataclasses inside, pydantic only at the edges. A run's every step carries its reasons as
data (``Reason``), so Slack, the CLI and the digest can all say *why* a run took its route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from lanes.audit.records import Attempt, AttemptKind, AttemptOutcome, RouteFeatures, RouteInputs
from lanes.lifecycle import AWAITING_REVIEW, TERMINAL_STATUSES, RunStatus

RouteKind = Literal["default", "fallback", "escalation", "human"]


@dataclass(frozen=True)
class Reason:
    """One rule that shaped a route, in plain words: ``rule`` is stable, ``text`` is for people."""

    rule: str
    text: str


@dataclass(frozen=True)
class RunRequest:
    """A person asking a lane for a draft."""

    lane: str
    text: str
    requester: str
    channel: str | None = None
    source: str = "cli"
    idempotency_key: str | None = None
    confirmed_tier: str | None = None
    """Set when an owner pressed "run anyway": the budget stop is waived for this tier only."""
    queued_run_id: str | None = None
    """The ``queued`` run already recorded for this request (a Slack command that waited for a
    worker, ``bot.runtime.queued_requests``): the run starts that one, under its id, rather than a new one."""


@dataclass(frozen=True)
class RouteState:
    """What the pure routing policy may know about the world."""

    now: datetime
    spent_today_usd: float = 0.0
    open_circuits: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Route:
    """The policy's answer: which tier runs first, or why nothing runs yet."""

    tier: str | None
    kind: RouteKind
    reasons: tuple[Reason, ...]
    needs_confirmation: bool = False
    estimated_cost_usd: float | None = None
    confirm_tier: str | None = None
    """With ``needs_confirmation``: the tier an owner may choose to run anyway."""

    def explain(self) -> str:
        return "; ".join(reason.text for reason in self.reasons)


@dataclass(frozen=True)
class RunResult:
    """What the engine hands back once the audit record is safely written."""

    run_id: str
    lane: str
    status: RunStatus
    route: Route
    route_kind: RouteKind
    draft: str | None
    message: str
    review_rule: str
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    tier: str | None = None
    model_answered: str | None = None
    provider: str | None = None
    failed_check: str | None = None
    fallback_reason: str | None = None
    escalation_reason: str | None = None
    cost_usd: float | None = None
    cost_known: bool = True
    latency_ms: float = 0.0
    prompt_id: str | None = None
    prompt_version: str | None = None
    policy_version: str | None = None
    alternatives: tuple[str, ...] = ()
    """With a cross-check disagreement: every candidate draft, for the human to choose from."""
    cost_estimated: bool = False
    """The offline sample drafted it: ``model_answered`` is the configured model that would have
    answered, and ``cost_usd`` what it would have cost (estimated from the tokens and the price table)."""


__all__ = [
    "AWAITING_REVIEW",
    "TERMINAL_STATUSES",
    "Attempt",
    "AttemptKind",
    "AttemptOutcome",
    "Reason",
    "Route",
    "RouteFeatures",
    "RouteInputs",
    "RouteKind",
    "RouteState",
    "RunRequest",
    "RunResult",
    "RunStatus",
]
