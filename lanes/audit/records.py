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
class RouteInputs:
    """Everything ``lanes.policy.route`` read to route one request, without the request's text.

    Recorded on every run (also when the lane stores no text), so ``lanebot routes diff`` can
    replay a candidate policy over past runs: ``route`` itself is computed from these inputs, so a
    replay agrees with what ``route`` returns for the same request. Keywords are normalised
    (``lanes.policy.normalise_keyword``); ``keywords_checked`` are those the policy looked for, so
    a candidate's *new* keyword is known to be unanswerable from these inputs alone.
    """

    at: datetime
    input_chars: int
    keywords_checked: tuple[str, ...] = ()
    keywords_hit: tuple[str, ...] = ()
    spent_today_usd: float = 0.0
    open_circuits: tuple[str, ...] = ()
    confirmed_tier: str | None = None


@dataclass(frozen=True)
class RouteFeatures:
    """A run's route inputs and the route they produced (before any fallback or escalation)."""

    inputs: RouteInputs
    tier: str | None
    kind: str
    needs_confirmation: bool = False
    estimated_cost_usd: float | None = None


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
    policy_hash: str | None = None
    """The ``lanes.policy_text`` snapshot (the whole lanes.toml) the run was routed under."""
    route_features: RouteFeatures | None = None
    """What routing read and chose; stored beside the run (``run_route_features``), not in it."""


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
    policy_hash: str | None = None
    """The stored lanes.toml (``lanebot policy log``) the run was routed under."""
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


# --- policy changes: the policy log, recorded routes, shadow attempts ---------------------------


@dataclass(frozen=True)
class PolicySnapshot:
    """One policy: the sha256 (hex) of its canonical, secret-free lanes.toml text, and the text."""

    hash: str
    text: str
    source: str

    @property
    def short(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True)
class PolicyEntry:
    """A stored policy with when it was first loaded, by whom, and the runs routed under it."""

    hash: str
    source: str
    first_loaded_at: datetime
    loaded_by: str
    runs: int = 0
    first_run_at: datetime | None = None
    last_run_at: datetime | None = None
    text: str | None = None

    @property
    def short(self) -> str:
        return self.hash[:12]


@dataclass(frozen=True)
class RecordedRoute:
    """A past run's route inputs and route, for replay; ``input_text`` (redacted, or None) lets a
    candidate's new keyword be looked for when the lane stored text."""

    run_id: str
    lane: str
    features: RouteFeatures
    input_text: str | None = None


@dataclass(frozen=True)
class ShadowCall:
    """A shadow attempt as it starts: the live run it shadows and the worst case it reserved."""

    run_id: str
    lane: str
    tier: str
    provider: str
    model_requested: str
    created_at: datetime
    reserved_usd: float


@dataclass(frozen=True)
class ShadowResult:
    """How a shadow call ended; ``status`` is ``ok``, ``check_failed``, ``failed`` or ``skipped``."""

    status: str
    finished_at: datetime
    reason: str | None = None
    draft_text: str | None = None
    failed_checks: str | None = None
    model_answered: str | None = None
    cost_usd: float | None = None
    cost_known: bool = True
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class ShadowRecord:
    """A shadow attempt next to the live run it shadowed and that run's human decision."""

    run_id: str
    lane: str
    tier: str
    model: str
    status: str
    reason: str | None
    draft_text: str | None
    failed_checks: str | None
    cost_usd: float | None
    latency_ms: float | None
    created_at: datetime
    live_status: str
    live_cost_usd: float | None
    live_latency_ms: float | None
    live_draft_text: str | None
    live_failed_check: str | None
    decision_kind: str | None
    approved_text: str | None
    """The text a person approved (their edit, or the live draft as approved); None if undecided."""
