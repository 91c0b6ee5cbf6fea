"""Strict, short fallback: the state machine of one run's model attempts.

Every failed attempt takes the same path, ``_on_error``, whatever its position (first try,
honoured retry, fallback or escalation): ``lanes.providers.classify.next_step`` says what the
error calls for, and the run's limits say whether that is still possible. The rules, each a
method below, and never a loop:

1. transient (timeout, reset, 429, 5xx, empty or unreadable answer, adapter bug) -> one try, same
   prompt, on the lane's fallback; a 429 whose Retry-After fits the model's timeout is waited out
   and the same model tried again instead (not on the fallback itself);
2. context length -> the escalation model if its window is larger, else a clean failure (and a
   fallback after an overflow must have a larger window than the model that overflowed);
3. content policy -> a human decides, with the provider's reason;
4. configuration fault (key rejected, quota or credit exhausted) -> the lane's owners are told
   (``RunObserver.config_fault``; ``lanes.faults`` decides what is news), and the fallback is
   tried only if it uses other credentials (provider, key variable or endpoint), since the same
   key would fail the same way; else a clean failure naming what to fix; bad requests fail;
5. a failed check -> low/medium risk escalate once; high risk, or a second failure -> a human;
   once a draft is in hand a failing escalation cannot lose it: a human gets the draft;
6. ``cross_check`` -> a second model answers too; disagreeing key fields go to a human with both.

Limits: at most one retry, one fallback and one escalation per run (``_used``), so a run ends
after a handful of calls whatever the providers answer.

Every failed attempt is recorded through ``record`` the moment it ends, before anything else
happens, so the audit trail is complete even when the next step fails. A successful attempt is
recorded before the next model call starts, or, when no other call follows (the usual case: the
attempt that produced the draft), handed back in ``unrecorded`` so the engine writes it in the
same transaction as the outcome, still before the draft is returned: one commit less per run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from lanes.attempts import AttemptResult, AttemptRunner, PromptText
from lanes.breaker import CircuitBreaker
from lanes.checks import check_draft, compare_key_fields
from lanes.config import LaneConfig, ModelSpec
from lanes.lifecycle import ModelWorkEnding
from lanes.observe import NoObserver, RunObserver
from lanes.providers.classify import Step, next_step
from lanes.providers.errors import ConfigFaultError, ProviderError, TransientError
from lanes.providers.registry import credentials
from lanes.values import Attempt, AttemptKind, Route, RouteKind

log = logging.getLogger(__name__)

Limit = Literal["retry", "fallback", "escalation"]


@dataclass(frozen=True)
class ExecutionOutcome:
    ending: ModelWorkEnding
    """How the model work ended; ``lanes.lifecycle.end_of_model_work`` maps it to the transition."""
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
    observer: RunObserver = field(default_factory=NoObserver)
    fallback_reason: str | None = None
    escalation_reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    unrecorded: list[tuple[int, Attempt]] = field(default_factory=list)
    """Successful attempts (``(seq, attempt)``) not yet recorded; the engine writes them with the outcome."""
    _used: set[Limit] = field(default_factory=set, init=False)
    _overflowed: list[int | None] = field(default_factory=list, init=False)
    """The context windows the input did not fit (``None``: a window lanes.toml does not give)."""
    _fell_back_after: str | None = field(default=None, init=False)
    """What failed before the fallback was called, for the message if it fails too."""

    def execute(self, route: Route) -> ExecutionOutcome:
        assert route.tier is not None
        on_fallback = route.tier == self.lane.fallback
        if on_fallback:
            self.fallback_reason = route.explain()
            self._used.add("fallback")
        kind: AttemptKind = "fallback" if on_fallback else "first"
        return self._attempt(kind, route.tier, route.tier, "fallback" if on_fallback else route.kind)

    # --- calls ------------------------------------------------------------------------------

    def _attempt(
        self, kind: AttemptKind, tier: str, prompt_tier: str, route_kind: RouteKind
    ) -> ExecutionOutcome:
        """Call ``tier`` and follow the outcome wherever it leads: a draft to its checks, an error
        to ``_on_error``, whichever attempt this is."""
        result = self._call(kind, tier, prompt_tier)
        if result.error is not None:
            return self._on_error(result.error, tier, route_kind)
        return self._on_draft(result, tier, route_kind)

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
        if isinstance(result.error, ConfigFaultError):
            self._tell_owners(tier, result.error)
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

    def _tell_owners(self, tier: str, error: ConfigFaultError) -> None:
        try:
            self.observer.config_fault(self.lane.name, tier, error.reason_code, error.message)
        except Exception:  # an observer must not fail the run it watches
            log.warning("config fault observer failed", extra={"lane": self.lane.name}, exc_info=True)

    # --- rules 1 to 4: failures, whichever attempt failed ---------------------------------------

    def _on_error(self, error: ProviderError, tier: str, route_kind: RouteKind) -> ExecutionOutcome:
        step = next_step(error)
        if step is Step.FALLBACK:
            return self._after_transient(error, tier, route_kind)
        if step is Step.ESCALATE:
            return self._after_context_length(error, tier)
        if step is Step.HUMAN:
            return self._refused(error, tier)
        if step is Step.FALLBACK_ON_OTHER_CREDENTIALS:
            return self._after_config_fault(error, tier)
        return self._failed(f"{tier} could not be used: {error.message}", tier)

    def _after_transient(self, error: ProviderError, tier: str, route_kind: RouteKind) -> ExecutionOutcome:
        retry_after = error.retry_after_s if isinstance(error, TransientError) else None
        if (
            retry_after is not None
            and "retry" not in self._used
            and tier != self.lane.fallback
            and retry_after <= self.models[tier].timeout_s
        ):
            self._used.add("retry")
            self.sleep(retry_after)
            return self._attempt("retry", tier, tier, route_kind)
        return self._fall_back(error, tier)

    def _after_config_fault(self, error: ProviderError, tier: str) -> ExecutionOutcome:
        fallback = self.lane.fallback
        if tier != fallback and credentials(self.models[tier]) == credentials(self.models[fallback]):
            return self._failed(
                f"{tier} could not be used: {error.message}. Fallback {fallback} uses the same "
                "credentials, so it was not tried.",
                tier,
            )
        return self._fall_back(error, tier)

    def _fall_back(self, error: ProviderError, tier: str) -> ExecutionOutcome:
        """One try on the lane's fallback with ``tier``'s prompt, unless the run cannot have it."""
        fallback = self.lane.fallback
        blocked = self._why_no_fallback(error, tier)
        if blocked is not None:
            return self._failed(blocked, tier)
        self.fallback_reason = f"{tier} {error.reason_code.replace('_', ' ')}: {error.message}"[:255]
        self._fell_back_after = f"{tier} failed ({error.reason_code}: {error.message})"
        self._used.add("fallback")
        return self._attempt("fallback", fallback, tier, "fallback")

    def _why_no_fallback(self, error: ProviderError, tier: str) -> str | None:
        fallback, failure = self.lane.fallback, f"{error.reason_code}: {error.message}"
        if tier == fallback:
            before = f"{self._fell_back_after} and " if self._fell_back_after else ""
            return f"{before}fallback {tier} failed too ({failure})"
        if "fallback" in self._used:
            return f"{tier} failed ({failure}) and the fallback {fallback} was already tried"
        if self.breaker.is_open(fallback):
            return f"{tier} failed ({error.reason_code}) and fallback {fallback} is cooling down"
        if self._overflowed and not self._fits(self.models[fallback].context_window):
            return f"{tier} failed ({failure}) and fallback {fallback}'s context window is too small"
        return None

    def _after_context_length(self, error: ProviderError, tier: str) -> ExecutionOutcome:
        target = self.lane.escalate_to
        self._overflowed.append(self.models[tier].context_window)
        theirs = self.models[target].context_window
        if "escalation" in self._used or target == tier or not self._fits(theirs):
            return self._failed(
                f"the request is too long for {tier} ({error.message}) and no larger model is configured; "
                "shorten the request or set a larger escalate_to model with context_window",
                tier,
            )
        assert theirs is not None
        self.escalation_reason = (
            f"escalated: context length exceeded on {tier}, {target} has {theirs:,} tokens"
        )
        self._used.add("escalation")
        return self._attempt("escalation", target, target, "escalation")

    def _fits(self, window: int | None) -> bool:
        """Whether a model with ``window`` is larger than every window the input overflowed."""
        return window is not None and all(known is None or window > known for known in self._overflowed)

    def _refused(self, error: ProviderError, tier: str) -> ExecutionOutcome:
        return ExecutionOutcome(
            ending="needs_human",
            route_kind="human",
            tier=tier,
            message=f"{tier} declined on content policy: {error.message}. A reviewer decides what next.",
            failed_check="content policy",
            fallback_reason=self.fallback_reason,
            escalation_reason=self.escalation_reason,
        )

    # --- rules 5 and 6: drafts -------------------------------------------------------------

    def _on_draft(self, result: AttemptResult, tier: str, route_kind: RouteKind) -> ExecutionOutcome:
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
        if self.lane.risk == "high" or "escalation" in self._used or tier == target:
            return self._to_human(text, tier, failed, result.attempt)
        self.escalation_reason = f"escalated: check failed on {tier}: {check.failed[0]}"[:255]
        self._used.add("escalation")
        escalated = self._call("escalation", target, target)
        if escalated.error is not None:  # the draft in hand goes to a human, whatever the error
            why = f"{failed}; escalation to {target} failed too ({escalated.error.reason_code})"
            return self._to_human(text, tier, why, result.attempt)
        return self._on_draft(escalated, target, "escalation")

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
