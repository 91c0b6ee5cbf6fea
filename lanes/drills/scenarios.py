"""Fire drills: each fallback path of each lane, exercised through the real engine.

For every lane of a lanes.toml, with faults injected at the provider seam (``DrillModels``) and
the audit-store seam (``DrillLog``) over a scratch store, and no real model call:

=====================================  ========================================================
path                                   passes when
=====================================  ========================================================
default times out → fallback answers   the routed model times out and the fallback's draft is
                                       returned, both attempts on record
fallback fails too → clean failure     both time out: the run is ``failed`` on record, with
                                       both attempts and an error, and there is no draft
audit store down → no draft            the run cannot be written (at its start, at its end):
                                       ``AuditWriteError``, no draft; no model call at start
draft fails checks → the lane's rule   every bad draft (``samples.bad_drafts``) is stopped: low
                                       and medium risk escalate once, high risk (or an
                                       escalation tier that is the routed one) goes to a person
budget exhausted → cheaper or confirm  with today's budget spent, the run takes a cheaper tier
                                       that fits or stops for an owner's confirmation
models disagree → a human              (``cross_check`` lanes) the two models differ on a
                                       cross-checked field: a person decides
=====================================  ========================================================

A path that does not apply (no budget, no cross-check) is ``n/a``. Each result names the lane and
the path, and on failure says what happened and what to change in lanes.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lanes.audit import RunLog
from lanes.config import LaneConfig, LanesConfig
from lanes.drills.fault_injection import DrillLog, DrillModels, endpoint
from lanes.drills.samples import BadDraft, bad_drafts, drill_request, good_draft
from lanes.engine import Engine, TextRedactor
from lanes.errors import AuditWriteError
from lanes.providers.base import CompletionRequest
from lanes.values import RunRequest, RunResult

Outcome = Literal["pass", "fail", "n/a"]
PATHS: tuple[tuple[str, str], ...] = (
    ("timeout", "default times out → fallback answers"),
    ("fallback_fails", "fallback fails too → clean failure"),
    ("store_down", "audit store down → no draft"),
    ("checks", "draft fails checks → the lane's rule"),
    ("budget", "budget exhausted → cheaper route or confirmation"),
    ("cross_check", "models disagree → a human"),
)
LABELS = dict(PATHS)


@dataclass(frozen=True)
class PathResult:
    lane: str
    path: str
    outcome: Outcome
    detail: str

    @property
    def label(self) -> str:
        return LABELS[self.path]


@dataclass(frozen=True)
class Drill:
    """What every scenario shares: the config under test, a scratch log, the redactor."""

    config: LanesConfig
    store: RunLog
    redactor: TextRedactor

    def engine(
        self, lane: LaneConfig, answer: Callable[[CompletionRequest], str], *, log: DrillLog | None = None
    ) -> tuple[Engine, DrillModels]:
        models = DrillModels(self.config.models, answer)
        engine = Engine(
            self.config,
            log or DrillLog(self.store),
            models.providers(),
            redactor=self.redactor,
            sleep=lambda _seconds: None,
            instance="drill",
        )
        return engine, models

    def request(self, lane: LaneConfig) -> RunRequest:
        return RunRequest(lane=lane.name, text=drill_request(lane), requester="lanebot-drill", source="drill")


def run_drill(config: LanesConfig, store: RunLog, redactor: TextRedactor) -> list[PathResult]:
    """Every path of every lane; never raises for a lane's failure (it is a ``fail`` row)."""
    drill = Drill(config, store, redactor)
    results: list[PathResult] = []
    for lane in config.lanes.values():
        for path, scenario in _SCENARIOS:
            try:
                outcome, detail = scenario(drill, lane)
            except Exception as exc:  # a drill reports, it does not crash on the lane it tests
                outcome, detail = "fail", f"the drill itself broke: {type(exc).__name__}: {exc}"
            results.append(PathResult(lane.name, path, outcome, detail))
    return results


