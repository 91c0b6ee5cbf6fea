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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

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


TextLookup = Callable[[Sequence[str]], Mapping[str, str | None]]
"""Run ids -> their stored, redacted text (``lanes.audit.PolicyHistory.input_texts``)."""


def replay(
    candidate: LanesConfig,
    recorded: Iterable[RecordedRoute],
    *,
    texts: TextLookup | None = None,
    keep_runs: bool = True,
) -> ReplayReport:
    """Replay ``recorded`` through ``candidate``. Runs the candidate has a new keyword for are
    looked up with ``texts`` (one batch, only those runs); ``keep_runs=False`` keeps totals only."""
    results: list[Replayed] = []
    deferred: dict[str, tuple[int, RecordedRoute]] = {}
    for past in recorded:
        if texts is not None and past.input_text is None and _needs_text(candidate, past):
            deferred[past.run_id] = (len(results), past)
            results.append(_unknown(past, ""))  # replaced below, once the texts are read
            continue
        results.append(replay_one(candidate, past))
    if deferred and texts is not None:
        found = texts(list(deferred))
        for run_id, (index, past) in deferred.items():
            results[index] = replay_one(candidate, replace(past, input_text=found.get(run_id)))
    lanes: dict[str, LaneReplay] = {}
    for one in results:
        totals = lanes.get(one.lane)
        if totals is None:
            totals = lanes[one.lane] = LaneReplay(one.lane)
        _tally(totals, one)
    return ReplayReport(tuple(lanes[name] for name in sorted(lanes)), tuple(results) if keep_runs else ())


def replay_one(candidate: LanesConfig, past: RecordedRoute) -> Replayed:
    """One run under ``candidate``; ``route`` is exactly ``route_from_inputs`` of its inputs."""
    features = past.features
    lane = candidate.lanes.get(past.lane)
    if lane is None:
        return _unknown(past, f"lane {past.lane} is not in the candidate")
    inputs = _inputs_for(lane, past)
    if inputs is None:
        missing = ", ".join(f"'{k}'" for k in _unchecked(lane, features.inputs))
        return _unknown(past, f"new keyword {missing} cannot be looked for: the run's text is not stored")
    route = route_from_inputs(lane, candidate.models, inputs)
    recorded = _name(features.tier, features.needs_confirmation)
    tier = _name(route.tier, route.needs_confirmation)
    same = tier == recorded and route.kind == features.kind
    return Replayed(
        past.run_id,
        past.lane,
        recorded,
        features.kind,
        tier,
        route.kind,
        "" if same else _why(lane, features.kind, route),
        0.0 if recorded == CONFIRM else features.estimated_cost_usd,
        0.0 if tier == CONFIRM else route.estimated_cost_usd,
        route,
    )


def _needs_text(candidate: LanesConfig, past: RecordedRoute) -> bool:
    lane = candidate.lanes.get(past.lane)
    return lane is not None and bool(_unchecked(lane, past.features.inputs))


def _name(tier: str | None, needs_confirmation: bool) -> str:
    return CONFIRM if needs_confirmation or tier is None else tier


def _unknown(past: RecordedRoute, why: str) -> Replayed:
    features = past.features
    recorded = _name(features.tier, features.needs_confirmation)
    cost = 0.0 if recorded == CONFIRM else features.estimated_cost_usd
    return Replayed(past.run_id, past.lane, recorded, features.kind, None, None, why, cost, None)


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
    """The lane's keywords the inputs were recorded without looking for (usually none)."""
    return _missing(tuple(lane.escalate_when.keywords), inputs.keywords_checked)


@lru_cache(maxsize=1024)
def _missing(keywords: tuple[str, ...], checked: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(k for k in keywords if normalise_keyword(k) not in checked)


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
