"""The digest as values, and the few judgements made about them.

Everything here is pure: the numbers come from ``storage.digest_queries`` (computed in SQL), and
this module only derives rates, week-over-week changes, the premium-creep alerts and the headline
sentences from them, so each can be tested with plain values.

Definitions a manager can rely on (the README repeats them):

- *reviewed* = approved + edited + rejected (a person looked at the draft and decided);
- *first-pass approval*, *edit* and *rejection rates* are shares of reviewed runs; *rework* is
  edited + rejected, the drafts a person had to fix or throw away;
- *fallback* and *escalation rates* are shares of all runs;
- *cost per approved task* = all spend of the group (rejected and failed runs included, since
  they were paid for too) / (approved + edited);
- *premium creep*: the premium tiers' share of runs, or of spend, rose by at least
  ``premium_creep_pct`` percentage points over the previous week.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.digest_queries import Counters

ROUTES = ("default", "fallback", "escalation", "human")
ALL_LANES = "all lanes"


def rate(part: float, whole: float) -> float | None:
    """``part / whole``, or None when there is nothing to divide (shown as "–", never as 0%)."""
    return part / whole if whole else None


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    count: int


@dataclass(frozen=True)
class Stats:
    """The figures of one group of runs (a lane, a route in a lane, or everything)."""

    counters: Counters
    edit_distance_median: float | None = None
    time_to_draft_p50_s: float | None = None
    time_to_draft_p90_s: float | None = None
    top_rejections: tuple[ReasonCount, ...] = ()
    top_fallbacks: tuple[ReasonCount, ...] = ()
    top_escalations: tuple[ReasonCount, ...] = ()

    @property
    def reviewed(self) -> int:
        c = self.counters
        return c.approved + c.edited + c.rejected

    @property
    def reworked(self) -> int:
        return self.counters.edited + self.counters.rejected

    @property
    def first_pass_rate(self) -> float | None:
        return rate(self.counters.approved, self.reviewed)

    @property
    def edit_rate(self) -> float | None:
        return rate(self.counters.edited, self.reviewed)

    @property
    def rejection_rate(self) -> float | None:
        return rate(self.counters.rejected, self.reviewed)

    @property
    def rework_rate(self) -> float | None:
        return rate(self.reworked, self.reviewed)

    @property
    def fallback_rate(self) -> float | None:
        return rate(self.counters.fallback_runs, self.counters.runs)

    @property
    def escalation_rate(self) -> float | None:
        return rate(self.counters.escalation_runs, self.counters.runs)

    @property
    def cost_per_approved_usd(self) -> float | None:
        return rate(self.counters.spend_usd, self.counters.approved + self.counters.edited)


@dataclass(frozen=True)
class RouteShare:
    """A route's share of a lane's runs this week and last week, in percentage points of change."""

    route: str
    runs: int
    share: float | None
    previous_share: float | None

    @property
    def change_pp(self) -> float | None:
        if self.share is None or self.previous_share is None:
            return None
        return (self.share - self.previous_share) * 100


@dataclass(frozen=True)
class RouteDigest:
    route: str
    stats: Stats


@dataclass(frozen=True)
class LaneDigest:
    lane: str
    stats: Stats
    routes: tuple[RouteDigest, ...]
    distribution: tuple[RouteShare, ...]
    previous: Counters
    budget_usd: float | None
    """The lane's weekly budget: ``budget_daily_usd`` × 7, None when the lane has no budget."""

    @property
    def budget_used(self) -> float | None:
        return None if self.budget_usd is None else rate(self.stats.counters.spend_usd, self.budget_usd)


@dataclass(frozen=True)
class Alert:
    """Premium creep in one lane (or ``ALL_LANES``): a share that rose past the threshold."""

    lane: str
    kind: Literal["runs", "spend"]
    previous_share: float
    share: float
    threshold_pp: float

    @property
    def change_pp(self) -> float:
        return (self.share - self.previous_share) * 100

    def describe(self, premium: str) -> str:
        what = "share of runs" if self.kind == "runs" else "share of spend"
        return (
            f"Premium creep in {self.lane}: {premium} {what} rose from {self.previous_share:.0%} to "
            f"{self.share:.0%} (+{self.change_pp:.0f} pp; alert at +{self.threshold_pp:g} pp)."
        )


@dataclass(frozen=True)
class ModelStats:
    model: str
    runs: int
    reviewed: int
    reworked: int

    @property
    def rework_rate(self) -> float | None:
        return rate(self.reworked, self.reviewed)


