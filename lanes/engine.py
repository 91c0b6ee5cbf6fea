"""The lane engine: one entry point that the CLI, the Slack app and the playground all share.

``Engine.run`` is the whole life of a request: validate, route (pure policy), write the run,
call models under the strict fallback rules (``lanes.execution``), write the outcome, and only
then hand back a draft. If the audit store cannot be written at any step the run stops with
``AuditWriteError`` and no draft: no log, no draft.

A run costs two write transactions: the run row before any model call, and the outcome together
with the attempt that produced the draft (failed attempts are written the moment they end). The
daily budget reads today's spend from a per-process ``SpendTracker`` rather than a query per run.

Text is redacted before it is stored (fail closed: if redaction breaks, only metadata is kept),
and before it is sent to a model when the lane says ``redact_before_model``. Drafts shown to
people always have secrets removed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from lanes.attempts import AttemptRunner, PromptText
from lanes.audit import NewRun, PolicySnapshot, RouteFeatures, RunLog, RunOutcome, ShadowLog, storable_text
from lanes.breaker import CircuitBreaker
from lanes.checks import effective_review_rule
from lanes.clock import utcnow
from lanes.config import LaneConfig, LanesConfig, ModelSpec
from lanes.errors import AuditWriteError, DuplicateRequestError, InvalidRequestError
from lanes.execution import Execution, ExecutionOutcome
from lanes.lifecycle import AWAITING_REVIEW, end_of_model_work, transition
from lanes.observe import NoObserver, RunObserver
from lanes.policy import route, route_from_inputs, route_inputs
from lanes.policy_text import policy_snapshot
from lanes.prompts import policy_version, render
from lanes.providers.base import Provider
from lanes.shadow_routes import DEFAULT_WORKERS as SHADOW_WORKERS
from lanes.shadow_routes import ShadowRequest, ShadowRoutes
from lanes.spend import DEFAULT_TTL_S, SpendTracker
from lanes.values import Attempt, Route, RouteState, RunRequest, RunResult

log = logging.getLogger(__name__)


class TextRedactor(Protocol):
    def redact_or_withhold(self, text: str) -> tuple[str | None, bool]: ...

    def redact_secrets(self, text: str) -> str: ...


def new_run_id() -> str:
    return uuid.uuid4().hex


def starting_run(
    lane: LaneConfig,
    request: RunRequest,
    route: Route,
    *,
    run_id: str,
    created_at: datetime,
    instance: str,
    input_text: str | None = None,
    text_redacted: bool = True,
    text_repaired: bool = False,
    prompt_id: str | None = None,
    prompt_version: str | None = None,
    policy_version: str | None = None,
    policy_hash: str | None = None,
    route_features: RouteFeatures | None = None,
) -> NewRun:
    """The audit row of ``request`` as it starts on ``route``: the engine's runs, and the runs the
    Slack app records before the engine (a queued request, a request Slack refused to post)."""
    return NewRun(
        id=run_id,
        lane=lane.name,
        requester=request.requester,
        created_at=created_at,
        channel=request.channel,
        source=request.source,
        risk=lane.risk,
        review_rule=lane.review,
        input_text=input_text,
        input_chars=len(request.text),
        text_redacted=text_redacted,
        text_repaired=text_repaired,
        route_reasons=tuple(reason.text for reason in route.reasons),
        route_kind=route.kind,
        tier=route.tier,
        prompt_id=prompt_id,
        prompt_version=prompt_version,
        policy_version=policy_version,
        idempotency_key=request.idempotency_key,
        owner_instance=instance,
        policy_hash=policy_hash,
        route_features=route_features,
    )


@dataclass(frozen=True)
class _Plan:
    """Everything decided before the first model call."""

    run_id: str
    lane: LaneConfig
    request: RunRequest
    route: Route
    prompts: Mapping[str, PromptText]
    model_input: str
    redacted_input: str | None
    """The input as redacted for the model (``redact_before_model``), reused for the audit store."""
    prompt_id: str
    prompt_version: str
    policy_version: str
    text_repaired: bool
    """The request held text no store can take (``lanes.audit.text``) and was repaired first."""
    started: float
    created_at: datetime
    features: RouteFeatures
    """What routing read and chose, recorded beside the run for ``lanebot routes diff``."""


class Engine:
    """Runs lanes. Built once per process; safe to call from many worker threads."""

    def __init__(
        self,
        config: LanesConfig,
        store: RunLog,
        providers: Mapping[str, Provider],
        *,
        redactor: TextRedactor,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        new_id: Callable[[], str] = new_run_id,
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
        instance: str = "local",
        observer: RunObserver | None = None,
        spend_ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        """``spend_ttl_s``: how often today's spend is re-read from the store (``lanes.spend``)."""
        self.config = config
        self.store = store
        self.redactor = redactor
        self._clock = clock
        self._monotonic = monotonic
        self._new_id = new_id
        self._sleep = sleep
        self._instance = instance
        self.observer: RunObserver = observer or NoObserver()
        runtime = config.runtime
        self.breaker = breaker or CircuitBreaker(
            runtime.breaker_failures, runtime.breaker_cooldown_s, monotonic
        )
        self._runner = AttemptRunner(
            config.models, providers, clock=clock, monotonic=monotonic, scrub=redactor.redact_secrets
        )
        self._spend = SpendTracker(store.spent_since, monotonic=monotonic, ttl_s=spend_ttl_s)
        self._policy_versions: dict[str, tuple[LaneConfig, Mapping[str, ModelSpec], str]] = {}
        self._policy: tuple[LanesConfig, PolicySnapshot] | None = None
        self._policy_lock = threading.Lock()
        self.shadows: ShadowRoutes | None = None

    def start_shadows(self, store: ShadowLog, *, workers: int = SHADOW_WORKERS) -> ShadowRoutes | None:
        """Turn on the shadow routes of the lanes that declare one (``lanes.shadow_routes``); None when no
        lane does. The serving bot turns them on; one-off commands (``lanebot ask``) do not, so a
        command never waits for a shadow before it exits."""
        if not any(lane.shadow is not None for lane in self.config.lanes.values()):
            return None
        self.shadows = ShadowRoutes(
            self.config,
            store,
            self._runner,
            stored_text=lambda lane, text: self._stored_text(lane, text)[0],
            clock=self._clock,
            workers=workers,
        )
        return self.shadows

    # --- before a run -----------------------------------------------------------------------

    def validate(self, request: RunRequest) -> LaneConfig:
        """The lane, or ``InvalidRequestError`` saying what to change. Nothing is written."""
        lane = self.config.lanes.get(request.lane)
        if lane is None:
            known = ", ".join(sorted(self.config.lanes))
            raise InvalidRequestError(f"unknown lane {request.lane!r}; lanes: {known}")
        if not request.text.strip():
            raise InvalidRequestError(
                f"{lane.command} needs some text: {lane.command} <{lane.description.lower()}>"
            )
        if len(request.text) > lane.max_input_chars:
            raise InvalidRequestError(
                f"the request is {len(request.text):,} characters; lane {lane.name} takes at most "
                f"{lane.max_input_chars:,}. Shorten it or split it into several requests."
            )
        return lane

    def preview(self, request: RunRequest, spent_today_usd: float = 0.0) -> Route:
        """The route a request would take, for an instant ack; pure apart from the breaker state."""
        lane = self.validate(request)
        state = RouteState(
            now=self._clock(), spent_today_usd=spent_today_usd, open_circuits=self.breaker.open_tiers()
        )
        return route(lane, self.config.models, request, state)

    def spent_today(self, lane: str) -> float:
        """The lane's spend since midnight (UTC): this process's runs at once, other instances'
        within ``spend_ttl_s`` (see ``lanes.spend``)."""
        return self._spend.spent(lane, self._clock())

    # --- a run ------------------------------------------------------------------------------

    def run(self, request: RunRequest) -> RunResult:
        """Run a request to a draft, a human, a confirmation or a clean failure; audit first, always.

        Once the run is on record it ends in a terminal or review status whatever happens: an
        exception nobody planned for (an adapter bug, a check that raises) is recorded as a failed
        run with the attempts made so far, and the caller gets that result, not the exception.
        Only a failing audit store raises (``AuditWriteError``): then no draft is returned."""
        lane = self.validate(request)
        plan = self._start(self._plan(lane, request))
        execution = Execution(
            lane=lane,
            models=self.config.models,
            runner=self._runner,
            breaker=self.breaker,
            record=lambda seq, attempt: self._record_attempt(plan.run_id, seq, attempt, lane.name),
            sleep=self._sleep,
            prompts=plan.prompts,
            model_input=plan.model_input,
            observer=self.observer,
        )
        try:
            outcome = self._execute(plan, execution)
        except AuditWriteError:
            self._mark_failed_quietly(plan.run_id, "the audit store stopped accepting writes during the run")
            raise
        try:
            return self._finish(plan, outcome, execution.attempts, execution.unrecorded)
        except AuditWriteError:
            raise
        except Exception:
            log.exception("run could not be finished", extra={"run_id": plan.run_id, "lane": lane.name})
            self._mark_failed_quietly(plan.run_id, "lanebot hit an internal error while finishing the run")
            raise

    def _execute(self, plan: _Plan, execution: Execution) -> ExecutionOutcome:
        if plan.route.needs_confirmation:
            return ExecutionOutcome(
                ending="needs_confirmation", route_kind="default", message=plan.route.explain()
            )
        try:
            return execution.execute(plan.route)
        except AuditWriteError:
            raise
        except Exception as exc:
            log.exception(
                "run stopped on an unexpected error", extra={"run_id": plan.run_id, "lane": plan.lane.name}
            )
            return ExecutionOutcome(
                ending="failed",
                route_kind=plan.route.kind,
                tier=plan.route.tier,
                message=(
                    f"lanebot hit an internal error ({type(exc).__name__}) during the run; it is recorded "
                    "as failed with every attempt made. Try again; if it repeats, report the run id."
                ),
                fallback_reason=execution.fallback_reason,
                escalation_reason=execution.escalation_reason,
            )

    def _plan(self, lane: LaneConfig, request: RunRequest) -> _Plan:
        started = self._monotonic()
        now = self._clock()
        spent = self._spend.spent(lane.name, now) if lane.budget_daily_usd is not None else 0.0
        open_circuits = self.breaker.open_tiers(claim_probes=True)
        state = RouteState(now=now, spent_today_usd=spent, open_circuits=open_circuits)
        inputs = route_inputs(lane, request, state)
        chosen = route_from_inputs(lane, self.config.models, inputs)  # = route(...), from its inputs
        text, repaired = storable_text(request.text)
        if repaired:
            request = replace(request, text=text)
        model_input, redacted_input = request.text, None
        if lane.redact_before_model:
            redacted, ok = self.redactor.redact_or_withhold(request.text)
            if not ok or redacted is None:
                raise InvalidRequestError(
                    "the request could not be redacted before sending it to a model; nothing was sent"
                )
            model_input = redacted_input = redacted
        tiers = {lane.default, lane.escalate_to, lane.fallback, chosen.tier or lane.default}
        rendered = {tier: render(lane, tier, model_input) for tier in tiers}
        first = rendered[chosen.tier or lane.default]
        return _Plan(
            run_id=request.queued_run_id or self._new_id(),
            lane=lane,
            request=request,
            route=chosen,
            prompts={tier: PromptText(r.system, r.prompt) for tier, r in rendered.items()},
            model_input=model_input,
            redacted_input=redacted_input,
            prompt_id=first.prompt_id,
            prompt_version=first.prompt_version,
            policy_version=self._policy_version(lane),
            text_repaired=repaired,
            started=started,
            created_at=now,
            features=RouteFeatures(
                inputs=inputs,
                tier=chosen.tier,
                kind=chosen.kind,
                needs_confirmation=chosen.needs_confirmation,
                estimated_cost_usd=chosen.estimated_cost_usd,
            ),
        )

    def _policy_version(self, lane: LaneConfig) -> str:
        """``policy_version`` hashes the lane's whole config (~70 µs); the config does not change
        under a running engine, so each lane's is computed once (and again if ``config`` is swapped)."""
        models = self.config.models
        cached = self._policy_versions.get(lane.name)
        if cached is None or cached[0] is not lane or cached[1] is not models:
            cached = self._policy_versions[lane.name] = (lane, models, policy_version(lane, models))
        return cached[2]

    def policy(self) -> PolicySnapshot:
        """The policy this engine routes under, stored in the policy log the first time it is asked
        for (and again when ``config`` is swapped). ``AuditWriteError`` if it cannot be stored:
        a run that cannot point at its policy does not start."""
        config = self.config
        current = self._policy
        if current is not None and current[0] is config:
            return current[1]
        with self._policy_lock:
            if self._policy is None or self._policy[0] is not config:
                snapshot = policy_snapshot(config, self.redactor.redact_secrets)
                self.store.record_policy(snapshot, self._clock(), self._instance)
                self._policy = (config, snapshot)
            return self._policy[1]

    def _start(self, plan: _Plan) -> _Plan:
        """Write the run before any model call. A request the bot queued behind busy workers
        already has a ``queued`` run (``bot.runtime.queued_requests``; ``request.queued_run_id`` when
        the worker
        knows it, else found by the idempotency key): that run is started instead, and the plan
        takes its id. Any other holder of the key is a duplicate."""
        request, lane = plan.request, plan.lane
        stored_input, redacted_ok = self._stored_text(lane, request.text, plan.redacted_input)
        run = starting_run(
            lane,
            request,
            plan.route,
            run_id=plan.run_id,
            created_at=plan.created_at,
            instance=self._instance,
            input_text=stored_input,
            text_redacted=redacted_ok,
            text_repaired=plan.text_repaired,
            prompt_id=plan.prompt_id,
            prompt_version=plan.prompt_version,
            policy_version=plan.policy_version,
            policy_hash=self.policy().hash,
            route_features=plan.features,
        )
        if request.queued_run_id is not None and self.store.adopt_queued_run(plan.run_id, run):
            return plan  # one UPDATE, as cheap as the INSERT; below if its record was not written yet
        run_id, started = self.store.start_run(run, transition("start"))
        if not started:
            raise DuplicateRequestError(run_id)
        return plan if run_id == plan.run_id else replace(plan, run_id=run_id)

    def _record_attempt(self, run_id: str, seq: int, attempt: Attempt, lane: str) -> None:
        self.store.record_attempt(run_id, seq, attempt)
        self.observer.attempt_finished(lane, attempt)

    def _stored_text(
        self, lane: LaneConfig, text: str | None, redacted: str | None = None
    ) -> tuple[str | None, bool]:
        """What the audit store keeps of ``text``; ``redacted`` is a redaction already made of it
        (redaction is deterministic, and on a 60,000-character contract it costs tens of ms)."""
        if text is None or lane.store_text == "none":
            return None, True
        if redacted is not None:
            return redacted, True
        return self.redactor.redact_or_withhold(text)

    def _finish(
        self,
        plan: _Plan,
        outcome: ExecutionOutcome,
        attempts: list[Attempt],
        unrecorded: Sequence[tuple[int, Attempt]] = (),
    ) -> RunResult:
        """Write the outcome, with the attempts not yet written, in one transaction; then the result."""
        outcome = replace(outcome, escalation_reason=escalation_reason(outcome, plan.route))
        lane, now = plan.lane, self._clock()
        latency = (self._monotonic() - plan.started) * 1000
        costs = [a.cost_usd for a in attempts if a.outcome != "failed"]
        cost_known = all(a.price_known for a in attempts if a.outcome != "failed")
        total_cost = sum(c for c in costs if c is not None) if attempts else None
        review_rule = effective_review_rule(lane, plan.request.text, outcome.draft or "")
        stored_draft, _ = self._stored_text(lane, outcome.draft)
        answered = outcome.answered
        awaiting = outcome.ending in AWAITING_REVIEW
        record = RunOutcome(
            finished_at=now,
            route_kind=outcome.route_kind,
            review_rule=review_rule,
            tier=outcome.tier,
            provider=self.config.models[outcome.tier].provider if outcome.tier else None,
            model=answered.model_answered if answered else None,
            draft_text=stored_draft,
            fallback_reason=outcome.fallback_reason,
            escalation_reason=outcome.escalation_reason,
            failed_check=outcome.failed_check,
            error=outcome.message if outcome.ending in ("failed", "needs_confirmation") else None,
            cost_usd=total_cost,
            cost_known=cost_known,
            input_tokens=_sum(a.input_tokens for a in attempts),
            output_tokens=_sum(a.output_tokens for a in attempts),
            latency_ms=latency,
            expires_at=now + timedelta(seconds=lane.review_timeout_s) if awaiting else None,
        )
        self._write_outcome(plan, outcome, record, unrecorded)
        log.info("run finished", extra={"run_id": plan.run_id, "lane": lane.name, "status": outcome.ending})
        result = self._result(plan, outcome, attempts, review_rule, total_cost, cost_known, latency)
        self.observer.run_finished(result)
        self._offer_shadow(plan, outcome)
        return result

    def _offer_shadow(self, plan: _Plan, outcome: ExecutionOutcome) -> None:
        """After the live run is finished and measured: a shadow can neither slow nor change it.
        A run stopped for confirmation called no model, so there is nothing to compare it with."""
        if self.shadows is None or outcome.ending == "needs_confirmation":
            return
        request = ShadowRequest(plan.run_id, plan.lane, plan.model_input, plan.created_at)
        try:
            self.shadows.offer(request)
        except Exception:
            log.exception("shadow not offered", extra={"run_id": plan.run_id, "lane": plan.lane.name})

    def _write_outcome(
        self,
        plan: _Plan,
        executed: ExecutionOutcome,
        outcome: RunOutcome,
        unrecorded: Sequence[tuple[int, Attempt]],
    ) -> None:
        """The one commit that must succeed before a draft is returned. If it fails, the attempts
        are written on their own if the store takes them, and the run is marked failed if it can be."""
        lane = plan.lane.name
        try:
            change = end_of_model_work(executed.ending)
            moved = self.store.finish_run(plan.run_id, change, outcome, attempts=unrecorded)
        except AuditWriteError:
            for seq, attempt in unrecorded:
                self._record_attempt_quietly(plan.run_id, seq, attempt)
            self._mark_failed_quietly(plan.run_id, "the audit store did not accept the outcome of the run")
            raise
        for _, attempt in unrecorded:
            self.observer.attempt_finished(lane, attempt)
        if moved and outcome.cost_usd:
            self._spend.add(lane, plan.created_at, outcome.cost_usd)

    def _result(
        self,
        plan: _Plan,
        outcome: ExecutionOutcome,
        attempts: list[Attempt],
        review_rule: str,
        cost: float | None,
        cost_known: bool,
        latency: float,
    ) -> RunResult:
        shown = self._shown(outcome.draft)
        answered = outcome.answered
        return RunResult(
            run_id=plan.run_id,
            lane=plan.lane.name,
            status=outcome.ending,
            route=plan.route,
            route_kind=outcome.route_kind,
            draft=shown,
            message=outcome.message,
            review_rule=review_rule,
            attempts=tuple(attempts),
            tier=outcome.tier,
            model_answered=answered.model_answered if answered else None,
            provider=answered.provider if answered else None,
            failed_check=outcome.failed_check,
            fallback_reason=outcome.fallback_reason,
            escalation_reason=outcome.escalation_reason,
            cost_usd=cost,
            cost_known=cost_known,
            latency_ms=latency,
            prompt_id=plan.prompt_id,
            prompt_version=plan.prompt_version,
            policy_version=plan.policy_version,
            alternatives=tuple(self._shown(a) or "" for a in outcome.alternatives),
        )

    def _shown(self, text: str | None) -> str | None:
        """A draft as people may see it: secrets removed, text no store or Slack can take repaired."""
        if text is None:
            return None
        return self.redactor.redact_secrets(storable_text(text)[0])

    def _record_attempt_quietly(self, run_id: str, seq: int, attempt: Attempt) -> None:
        try:
            self.store.record_attempt(run_id, seq, attempt)
        except AuditWriteError:
            log.error(
                "model attempt not recorded after an audit failure", extra={"run_id": run_id, "seq": seq}
            )

    def _mark_failed_quietly(self, run_id: str, reason: str) -> None:
        try:
            self.store.finish_run(
                run_id, transition("fail"), RunOutcome(finished_at=self._clock(), error=reason)
            )
        except AuditWriteError:
            log.error(
                "run left running after an audit failure; recovery marks it on next start",
                extra={"run_id": run_id},
            )


def _sum(values: object) -> int | None:
    present = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return sum(present) if present else None


def escalation_reason(outcome: ExecutionOutcome, route: Route) -> str | None:
    """Why the run escalated: what happened during the run (a check failed on a cheaper tier), else
    the routing rule that sent it to the escalation tier (a keyword, a long input).

    Without the second, a run routed straight to the escalation tier was recorded with no reason
    and the digest counted it as "unspecified", though its route line said exactly why.
    """
    if outcome.escalation_reason or outcome.route_kind != "escalation":
        return outcome.escalation_reason
    routed = "; ".join(reason.text for reason in route.reasons if reason.rule == "escalation")
    return routed[:255] or None
