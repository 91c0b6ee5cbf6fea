"""Scoring one golden example's run under a policy: deterministic, no model judges a model.

For every example:

- **route**: did routing choose the expected route (``default``, ``escalation`` or
  ``confirmation``)? A policy that stops escalating "refund" fails here;
- **checks**: did the routed model's draft pass the lane's checks? A run that needed the
  escalation model because a draft failed its checks fails here (it costs the escalation), as do
  a draft sent to a person, a failed run and a budget stop;
- **json** / **evidence** (lanes with a schema / ``evidence_required``): does the final draft
  parse and validate, and is every evidence quote verbatim in the input?
- **similarity**: rapidfuzz's normalised Indel similarity (0..1) of the draft to the reference,
  at least ``[lanes.<lane>.eval] min_similarity``; **length ratio** draft / reference within
  ``max_length_ratio`` either way when that is set;
- cost and latency are reported, not judged.

A negative example passes when the route is the expected one and the run does not hand back the
rejected draft again: its draft is less than ``NEGATIVE_MAX_SIMILARITY`` similar to it, or the
run went to a person instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Indel

from lanes.checks import check_draft, parse_json_draft
from lanes.config import EvalSettings, LaneConfig
from lanes.evals.golden import GoldenExample
from lanes.values import Attempt, RunResult

NEGATIVE_MAX_SIMILARITY = 0.9
"""A negative example fails when the new draft is at least this similar to the rejected one."""
DEFAULT_EVAL = EvalSettings()


@dataclass(frozen=True)
class ExampleScore:
    """One example's scores; ``failures`` say in words why it did not pass (empty when it did)."""

    id: str
    lane: str
    kind: str
    ran: bool
    failures: tuple[str, ...]
    expected_route: str
    route: str | None = None
    status: str | None = None
    checks_passed: bool | None = None
    json_valid: bool | None = None
    evidence_verbatim: bool | None = None
    similarity: float | None = None
    length_ratio: float | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    run_id: str | None = None

    @property
    def passed(self) -> bool:
        return self.ran and not self.failures


def route_name(result: RunResult) -> str:
    route = result.route
    if route.needs_confirmation or route.tier is None:
        return "confirmation"
    return "escalation" if route.kind == "escalation" else "default"


def score(lane: LaneConfig, example: GoldenExample, result: RunResult) -> ExampleScore:
    """Score ``result``, the run of ``example`` under the policy being evaluated."""
    settings = lane.eval or DEFAULT_EVAL
    failures: list[str] = []
    route = route_name(result)
    if route != example.expected_route:
        failures.append(f"route: expected {example.expected_route}, took {route}")
    draft = result.draft
    checks = check_draft(lane, draft, example.input) if draft is not None else None
    check_failed = [a for a in result.attempts if a.outcome == "check_failed"]
    checks_passed = result.status == "drafted" and checks is not None and checks.passed and not check_failed
    json_valid, evidence = _structure(lane, draft, checks.failed if checks else ())
    similarity = length_ratio = None
    if example.kind == "positive":
        if not checks_passed:
            failures.append(_no_good_draft(result, check_failed))
        if json_valid is False:
            failures.append("json: the draft is not valid JSON for the lane's schema")
        if evidence is False:
            failures.append("evidence: a quote is not verbatim in the input")
        similarity, length_ratio = _closeness(draft, example.reference or "")
        failures += _closeness_failures(similarity, length_ratio, settings)
    else:
        similarity, length_ratio = _closeness(draft, example.rejected_draft or "")
        if result.status == "drafted" and similarity is not None and similarity >= NEGATIVE_MAX_SIMILARITY:
            failures.append(
                f"repeats the rejected draft ({similarity:.0%} similar; "
                f"rejected for {example.rejection_reason})"
            )
    return ExampleScore(
        id=example.id,
        lane=lane.name,
        kind=example.kind,
        ran=True,
        failures=tuple(failures),
        expected_route=example.expected_route,
        route=route,
        status=result.status,
        checks_passed=checks_passed,
        json_valid=json_valid,
        evidence_verbatim=evidence,
        similarity=similarity,
        length_ratio=length_ratio,
        cost_usd=result.cost_usd,
        latency_ms=result.latency_ms,
        run_id=result.run_id,
    )


def not_run(lane: str, example: GoldenExample, why: str) -> ExampleScore:
    """An example that could not be run (the spend cap, an unknown lane): it does not pass."""
    return ExampleScore(
        id=example.id,
        lane=lane,
        kind=example.kind,
        ran=False,
        failures=(f"not run: {why}",),
        expected_route=example.expected_route,
    )


def _no_good_draft(result: RunResult, check_failed: list[Attempt]) -> str:
    if result.status == "needs_human":
        return f"checks: went to a person ({result.failed_check or result.message})"
    if result.status == "drafted" and check_failed:
        first = check_failed[0]
        return f"checks: the {first.tier} draft failed ({first.error}); it needed the escalation model"
    if result.status == "drafted":
        return "checks: the draft fails the lane's checks"
    return f"checks: no draft ({result.status}: {result.message})"


def _structure(
    lane: LaneConfig, draft: str | None, failed: tuple[str, ...]
) -> tuple[bool | None, bool | None]:
    """(JSON valid, evidence verbatim), each None when the lane does not ask for it."""
    if lane.output_schema is None:
        return None, None
    if draft is None:
        return False, (False if lane.evidence_required else None)
    try:
        parse_json_draft(draft)
        json_valid = not any(f.startswith("schema:") for f in failed)
    except ValueError:
        json_valid = False
    if not lane.evidence_required:
        return json_valid, None
    return json_valid, json_valid and not any(f.startswith("evidence") for f in failed)


def _closeness(draft: str | None, reference: str) -> tuple[float | None, float | None]:
    if draft is None or not reference:
        return None, None
    return Indel.normalized_similarity(draft, reference), len(draft) / len(reference)


def _closeness_failures(similarity: float | None, ratio: float | None, settings: EvalSettings) -> list[str]:
    failures: list[str] = []
    if similarity is not None and similarity < settings.min_similarity:
        failures.append(f"similarity: {similarity:.0%} to the reference, below {settings.min_similarity:.0%}")
    limit = settings.max_length_ratio
    if ratio is not None and limit is not None and not (1 / limit <= ratio <= limit):
        failures.append(f"length: {ratio:.2f}x the reference, outside 1/{limit:g}..{limit:g}")
    return failures
