"""``lanebot eval``: a lane's golden set run through a policy by the real engine, and scored.

Each active example is one engine run (``lanes.engine.Engine``: routing, prompts, fallbacks,
checks, escalation, exactly as live) against a scratch audit log, so the production trail is
never touched. Two things differ from live on purpose:

- **spend is capped**: every model call first checks its worst case (UTF-8 bytes of the prompt as
  input tokens, the full output allowance) against ``--max-usd`` minus what was spent, and is
  refused (recorded as a failed attempt, the example marked "not run") if it could pass the cap.
  Actual costs are then counted from the tokens the provider reports. A tier whose price is
  unknown cannot be kept under a cap and is refused while one is set;
- **every example starts a fresh day**: the daily budget reads no spend, so an example's route
  does not depend on the examples before it.

Scores are pure (``lanes.evals.scoring``); a lane passes when its share of passing examples is
at least ``[lanes.<lane>.eval] min_pass_rate``.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lanes.audit.forwarding import ForwardingRunLog
from lanes.config import LaneConfig, LanesConfig, ModelSpec
from lanes.errors import InvalidRequestError
from lanes.evals.golden import GoldenExample, GoldenSet
from lanes.evals.scoring import DEFAULT_EVAL, ExampleScore, not_run, score
from lanes.pricing import cost_usd
from lanes.providers.base import Completion, CompletionRequest, Provider
from lanes.providers.errors import BadRequestError
from lanes.values import RunRequest, RunResult

PROMPT_FRAMING_TOKENS = 32
"""Tokens a provider adds around the system and user messages; part of the worst case."""
CAP_REASON = "eval_budget"


class SpendCap:
    """The ``--max-usd`` ledger, shared by every tier's provider; thread-safe."""

    def __init__(self, max_usd: float | None) -> None:
        self.max_usd = max_usd
        self.spent_usd = 0.0
        self.refused = 0
        self._lock = threading.Lock()

    def reserve(self, worst: float | None) -> str | None:
        """None if a call costing at most ``worst`` fits (and is reserved), else why not."""
        if self.max_usd is None:
            return None
        with self._lock:
            if worst is None:
                self.refused += 1
                return "the tier's price is unknown, so the call cannot be kept under --max-usd"
            if self.spent_usd + worst > self.max_usd:
                self.refused += 1
                return (
                    f"--max-usd ${self.max_usd:.4f} reached (${self.spent_usd:.4f} spent, "
                    f"this call could cost ${worst:.4f})"
                )
            self.spent_usd += worst
            return None

    def settle(self, reserved: float | None, actual: float | None) -> None:
        """Replace a reservation by the call's actual cost (kept at the reservation if unknown)."""
        if self.max_usd is None:
            if actual is not None:
                with self._lock:
                    self.spent_usd += actual
            return
        if reserved is not None and actual is not None:
            with self._lock:
                self.spent_usd += actual - reserved


class CappedProvider:
    """A tier's provider behind the spend cap (``lanes.providers.base.Provider``)."""

    def __init__(self, inner: Provider, spec: ModelSpec, cap: SpendCap) -> None:
        self._inner, self._spec, self._cap = inner, spec, cap

    def complete(self, request: CompletionRequest) -> Completion:
        prompt_bytes = len(request.system.encode("utf-8")) + len(request.prompt.encode("utf-8"))
        worst = cost_usd(self._spec, prompt_bytes + PROMPT_FRAMING_TOKENS, request.max_output_tokens)
        refusal = self._cap.reserve(worst)
        if refusal is not None:
            raise BadRequestError(refusal, reason_code=CAP_REASON)
        actual: float | None = None
        try:
            completion = self._inner.complete(request)
            actual = cost_usd(self._spec, completion.input_tokens, completion.output_tokens)
            return completion
        finally:
            self._cap.settle(worst, actual if actual is not None else worst)


def capped(
    providers: Mapping[str, Provider], models: Mapping[str, ModelSpec], cap: SpendCap
) -> dict[str, Provider]:
    return {tier: CappedProvider(provider, models[tier], cap) for tier, provider in providers.items()}