def _good(drill: Drill, lane: LaneConfig) -> Callable[[CompletionRequest], str]:
    text = good_draft(lane, drill_request(lane))
    return lambda _request: text


def _routed(drill: Drill, lane: LaneConfig) -> str | None:
    engine, _ = drill.engine(lane, _good(drill, lane))
    return engine.preview(drill.request(lane)).tier


# --- the paths ----------------------------------------------------------------------------------


def _timeout(drill: Drill, lane: LaneConfig) -> tuple[Outcome, str]:
    first = _routed(drill, lane)
    if first is None:
        return "n/a", "the drill request stops for confirmation before any model runs"
    engine, models = drill.engine(lane, _good(drill, lane))
    models.of(first).down = True
    if endpoint(drill.config.models[first]) == endpoint(drill.config.models[lane.fallback]):
        return "fail", (
            f"fallback {lane.fallback} is the same model as {first} ({models.of(first).name}): when one is "
            f"down so is the other; point fallback at a different model"
        )
    result = engine.run(drill.request(lane))
    attempts = [(a.kind, a.tier, a.outcome) for a in result.attempts[:2]]
    expected = [("first", first, "failed"), ("fallback", lane.fallback, "ok")]
    recorded = drill.store.get_run(result.run_id)
    on_record = recorded.status == result.status and len(recorded.attempts) >= 2
    if attempts == expected and on_record and result.status == "drafted" and result.route_kind == "fallback":
        return "pass", f"{first} timed out; fallback {lane.fallback} drafted; run {result.run_id} on record"
    if (
        attempts == expected
        and on_record
        and lane.cross_check
        and "cross-check" in (result.failed_check or "")
    ):
        return "pass", (
            f"{first} timed out; fallback {lane.fallback} drafted; its cross-check model is the one down, "
            "so a person decides"
        )
    return "fail", f"expected fallback {lane.fallback} to draft; got {_said(result)}"


def _fallback_fails(drill: Drill, lane: LaneConfig) -> tuple[Outcome, str]:
    first = _routed(drill, lane)
    if first is None:
        return "n/a", "the drill request stops for confirmation before any model runs"
    engine, models = drill.engine(lane, _good(drill, lane))
    models.of(first).down = True
    models.of(lane.fallback).down = True
    result = engine.run(drill.request(lane))
    recorded = drill.store.get_run(result.run_id)
    clean = (
        result.status == "failed"
        and result.draft is None
        and recorded.status == "failed"
        and bool(recorded.error)
        and len(recorded.attempts) >= 2
        and all(a.outcome == "failed" for a in recorded.attempts)
    )
    if clean:
        return "pass", f"failed cleanly on record: {result.message}"
    return "fail", f"expected a failed run with both attempts on record; got {_said(result)}"


def _store_down(drill: Drill, lane: LaneConfig) -> tuple[Outcome, str]:
    for step, no_calls in (("start_run", True), ("finish_run", False)):
        engine, models = drill.engine(lane, _good(drill, lane), log=DrillLog(drill.store, fail_on=(step,)))
        try:
            result = engine.run(drill.request(lane))
        except AuditWriteError:
            if no_calls and models.calls:
                return (
                    "fail",
                    f"a model was called although the run could not be written ({models.calls} calls)",
                )
            continue
        return "fail", f"with the store failing at {step} a result came back: {_said(result)}"
    return "pass", "no draft without an audit record, at the start and at the end of a run"


def _checks(drill: Drill, lane: LaneConfig) -> tuple[Outcome, str]:
    first = _routed(drill, lane)
    if first is None:
        return "n/a", "the drill request stops for confirmation before any model runs"
    samples = bad_drafts(lane, drill_request(lane))
    if not samples:
        return "fail", (
            "the lane has no checks, so no bad draft can be stopped; add "
            "checks = { max_chars = ..., forbid = [...] } or [lanes.<lane>.drill] must_catch"
        )
    problems = [_one_bad_draft(drill, lane, first, sample) for sample in samples]
    failed = [p for p in problems if p]
    if failed:
        return "fail", "; ".join(failed)
    rule = "a person decides" if _to_human(lane, first) else f"escalated once to {lane.escalate_to}"
    return "pass", f"{len(samples)} bad drafts stopped; {rule}"