@dataclass(frozen=True)
class WeekPoint:
    """One lane in one week of the chart's history."""

    week: str
    lane: str
    spend_usd: float
    reviewed: int
    reworked: int

    @property
    def rework_rate(self) -> float | None:
        return rate(self.reworked, self.reviewed)


@dataclass(frozen=True)
class Digest:
    week: str
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    total: Stats
    previous_total: Counters
    lanes: tuple[LaneDigest, ...]
    models: tuple[ModelStats, ...]
    alerts: tuple[Alert, ...]
    headlines: tuple[str, ...]
    history_weeks: tuple[str, ...]
    history: tuple[WeekPoint, ...]
    premium_label: str
    late: bool = False


# --- pure computations ------------------------------------------------------------------------


def route_distribution(
    current: Mapping[str, Counters], previous: Mapping[str, Counters]
) -> tuple[RouteShare, ...]:
    """Each route's share of the lane's runs now and a week ago (standard routes first)."""
    now_total = sum(c.runs for c in current.values())
    before_total = sum(c.runs for c in previous.values())
    names = [r for r in ROUTES if r in current or r in previous]
    names += sorted((set(current) | set(previous)) - set(ROUTES))
    return tuple(
        RouteShare(
            route=name,
            runs=current[name].runs if name in current else 0,
            share=rate(current[name].runs if name in current else 0, now_total),
            previous_share=rate(previous[name].runs if name in previous else 0, before_total),
        )
        for name in names
    )


def premium_alerts(
    lane: str, current: Counters, previous: Counters, threshold_pp: float
) -> tuple[Alert, ...]:
    """Alerts when the premium share of runs or of spend rose ≥ ``threshold_pp`` points week over week.

    Without last week's runs (or spend) there is no baseline, so no alert: a new lane is not creep.
    """
    alerts = []
    pairs = (
        ("runs", current.premium_runs, current.runs, previous.premium_runs, previous.runs),
        (
            "spend",
            current.premium_spend_usd,
            current.spend_usd,
            previous.premium_spend_usd,
            previous.spend_usd,
        ),
    )
    for kind, part, whole, before_part, before_whole in pairs:
        share, before = rate(part, whole), rate(before_part, before_whole)
        if share is None or before is None:
            continue
        if (share - before) * 100 >= threshold_pp:
            alerts.append(Alert(lane, kind, before, share, threshold_pp))  # type: ignore[arg-type]
    return tuple(alerts)


def weekly_budget(budget_daily_usd: float | None) -> float | None:
    return None if budget_daily_usd is None else budget_daily_usd * 7


def _most(items: Iterable[tuple[str, float | None, int]]) -> tuple[str, float, int] | None:
    """The item with the highest value (ties: larger count, then name); None-valued items are skipped."""
    ranked = sorted(
        ((name, v, n) for name, v, n in items if v is not None), key=lambda t: (-t[1], -t[2], t[0])
    )
    return ranked[0] if ranked else None


def headlines(lanes: Sequence[LaneDigest], models: Sequence[ModelStats], total: Stats) -> tuple[str, ...]:
    """One sentence each: the most expensive lane, the lane and the model with most rework."""
    if not total.counters.runs:
        return ("No runs this week.",)
    lines = []
    priciest = _most((lane.lane, lane.stats.counters.spend_usd, lane.stats.counters.runs) for lane in lanes)
    if priciest is not None:
        name, spend, _ = priciest
        lane = next(item for item in lanes if item.lane == name)
        share = rate(spend, total.counters.spend_usd)
        budget = (
            ""
            if lane.budget_usd is None
            else f", {lane.budget_used:.0%} of its ${lane.budget_usd:,.2f} budget"
        )
        lines.append(f"Most expensive lane: {name}, ${spend:,.2f} ({_pct(share)} of all spend{budget}).")
    rework = _most((lane.lane, lane.stats.rework_rate, lane.stats.reworked) for lane in lanes)
    if rework is None:
        lines.append("Most rework: no drafts were reviewed this week.")
    else:
        lane = next(item for item in lanes if item.lane == rework[0])
        lines.append(
            f"Most rework: {lane.lane}, {rework[1]:.0%} of reviewed drafts edited or rejected "
            f"({lane.stats.reworked} of {lane.stats.reviewed})."
        )
    worst = _most((m.model, m.rework_rate, m.reworked) for m in models)
    if worst is not None:
        model = next(item for item in models if item.model == worst[0])
        lines.append(
            f"Model with most rework: {model.model}, {worst[1]:.0%} of its reviewed drafts "
            f"({model.reworked} of {model.reviewed})."
        )
    return tuple(lines)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"
