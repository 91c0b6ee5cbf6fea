"""Shadow routes: a lane's ``[shadow]`` tier answers a sample of live runs, in the background.

A team weighing a model switch wants to see what the candidate would have drafted for real
requests, next to the live draft and what people decided, before any requester sees it. So:

- **Never shown.** A shadow draft goes to ``shadow_attempts`` only: no Slack post, no attempt
  row, no run status, no budget or digest figure of the live run (``storage.shadow``).
- **Never in the way.** The live run is finished (and its latency measured) before a shadow is
  offered; shadows run on their own small thread pool, so a slow or failing shadow model leaves
  live latency and the live worker pool untouched. When the shadow queue is full the offer is
  recorded as skipped rather than queued without bound; that record (two small writes) is the
  one piece of shadow work done on the live worker's thread, after its run is finished.
- **A hard daily cap.** Each call first reserves its worst case in SQL (``ShadowLog.start_shadow``):
  every byte of the prompt counted as a token, plus the full output allowance. Spend can never
  pass ``budget_daily_usd``, across threads, processes and instances. A tier whose price is
  unknown cannot be capped, so it is not called.
- **Sampling is by run id**, a hash compared with ``sample_rate``: the same run is sampled the
  same way on every instance, and a rate of 1.0 shadows every run.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from lanes.attempts import AttemptResult, AttemptRunner, PromptText
from lanes.audit import ShadowCall, ShadowLog, ShadowResult
from lanes.checks import check_draft
from lanes.config import LaneConfig, LanesConfig, ShadowSettings
from lanes.pricing import cost_usd
from lanes.prompts import render

log = logging.getLogger(__name__)

PROMPT_OVERHEAD_TOKENS = 32
"""Tokens a chat API adds around the messages (roles, separators): generous for every provider."""
DEFAULT_WORKERS = 2
DEFAULT_QUEUE_LIMIT = 32


def sampled(run_id: str, rate: float) -> bool:
    """Whether ``run_id`` is in a ``rate`` sample: stable across processes (no random state)."""
    if rate >= 1.0:
        return True
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


@dataclass(frozen=True)
class ShadowRequest:
    """What a shadow needs of a live run: which run, which lane, the text its model was sent."""

    run_id: str
    lane: LaneConfig
    model_input: str
    created_at: datetime


class ShadowRoutes:
    """Offers finished live runs to their lane's shadow tier; owns the shadow thread pool."""

    def __init__(
        self,
        config: LanesConfig,
        store: ShadowLog,
        runner: AttemptRunner,
        *,
        stored_text: Callable[[LaneConfig, str | None], str | None],
        clock: Callable[[], datetime],
        workers: int = DEFAULT_WORKERS,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
    ) -> None:
        """``stored_text`` is what the audit store may keep of a draft under the lane's
        ``store_text`` and redaction (the engine's own rule, so shadow rows keep no more)."""
        self._config = config
        self._store = store
        self._runner = runner
        self._stored_text = stored_text
        self._clock = clock
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lanebot-shadow")
        self._slots = threading.BoundedSemaphore(workers + queue_limit)

    def offer(self, request: ShadowRequest) -> Future[None] | None:
        """Shadow ``request`` in the background if its lane has a shadow and the run is sampled.
        Returns at once; the future is for tests and shutdown, not for the live path."""
        settings = request.lane.shadow
        if settings is None or not sampled(request.run_id, settings.sample_rate):
            return None
        if not self._slots.acquire(blocking=False):
            self._skip(request, settings, "skipped: the shadow queue is full (live traffic comes first)")
            return None
        try:
            future = self._pool.submit(self._shadow, request, settings)
        except RuntimeError:  # shutting down
            self._slots.release()
            return None
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def close(self, *, wait: bool = True) -> None:
        """Stop taking shadows; ``wait`` lets the ones in flight finish and settle their budget."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    # --- one shadow ---------------------------------------------------------------------------

    def _shadow(self, request: ShadowRequest, settings: ShadowSettings) -> None:
        try:
            self._call(request, settings)
        except Exception:  # a shadow never raises into anything; it is logged with its run
            where = {"run_id": request.run_id, "lane": request.lane.name}
            log.exception("shadow attempt failed", extra=where)

    def _call(self, request: ShadowRequest, settings: ShadowSettings) -> None:
        lane, tier = request.lane, settings.tier
        spec = self._config.models[tier]
        rendered = render(lane, tier, request.model_input)
        worst_case = worst_case_usd(self._config, lane, tier, rendered.system + rendered.prompt)
        if worst_case is None:
            self._skip(request, settings, f"skipped: no price is known for {spec.model}, so no cap can hold")
            return
        day = _day(request.created_at)
        call = self._call_record(request, settings, worst_case)
        if self._store.start_shadow(call, day=day, budget_usd=settings.budget_daily_usd) != "started":
            return  # over budget (recorded as skipped) or shadowed already by another instance
        result = self._runner.call(
            "first",
            tier,
            PromptText(rendered.system, rendered.prompt),
            max_output_tokens=lane.max_output_tokens,
            json_output=lane.output_schema is not None,
        )
        self._store.finish_shadow(request.run_id, self._result(request, result), day=day)

    def _result(self, request: ShadowRequest, result: AttemptResult) -> ShadowResult:
        attempt, completion = result.attempt, result.completion
        finished = self._clock()
        if completion is None:
            return ShadowResult(
                status="failed",
                finished_at=finished,
                reason=result.error.message if result.error is not None else attempt.error,
                latency_ms=attempt.latency_ms,
                cost_usd=None,
                cost_known=False,
            )
        checks = check_draft(request.lane, completion.text, request.model_input)
        return ShadowResult(
            status="ok" if checks.passed else "check_failed",
            finished_at=finished,
            draft_text=self._stored_text(request.lane, completion.text),
            failed_checks="; ".join(checks.failed) or None,
            model_answered=attempt.model_answered,
            cost_usd=attempt.cost_usd,
            cost_known=attempt.price_known,
            latency_ms=attempt.latency_ms,
            input_tokens=attempt.input_tokens,
            output_tokens=attempt.output_tokens,
        )

    def _call_record(self, request: ShadowRequest, settings: ShadowSettings, reserved: float) -> ShadowCall:
        spec = self._config.models[settings.tier]
        return ShadowCall(
            run_id=request.run_id,
            lane=request.lane.name,
            tier=settings.tier,
            provider=spec.provider,
            model_requested=spec.model,
            created_at=self._clock(),
            reserved_usd=reserved,
        )

    def _skip(self, request: ShadowRequest, settings: ShadowSettings, reason: str) -> None:
        """On record as skipped, with why: a zero reservation that is settled at once."""
        try:
            day = _day(request.created_at)
            call = self._call_record(request, settings, 0.0)
            if self._store.start_shadow(call, day=day, budget_usd=settings.budget_daily_usd) == "started":
                ended = ShadowResult(status="skipped", finished_at=self._clock(), reason=reason, cost_usd=0.0)
                self._store.finish_shadow(request.run_id, ended, day=day)
        except Exception:
            log.exception("shadow skip not recorded", extra={"run_id": request.run_id})


def worst_case_usd(config: LanesConfig, lane: LaneConfig, tier: str, prompt_text: str) -> float | None:
    """The most one shadow call can cost: every UTF-8 byte of the prompt as a token (no tokenizer
    makes more tokens than bytes), the API's framing, and the lane's whole output allowance."""
    spec = config.models[tier]
    input_tokens = len(prompt_text.encode("utf-8")) + PROMPT_OVERHEAD_TOKENS
    return cost_usd(spec, input_tokens, lane.max_output_tokens)


def _day(at: datetime) -> str:
    return at.date().isoformat()


__all__ = ["ShadowRequest", "ShadowRoutes", "sampled", "worst_case_usd"]
