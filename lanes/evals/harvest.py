"""Harvesting golden examples from human decisions in the audit store.

- approved runs become positive examples whose reference is the draft as approved;
- edited-then-approved runs become positive examples whose reference is the person's final text
  (under two-person review, the edit the completing approver approved);
- rejected runs become negative examples: the draft a person threw away, and why.

Each keeps what the audit trail knows about the run: the redacted input, the route it took and
why, whether its draft passed the checks, risk, prompt and policy versions, and who decided what
when. ``expected_route`` is the route routing chose before any fallback (from the recorded route
features; for runs older than those, from the route reasons).

A lane with ``store_text = "none"`` kept no text, so it has nothing to harvest: ``harvest``
refuses it with a message saying so. Runs whose text was withheld (redaction failed) are skipped
and counted. Examples already in the file (by id, ``run-<run id>``) are never touched: an
owner's edit or retirement survives every later harvest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from lanes.audit import DecidedRuns, RecordedRoute, RunRecord
from lanes.config import LaneConfig
from lanes.errors import InvalidRequestError
from lanes.evals.golden import (
    ChecksInfo,
    DecisionInfo,
    ExpectedRoute,
    GoldenExample,
    GoldenSet,
    RouteInfo,
    SourceInfo,
)


@dataclass(frozen=True)
class Harvest:
    """What a harvest found: new examples (to append), and why other decided runs were left out."""

    lane: str
    added: tuple[GoldenExample, ...]
    already_there: int
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        kinds = Counter(e.decision.kind if e.decision else e.kind for e in self.added)
        parts = ", ".join(f"{n} {_PAST[k]}" for k, n in sorted(kinds.items()))
        text = f"{len(self.added)} added" + (f" ({parts})" if parts else "")
        text += f", {self.already_there} already in the file"
        for reason, n in sorted(self.skipped.items()):
            text += f", {n} skipped: {reason}"
        return text


_PAST = {"approve": "approved", "edit": "edited", "reject": "rejected"}


def harvest(
    lane: LaneConfig, source: DecidedRuns, existing: GoldenSet, *, since: datetime, now: datetime
) -> Harvest:
    """New examples for ``lane`` from runs decided since ``since`` that ``existing`` lacks."""
    if lane.store_text == "none":
        raise InvalidRequestError(
            f'lane {lane.name} stores no text (store_text = "none" in lanes.toml), so its runs have no '
            f"input or approved text to keep and cannot be harvested; write its examples by hand in "
            f"evals/{lane.name}.jsonl (format: docs/golden-sets.md)"
        )
    runs = source.decided_runs(lane.name, since)
    routes = source.recorded_routes_of([run.id for run in runs])
    known = existing.ids()
    added: list[GoldenExample] = []
    skipped: Counter[str] = Counter()
    already = 0
    for run in runs:
        if example_id(run.id) in known:
            already += 1
            continue
        example = example_from_run(run, routes.get(run.id), now)
        if isinstance(example, str):
            skipped[example] += 1
        else:
            added.append(example)
    return Harvest(lane.name, tuple(added), already, skipped)


def example_id(run_id: str) -> str:
    return f"run-{run_id}"


def example_from_run(run: RunRecord, recorded: RecordedRoute | None, now: datetime) -> GoldenExample | str:
    """The example ``run`` makes, or why it makes none (a short reason, counted by ``harvest``)."""
    final = run.final_decision
    if final is None or final.kind not in ("approve", "edit", "reject"):
        return "no final approve, edit or reject"
    if run.input_text is None:
        return "input text withheld (redaction failed when it was stored)"
    decision_kind = (
        "edit" if final.kind == "edit" or (final.kind == "approve" and final.edited_text) else final.kind
    )
    negative = final.kind == "reject"
    reference = None if negative else (final.edited_text if decision_kind == "edit" else run.draft_text)
    if not negative and not reference:
        return "no approved text stored"
    return GoldenExample(
        id=example_id(run.id),
        lane=run.lane,
        kind="negative" if negative else "positive",
        input=run.input_text,
        reference=reference,
        rejected_draft=run.draft_text if negative else None,
        rejection_reason=(final.reason or "other") if negative else None,
        expected_route=_expected_route(run, recorded),
        route=RouteInfo(
            kind=run.route_kind,
            tier=run.tier,
            model=run.model,
            reasons=list(run.route_reasons),
            fallback_reason=run.fallback_reason,
            escalation_reason=run.escalation_reason,
        ),
        checks=ChecksInfo(passed=run.failed_check is None, failed_check=run.failed_check),
        risk=run.risk,
        prompt_id=run.prompt_id,
        prompt_version=run.prompt_version,
        policy_version=run.policy_version,
        policy_hash=run.policy_hash,
        decision=DecisionInfo(
            kind=decision_kind,  # type: ignore[arg-type]  # one of the three, checked above
            actor=final.actor,
            at=final.created_at,
            edit_distance=final.edit_distance,
            note=final.note,
        ),
        source=SourceInfo(run_id=run.id, run_created_at=run.created_at, harvested_at=now),
    )


def _expected_route(run: RunRecord, recorded: RecordedRoute | None) -> ExpectedRoute:
    """The route routing chose for the run, before any fallback or check sent it elsewhere."""
    if recorded is not None:
        features = recorded.features
        if features.needs_confirmation or features.tier is None:
            return "confirmation"
        return "escalation" if features.kind == "escalation" else "default"
    if any(reason.startswith("escalated:") for reason in run.route_reasons):
        return "escalation"
    return "default"
