"""Strict, short fallback: the state machine of one run's model attempts.

The rules, each a method below, and never a loop:
1. transient failure (timeout, reset, 429, 5xx, empty) -> exactly one try, same prompt, on the
   lane's fallback; a 429 whose Retry-After fits the model's timeout is honoured once instead;
2. context length -> the escalation model if its window is larger, else a clean failure;
   content policy -> a human decides, with the provider's reason; auth and bad requests fail;
3. a failed check -> low/medium risk escalate once; high risk, or a second failure -> a human;
4. ``cross_check`` -> a second model answers too; disagreeing key fields go to a human with both.

Every failed attempt is recorded through ``record`` the moment it ends, before anything else
happens, so the audit trail is complete even when the next step fails. A successful attempt is
recorded before the next model call starts, or, when no other call follows (the usual case: the
attempt that produced the draft), handed back in ``unrecorded`` so the engine writes it in the
same transaction as the outcome, still before the draft is returned: one commit less per run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from lanes.attempts import AttemptResult, AttemptRunner, PromptText
from lanes.breaker import CircuitBreaker
from lanes.checks import check_draft, compare_key_fields
from lanes.config import LaneConfig, ModelSpec
from lanes.lifecycle import ModelWorkEnding
from lanes.providers.errors import ContentPolicyError, ContextLengthError, ProviderError, TransientError
from lanes.values import Attempt, AttemptKind, Route, RouteKind


@dataclass(frozen=True)
class ExecutionOutcome:
    """How a run's model work ended. ``ending`` is a verdict, not a status: the engine hands it to
    ``lanes.lifecycle.end_of_model_work`` for the transition the store executes."""

    ending: ModelWorkEnding
    route_kind: RouteKind
    message: str
    draft: str | None = None
    tier: str | None = None
    answered: Attempt | None = None
    failed_check: str | None = None
    fallback_reason: str | None = None
    escalation_reason: str | None = None
    alternatives: tuple[str, ...] = ()


@dataclass
class Execution:
    """Runs the attempts of one run; ``record(seq, attempt)`` persists an attempt (see the module
    docstring for when)."""

    lane: LaneConfig
    models: Mapping[str, ModelSpec]
    runner: AttemptRunner
    breaker: CircuitBreaker
    record: Callable[[int, Attempt], None]
    sleep: Callable[[float], None]
    prompts: Mapping[str, PromptText]
    model_input: str
    fallback_reason: str | None = None
    escalation_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    unrecorded: list[tuple[int, Attempt]] = field(default_factory=list)
    """Successful attempts (``(seq, attempt)``) not yet recorded; the engine writes them with the outcome."""

    def execute(self, route: Route) -> ExecutionOutcome:
        assert route.tier is not None
        first_kind: AttemptKind = "fallback" if route.tier == self.lane.fallback else "first"
        route_kind: RouteKind = "fallback" if first_kind == "fallback" else route.kind
        if first_kind == "fallback":
            self.fallback_reason = route.explain()
        result = self._call(first_kind, route.tier, route.tier)
        if result.error is not None:
            return self._on_error(result.error, route.tier)
        return self._on_draft(result, route.tier, route_kind)

    # --- calls ------------------------------------------------------------------------------

    def _call(self, kind: AttemptKind, tier: str, prompt_tier: str) -> AttemptResult:
        """Call ``tier`` with ``prompt_tier``'s prompt.

        Failed attempts are recorded here; drafts are recorded after their checks, with the outcome.
        """
        prompt = self.prompts.get(prompt_tier) or self.prompts[self.lane.default]
        self._record_pending()  # nothing that happened before a model call is left unrecorded during it
        result = self.runner.call(
            kind,
            tier,
            prompt,
            max_output_tokens=self.lane.max_output_tokens,
            json_output=self.lane.output_schema is not None,
        )
        if result.error is None:
            self.breaker.record_success(tier)
        elif isinstance(result.error, TransientError):
            self.breaker.record_failure(tier)
        if result.error is not None:
            self._record(result.attempt)
        return result

    def _record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        seq = len(self.attempts)
        if attempt.outcome == "ok":
            self.unrecorded.append((seq, attempt))
        else:
            self.record(seq, attempt)

    def _record_pending(self) -> None:
        while self.unrecorded:
            self.record(*self.unrecorded[0])
            del self.unrecorded[0]

    # --- rule 1 and 2: failures -------------------------------------------------------------

    def _on_error(self, error: ProviderError, tier: str) -> ExecutionOutcome:
        if isinstance(error, TransientError):
            return self._after_transient(error, tier)
        if isinstance(error, ContextLengthError):
            return self._after_context_length(error, tier)
        if isinstance(error, ContentPolicyError):
            return ExecutionOutcome(
                ending="needs_human",
                route_kind="human",
                tier=tier,
                message=f"{tier} declined on content policy: {error.message}. A reviewer decides what next.",
                failed_check="content policy",
            )
        return self._failed(f"{tier} could not be used: {error.message}", tier)

    def _after_transient(self, error: TransientError, tier: str) -> ExecutionOutcome:
        retry_after = error.retry_after_s
        if (
            retry_after is not None
            and retry_after <= self.models[tier].timeout_s
            and tier != self.lane.fallback
        ):
            self.sleep(retry_after)
            retried = self._call("retry", tier, tier)
            if retried.error is None:
                return self._on_draft(retried, tier, "default" if tier == self.lane.default else "escalation")
            error = retried.error if isinstance(retried.error, TransientError) else error
        if tier == self.lane.fallback:
            return self._failed(f"fallback {tier} failed too ({error.reason_code}: {error.message})", tier)
        self.fallback_reason = f"{tier} {error.reason_code.replace('_', ' ')}: {error.message}"[:255]
        fallback = self.lane.fallback
        if self.breaker.is_open(fallback):
            return self._failed(
                f"{tier} failed ({error.reason_code}) and fallback {fallback} is cooling down", tier
            )
        result = self._call("fallback", fallback, tier)
        if result.error is not None:
            return self._failed(
                f"{tier} failed ({error.reason_code}) and fallback {fallback} failed too "
                f"({result.error.reason_code}: {result.error.message})",
                fallback,
            )
        return self._on_draft(result, fallback, "fallback")

    def _after_context_length(self, error: ContextLengthError, tier: str) -> ExecutionOutcome:
        target = self.lane.escalate_to
        mine, theirs = self.models[tier].context_window, self.models[target].context_window
        if target == tier or theirs is None or (mine is not None and theirs <= mine):
            return self._failed(
                f"the request is too long for {tier} ({error.message}) and no larger model is configured; "
                "shorten the request or set a larger escalate_to model with context_window",
                tier,
            )
        self.escalation_reason = (
            f"escalated: context length exceeded on {tier}, {target} has {theirs:,} tokens"
        )
        result = self._call("escalation", target, target)
        if result.error is not None:
            return self._failed(f"escalation to {target} failed ({result.error.message})", target)
        return self._on_draft(result, target, "escalation", may_escalate=False)

    # --- rule 3 and 4: drafts ---------------------------------------------------------------

    def _on_draft(
        self, result: AttemptResult, tier: str, route_kind: RouteKind, *, may_escalate: bool = True
    ) -> ExecutionOutcome:
        assert result.completion is not None
        text = result.completion.text
        check = check_draft(self.lane, text, self.model_input)
        if check.passed:
            self._record(result.attempt)
            if self.lane.cross_check:
                return self._cross_check(result.attempt, text, check.parsed, tier, route_kind)
            return self._drafted(result.attempt, text, tier, route_kind)
        failed = "; ".join(check.failed)
        self._record(replace(result.attempt, outcome="check_failed", error=failed[:500]))
        target = self.lane.escalate_to
        if self.lane.risk == "high" or not may_escalate or tier == target:
            return self._to_human(text, tier, failed, result.attempt)
        self.escalation_reason = f"escalated: check failed on {tier}: {check.failed[0]}"[:255]
        escalated = self._call("escalation", target, target)
        if escalated.error is not None:
            return self._to_human(text, tier, f"{failed}; escalation to {target} failed too", result.attempt)
        return self._on_draft(escalated, target, "escalation", may_escalate=False)

    def _cross_check(
        self, first: Attempt, text: str, parsed: dict[str, object] | None, tier: str, route_kind: RouteKind
    ) -> ExecutionOutcome:
        other = self.lane.escalate_to if self.lane.escalate_to != tier else self.lane.fallback
        second = self._call("cross_check", other, other)
        if second.error is not None or second.completion is None:
            return self._to_human(text, tier, f"cross-check on {other} unavailable", first)
        other_check = check_draft(self.lane, second.completion.text, self.model_input)
        self._record(
            second.attempt
            if other_check.passed
            else replace(second.attempt, outcome="check_failed", error="; ".join(other_check.failed)[:500])
        )
        if not other_check.passed:
            return self._to_human(
                text,
                tier,
                f"cross-check draft from {other} failed checks",
                first,
                alternatives=(text, second.completion.text),
            )
        disagree = compare_key_fields(self.lane, parsed or {}, other_check.parsed or {})
        if disagree:
            return self._to_human(
                text,
                tier,
                f"cross-check disagreement on {', '.join(disagree)}",
                first,
                alternatives=(text, second.completion.text),
            )
        return self._drafted(first, text, tier, route_kind)

    # --- outcomes ---------------------------------------------------------------------------

    def _drafted(self, attempt: Attempt, text: str, tier: str, route_kind: RouteKind) -> ExecutionOutcome:
        return ExecutionOutcome(
            ending="drafted",
            route_kind=route_kind,
            message="draft ready for review",
            draft=text,
            tier=tier,
            answered=attempt,
            fallback_reason=self.fallback_reason,
            escalation_reason=self.escalation_reason,
        )

    def _to_human(
        self, text: str, tier: str, failed: str, attempt: Attempt, *, alternatives: tuple[str, ...] = ()
    ) -> ExecutionOutcome:
        return ExecutionOutcome(
            ending="needs_human",
            route_kind="human",
            draft=text,
            tier=tier,
            answered=attempt,
            failed_check=failed[:255],
            alternatives=alternatives,
            message=f"needs a human: {failed}",
            fallback_reason=self.fallback_reason,
            escalation_reason=self.escalation_reason,
        )

    def _failed(self, message: str, tier: str) -> ExecutionOutcome:
        kind: RouteKind = (
            "fallback" if self.fallback_reason else ("escalation" if self.escalation_reason else "default")
        )
        return ExecutionOutcome(
            ending="failed",
            route_kind=kind,
            message=message,
            tier=tier,
            fallback_reason=self.fallback_reason,
            escalation_reason=self.escalation_reason,
        )
