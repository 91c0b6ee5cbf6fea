"""Plain values going into and coming out of the audit store.

Callers never see ORM objects: a row is read into one of these frozen dataclasses inside the
session that loaded it, so nothing lazy-loads later from another thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class NewRun:
    """A run as it starts: who asked which lane, and the route the policy chose."""

    id: str
    lane: str
    requester: str
    created_at: datetime
    status: str = "running"
    channel: str | None = None
    source: str = "cli"
    risk: str = "low"
    review_rule: str = "owner"
    input_text: str | None = None
    input_chars: int = 0
    text_redacted: bool = True
    route_reasons: tuple[str, ...] = ()
    route_kind: str | None = None
    tier: str | None = None
    prompt_id: str | None = None
    prompt_version: str | None = None
    policy_version: str | None = None
    idempotency_key: str | None = None
    owner_instance: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended its model work: the draft (redacted) or why there is none."""

    status: str
    finished_at: datetime
    route_kind: str | None = None
    route_reasons: tuple[str, ...] | None = None
    review_rule: str | None = None
    tier: str | None = None
    provider: str | None = None
    model: str | None = None
    draft_text: str | None = None
    fallback_reason: str | None = None
    escalation_reason: str | None = None
    failed_check: str | None = None
    error: str | None = None
    cost_usd: float | None = None
    cost_known: bool = True
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class AttemptRecord:
    id: int
    seq: int
    kind: str
    tier: str
    provider: str
    model_requested: str
    model_answered: str | None
    response_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    price_known: bool
    latency_ms: float
    finish_reason: str | None
    outcome: str
    reason_code: str | None
    error: str | None
    started_at: datetime


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    kind: str
    actor: str
    final: bool
    reason: str | None
    note: str | None
    edited_text: str | None
    edit_distance: int | None
    created_at: datetime


@dataclass(frozen=True)
class RunRecord:
    """One run with its lineage: every attempt and every decision, in order."""

    id: str
    lane: str
    requester: str
    channel: str | None
    source: str
    status: str
    risk: str
    review_rule: str
    route_kind: str | None
    tier: str | None
    provider: str | None
    model: str | None
    route_reasons: tuple[str, ...]
    fallback_reason: str | None
    escalation_reason: str | None
    failed_check: str | None
    error: str | None
    prompt_id: str | None
    prompt_version: str | None
    policy_version: str | None
    input_text: str | None
    input_chars: int
    draft_text: str | None
    text_redacted: bool
    cost_usd: float | None
    cost_known: bool
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float | None
    slack_channel: str | None
    slack_root_ts: str | None
    slack_draft_ts: str | None
    created_at: datetime
    started_at: datetime | None
    drafted_at: datetime | None
    decided_at: datetime | None
    expires_at: datetime | None
    reminded_at: datetime | None
    attempts: tuple[AttemptRecord, ...] = field(default_factory=tuple)
    decisions: tuple[DecisionRecord, ...] = field(default_factory=tuple)
    owner_instance: str | None = None
    """The process that executed (or is executing) the run; crash recovery reads it."""
    idempotency_key: str | None = None
    """The delivery that started the run (``slack:<team>:<trigger>``), to match requests to runs."""

    @property
    def approvals(self) -> frozenset[str]:
        """Distinct actors who gave one of two approvals (two-person rule)."""
        return frozenset(d.actor for d in self.decisions if d.kind == "approval")

    @property
    def final_decision(self) -> DecisionRecord | None:
        return next((d for d in self.decisions if d.final), None)


@dataclass(frozen=True)
class NewDecision:
    """A decision to append. ``final`` ones close the run; ``new_status`` is what it becomes."""

    run_id: str
    kind: str
    actor: str
    created_at: datetime
    final: bool = False
    new_status: str | None = None
    reason: str | None = None
    note: str | None = None
    edited_text: str | None = None
    edit_distance: int | None = None


@dataclass(frozen=True)
class DecisionOutcome:
    """Whether an appended decision took effect, and if not, who got there first."""

    applied: bool
    status: str
    decided_by: str | None = None
    decided_kind: str | None = None