class FreshDayLog(ForwardingRunLog):
    """A ``RunLog`` that passes everything to ``inner`` but reports no spend today, so the daily
    budget routes each example as the first run of a day (see the module docstring)."""

    def spent_since(self, lane: str, since: datetime) -> float:
        return 0.0


@dataclass(frozen=True)
class LaneEval:
    """One lane's scores under one policy, and whether they meet its threshold."""

    lane: str
    min_pass_rate: float
    scores: tuple[ExampleScore, ...]

    @property
    def passed_count(self) -> int:
        return sum(s.passed for s in self.scores)

    @property
    def pass_rate(self) -> float | None:
        return self.passed_count / len(self.scores) if self.scores else None

    @property
    def meets_threshold(self) -> bool:
        rate = self.pass_rate
        return rate is None or rate >= self.min_pass_rate

    def share(self, attribute: str) -> float | None:
        values = [getattr(s, attribute) for s in self.scores if getattr(s, attribute) is not None]
        return sum(bool(v) for v in values) / len(values) if values else None

    def median(self, attribute: str) -> float | None:
        values = [getattr(s, attribute) for s in self.scores if getattr(s, attribute) is not None]
        return statistics.median(values) if values else None

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd or 0.0 for s in self.scores)

    def route_share(self) -> float | None:
        ran = [s for s in self.scores if s.ran]
        return sum(s.route == s.expected_route for s in ran) / len(ran) if ran else None


@dataclass(frozen=True)
class EvalReport:
    policy: str
    lanes: tuple[LaneEval, ...]
    spent_usd: float

    @property
    def passed(self) -> bool:
        return all(lane.meets_threshold for lane in self.lanes)

    def lane(self, name: str) -> LaneEval | None:
        return next((lane for lane in self.lanes if lane.lane == name), None)


def evaluate(
    config: LanesConfig,
    sets: Sequence[GoldenSet],
    run: Callable[[RunRequest], RunResult],
    cap: SpendCap,
    *,
    label: str,
) -> EvalReport:
    """Run every active example of ``sets`` with ``run`` (an engine's ``run``) and score it."""
    lanes = []
    for golden in sets:
        lane = config.lanes.get(golden.lane)
        scores = []
        for example in golden.active:
            if lane is None:
                scores.append(not_run(golden.lane, example, f"lane {golden.lane} is not in {config.source}"))
                continue
            scores.append(_one(run, cap, lane, example))
        threshold = (lane.eval or DEFAULT_EVAL).min_pass_rate if lane else DEFAULT_EVAL.min_pass_rate
        lanes.append(LaneEval(golden.lane, threshold, tuple(scores)))
    return EvalReport(label, tuple(lanes), cap.spent_usd)


def _one(
    run: Callable[[RunRequest], RunResult], cap: SpendCap, lane: LaneConfig, example: GoldenExample
) -> ExampleScore:
    refused_before = cap.refused
    request = RunRequest(lane=lane.name, text=example.input, requester="lanebot-eval", source="eval")
    try:
        result = run(request)
    except InvalidRequestError as exc:
        return not_run(lane.name, example, str(exc))
    if cap.refused > refused_before and any(a.reason_code == CAP_REASON for a in result.attempts):
        return not_run(lane.name, example, "the --max-usd cap was reached before it could finish")
    return score(lane, example, result)


@dataclass(frozen=True)
class LaneDiff:
    """One lane under a baseline policy and a candidate: what got worse, what got better."""

    lane: str
    baseline: LaneEval | None
    candidate: LaneEval | None
    regressed: tuple[ExampleScore, ...]
    fixed: tuple[str, ...]


def compare(baseline: EvalReport, candidate: EvalReport) -> tuple[LaneDiff, ...]:
    diffs = []
    for name in sorted({lane.lane for lane in (*baseline.lanes, *candidate.lanes)}):
        old, new = baseline.lane(name), candidate.lane(name)
        before = {s.id: s for s in (old.scores if old else ())}
        after = {s.id: s for s in (new.scores if new else ())}
        regressed = tuple(
            s for i, s in after.items() if not s.passed and (i not in before or before[i].passed)
        )
        fixed = tuple(i for i, s in after.items() if s.passed and i in before and not before[i].passed)
        diffs.append(LaneDiff(name, old, new, regressed, fixed))
    return tuple(diffs)
