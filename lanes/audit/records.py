"""The records the audit log port exchanges: plain frozen values in and out of the store.

Callers never see ORM objects: a row is read into one of these frozen dataclasses inside the
session that loaded it, so nothing lazy-loads later from another thread. A run's status is not a
field anyone sets here: it moves only by a ``lanes.lifecycle.Transition`` handed to the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

AttemptKind = Literal["first", "retry", "fallback", "escalation", "cross_check"]
AttemptOutcome = Literal["ok", "failed", "check_failed", "skipped"]


@dataclass(frozen=True)
class Attempt:
    """One model call, as the audit trail records it."""

    kind: AttemptKind
    tier: str
    provider: str
    model_requested: str
    outcome: AttemptOutcome
    started_at: datetime
    latency_ms: float
    model_answered: str | None = None
    response_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    price_known: bool = True
    finish_reason: str | None = None
    reason_code: str | None = None
    error: str | None = None
    cost_estimated: bool = False
    """The offline sample answered in place of ``model_requested``; ``cost_usd`` is what that model
    would have charged for the same tokens, an estimate, not a bill."""

    @property
    def run_model(self) -> str | None:
        """The model a run is recorded under: the one that answered, or for an offline sample the
        configured model it stood in for (``cost_estimated`` says which)."""
        return self.model_requested if self.cost_estimated else self.model_answered


@dataclass(frozen=True)
class NewRun:
    """A run as it starts: who asked which lane, and the route the policy chose."""

    id: str
    lane: str
    requester: str
    created_at: datetime
    channel: str | None = None
    source: str = "cli"
    risk: str = "low"
    review_rule: str = "owner"
    input_text: str | None = None
    input_chars: int = 0
    text_redacted: bool = True
    text_repaired: bool = False
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
    """How a run ended its model work: the draft (redacted) or why there is none. The status it
    moves to is the ``lanes.lifecycle`` transition handed to the store with it."""

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
    cost_estimated: bool = False
    """The draft is the offline sample's: ``model`` is the configured model it stood in for and
    ``cost_usd`` an estimate from the price table (``Attempt.cost_estimated``)."""


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
    cost_estimated: bool = False


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
    approval_count: int = 0
    """Approvals given so far (two-person review); the guard of every counted decision."""
    text_repaired: bool = False
    """Some text of this run could not be stored as received (``lanes.audit.text``) and was repaired."""
    owner_instance: str | None = None
    """The process that executed (or is executing) the run; crash recovery reads it."""
    idempotency_key: str | None = None
    """The delivery that started the run (``slack:<team>:<trigger>``), to match requests to runs."""
    cost_estimated: bool = False
    """An offline sample run: ``model`` would have answered, ``cost_usd`` is an estimate."""

    @property
    def approvals(self) -> frozenset[str]:
        """Distinct actors who gave one of two approvals (two-person rule)."""
        return frozenset(d.actor for d in self.decisions if d.kind == "approval")

    @property
    def final_decision(self) -> DecisionRecord | None:
        return next((d for d in self.decisions if d.final), None)


@dataclass(frozen=True)
class NewDecision:
    """A decision to append. ``final`` ones close the run (through the transition handed to the
    store with it). ``edited_text`` on a final approval is the text that was approved, whoever
    of the approvers edited it."""

    run_id: str
    kind: str
    actor: str
    created_at: datetime
    final: bool = False
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
    stale: bool = False
    """Not applied because the run changed under the decider (another approval landed first) while
    it is still open: decide again on the fresh run."""