def _to_human(lane: LaneConfig, first: str) -> bool:
    return lane.risk == "high" or first == lane.escalate_to


def _one_bad_draft(drill: Drill, lane: LaneConfig, first: str, sample: BadDraft) -> str | None:
    if sample.text is None:
        return sample.problem
    good = good_draft(lane, drill_request(lane))
    calls = iter(range(1_000))
    bad_text: str = sample.text
    engine, _ = drill.engine(lane, lambda _r: bad_text if next(calls) == 0 else good)
    result = engine.run(drill.request(lane))
    first_attempt = result.attempts[0] if result.attempts else None
    if first_attempt is None or first_attempt.outcome != "check_failed":
        return f"{sample.label}: passed the lane's checks ({_said(result)}); tighten checks"
    if _to_human(lane, first):
        if result.status == "needs_human" and result.failed_check:
            return None
        return f"{sample.label}: expected a person to decide; got {_said(result)}"
    if result.status == "drafted" and result.route_kind == "escalation" and result.tier == lane.escalate_to:
        return None
    return f"{sample.label}: expected one escalation to {lane.escalate_to}; got {_said(result)}"


def _budget(drill: Drill, lane: LaneConfig) -> tuple[Outcome, str]:
    daily = lane.budget_daily_usd
    if daily is None:
        return "n/a", "no budget_daily_usd"
    log = DrillLog(drill.store, spent_today_usd=daily)
    engine, models = drill.engine(lane, _good(drill, lane), log=log)
    result = engine.run(drill.request(lane))
    rules = {reason.rule for reason in result.route.reasons}
    if "budget_unknown" in rules:
        tier = result.route.tier
        return (
            "fail",
            f"the price of {tier} is unknown, so the budget cannot stop it; set price under [models.{tier}]",
        )
    if result.status == "needs_confirmation" and models.calls == 0:
        return "pass", "stops for an owner's confirmation (run anyway); no model called"
    estimate, tier = result.route.estimated_cost_usd, result.route.tier
    if "budget" in rules and estimate is None:
        return (
            "fail",
            f"took {tier}, whose price is unknown, so the budget cannot stop it; "
            f"set price under [models.{tier}]",
        )
    if (
        "budget" in rules
        and estimate is not None
        and daily + estimate <= daily
        and result.status == "drafted"
    ):
        return "pass", f"took the cheaper {tier}, which fits what is left (estimated ${estimate:.4f})"
    return (
        "fail",
        f"with ${daily:.2f} already spent today the run was not stopped or rerouted: {_said(result)}",
    )


def _cross_check(drill: Drill, lane: LaneConfig) -> tuple[Outcome, str]:
    if not lane.cross_check:
        return "n/a", "cross_check is off"
    request = drill_request(lane)
    answers = iter((good_draft(lane, request), good_draft(lane, request, variant=1)))
    last = good_draft(lane, request, variant=1)
    engine, _ = drill.engine(lane, lambda _r: next(answers, last))
    result = engine.run(drill.request(lane))
    if result.status == "needs_human" and "cross-check disagreement" in (result.failed_check or ""):
        return "pass", f"a person decides: {result.failed_check}"
    return "fail", f"expected the disagreement to go to a person; got {_said(result)}"


_SCENARIOS: tuple[tuple[str, Callable[[Drill, LaneConfig], tuple[Outcome, str]]], ...] = (
    ("timeout", _timeout),
    ("fallback_fails", _fallback_fails),
    ("store_down", _store_down),
    ("checks", _checks),
    ("budget", _budget),
    ("cross_check", _cross_check),
)


def _said(result: RunResult) -> str:
    route = f"{result.route_kind} {result.tier or '-'}"
    extra = f", check: {result.failed_check}" if result.failed_check else ""
    return f"{result.status} via {route}{extra} ({result.message})"
