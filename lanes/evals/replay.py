"""Route replay: what a candidate policy would have routed differently, from recorded inputs only.

Every run records what routing read (``lanes.audit.RouteInputs``: input length, keywords looked
for and hit, today's spend, open circuits, a "run anyway") and what it chose. ``replay`` feeds
those inputs to the candidate's ``lanes.policy.route_from_inputs``, the very function live
routing runs, so a replayed route is what ``route`` returns for that request under the candidate.
No model is called and no text is needed, with one exception: a keyword the candidate looks for
that the recorded policy did not. Then the run's stored (redacted) text is searched for it; a
lane that stores no text cannot answer, and the run is reported as *unknown*, never guessed.

Costs are routing's own pessimistic estimates (full output allowance) at the time of the run, for
the recorded route and the candidate's; a route that stops for confirmation costs nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from lanes.audit import RecordedRoute, RouteInputs
from lanes.config import LaneConfig, LanesConfig
from lanes.policy import keywords_hit, normalise_keyword, route_from_inputs
from lanes.values import Route

CONFIRM = "confirmation"
"""How a route that stops for an owner's "run anyway" is named in the diff."""


@dataclass(frozen=True)
class Replayed:
    """One past run under the candidate: its recorded route and the candidate's (or why unknown)."""

    run_id: str
    lane: str
    recorded: str
    recorded_kind: str
    candidate: str | None
    candidate_kind: str | None
    why: str
    recorded_cost_usd: float | None
    candidate_cost_usd: float | None
    route: Route | None = None

    @property
    def changed(self) -> bool:
        return self.candidate is not None and (self.candidate, self.candidate_kind) != (
            self.recorded,
            self.recorded_kind,
        )

    @property
    def unknown(self) -> bool:
        return self.candidate is None


@dataclass
class LaneReplay:
    """The totals of one lane: runs replayed, changed, unknown, and the estimated cost difference."""

    lane: str
    runs: int = 0
    changed: int = 0
    unknown: int = 0
    recorded_cost_usd: float = 0.0
    candidate_cost_usd: float = 0.0
    unpriced: int = 0
    """Runs whose recorded or candidate estimate has no price; left out of both cost totals."""
    changes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(from, to, why) -> runs."""
    unknown_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def cost_difference_usd(self) -> float:
        return self.candidate_cost_usd - self.recorded_cost_usd


@dataclass(frozen=True)
class ReplayReport:
    lanes: tuple[LaneReplay, ...]
    runs: tuple[Replayed, ...]

    @property
    def changed(self) -> int:
        return sum(lane.changed for lane in self.lanes)


def replay(
    candidate: LanesConfig, recorded: Iterable[RecordedRoute], *, keep_runs: bool = True
) -> ReplayReport:
    """Replay ``recorded`` through ``candidate``; ``keep_runs=False`` keeps only the totals."""
    lanes: dict[str, LaneReplay] = {}
    runs: list[Replayed] = []
    for past in recorded:
        one = replay_one(candidate, past)
        _tally(lanes.setdefault(one.lane, LaneReplay(one.lane)), one)
        if keep_runs:
            runs.append(one)
    return ReplayReport(tuple(lanes[name] for name in sorted(lanes)), tuple(runs))


def replay_one(candidate: LanesConfig, past: RecordedRoute) -> Replayed:
    """One run under ``candidate``; ``route`` is exactly ``route_from_inputs`` of its inputs."""
    features = past.features
    recorded = CONFIRM if features.needs_confirmation or features.tier is None else features.tier
    recorded_cost = 0.0 if recorded == CONFIRM else features.estimated_cost_usd
    unknown = Replayed(past.run_id, past.lane, recorded, features.kind, None, None, "", recorded_cost, None)
    lane = candidate.lanes.get(past.lane)
    if lane is None:
        return replace(unknown, why=f"lane {past.lane} is not in the candidate")
    inputs = _inputs_for(lane, past)
    if inputs is None:
        missing = ", ".join(f"'{k}'" for k in _unchecked(lane, past.features.inputs))
        why = f"new keyword {missing} cannot be looked for: the run's text is not stored"
        return replace(unknown, why=why)
    route = route_from_inputs(lane, candidate.models, inputs)
    tier = CONFIRM if route.needs_confirmation or route.tier is None else route.tier
    cost = 0.0 if tier == CONFIRM else route.estimated_cost_usd
    why = _why(lane, features.kind, route) if (tier, route.kind) != (recorded, features.kind) else ""
    return Replayed(
        past.run_id, past.lane, recorded, features.kind, tier, route.kind, why, recorded_cost, cost, route
    )


def _inputs_for(lane: LaneConfig, past: RecordedRoute) -> RouteInputs | None:
    """The recorded inputs, completed from the stored text when the candidate has new keywords."""
    inputs = past.features.inputs
    if not _unchecked(lane, inputs):
        return inputs
    if past.input_text is None:
        return None
    keywords = tuple(lane.escalate_when.keywords)
    checked = tuple(dict.fromkeys((*inputs.keywords_checked, *(normalise_keyword(k) for k in keywords))))
    hit = tuple(dict.fromkeys((*inputs.keywords_hit, *keywords_hit(keywords, past.input_text))))
    return replace(inputs, keywords_checked=checked, keywords_hit=hit)


def _unchecked(lane: LaneConfig, inputs: RouteInputs) -> tuple[str, ...]:
    return tuple(
        k for k in lane.escalate_when.keywords if normalise_keyword(k) not in inputs.keywords_checked
    )


def _why(lane: LaneConfig, recorded_kind: str, route: Route) -> str:
    """The rule that makes the difference, in words that group well across runs."""
    rules = {reason.rule for reason in route.reasons}
    if route.kind == "escalation" and recorded_kind != "escalation":
        texts = [r.text.removeprefix("escalated: ") for r in route.reasons if r.rule == "escalation"]
        return "escalates: " + "; ".join(_general(text) for text in texts)
    if recorded_kind == "escalation" and route.kind != "escalation":
        return "no longer escalates"
    if "needs_confirmation" in rules:
        return "budget: stops for confirmation"
    if "circuit_open" in rules:
        return "circuit open"
    if "budget" in rules:
        return "budget: cheaper route"
    role = "escalation" if route.kind == "escalation" else "default"
    return f"{role} tier is now {route.tier}"


def _general(text: str) -> str:
    """'input 3,100 chars > 2,500' -> 'input > 2,500 chars': the rule, not the run's own figure."""
    if text.startswith("input ") and " > " in text:
        return f"input > {text.split(' > ', 1)[1]} chars"
    return text


def _tally(lane: LaneReplay, one: Replayed) -> None:
    lane.runs += 1
    if one.unknown:
        lane.unknown += 1
        lane.unknown_reasons[one.why] += 1
        return
    if one.changed:
        lane.changed += 1
        lane.changes[(one.recorded, one.candidate or CONFIRM, one.why)] += 1
    if one.recorded_cost_usd is None or one.candidate_cost_usd is None:
        lane.unpriced += 1
    else:
        lane.recorded_cost_usd += one.recorded_cost_usd
        lane.candidate_cost_usd += one.candidate_cost_usd


def by_lane(report: ReplayReport) -> Mapping[str, list[Replayed]]:
    grouped: dict[str, list[Replayed]] = defaultdict(list)
    for one in report.runs:
        grouped[one.lane].append(one)
    return grouped
