"""Building a digest from the audit store alone.

The SQL (``storage.digest_queries``) returns one row per group: additive counters per (lane,
route, model) for the digest week and the week before (the baseline for week-over-week changes),
spend and rework per lane for the chart's six older weeks, and the percentiles and top reasons,
which cannot be added up, already computed per route, per lane and overall. This module rolls the
counters up by addition and assembles the frozen ``Digest``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.digest import report
from bot.digest.weeks import IsoWeek, last_completed_week, parse_iso_week, week_boundaries
from lanes.config import DigestConfig, LanesConfig
from storage import digest_queries as q
from storage.store import AuditStore

log = logging.getLogger(__name__)

HISTORY_WEEKS = 8


@dataclass(frozen=True)
class _Extras:
    """Per-group figures that do not add up: percentiles and top reasons, keyed (lane, route)."""

    percentiles: Mapping[q.Metric, Mapping[q.Key, tuple[float, ...]]]
    reasons: Mapping[q.ReasonSource, Mapping[q.Key, tuple[tuple[str, int], ...]]]

    def stats(self, key: q.Key, counters: q.Counters) -> report.Stats:
        delays = self.percentiles["time_to_draft_s"].get(key, (None, None))
        edits = self.percentiles["edit_distance"].get(key, (None,))
        return report.Stats(
            counters=counters,
            edit_distance_median=edits[0],
            time_to_draft_p50_s=delays[0],
            time_to_draft_p90_s=delays[1],
            top_rejections=_reasons(self.reasons["rejection"].get(key, ())),
            top_fallbacks=_reasons(self.reasons["fallback"].get(key, ())),
            top_escalations=_reasons(self.reasons["escalation"].get(key, ())),
        )


@dataclass(frozen=True)
class _Week:
    """What the database said about the digest week and the one before."""

    current: Sequence[q.GroupCounters]
    previous: Sequence[q.GroupCounters]
    older: Sequence[q.LaneWeek]
    extras: _Extras


def digest_settings(config: LanesConfig) -> DigestConfig:
    """The ``[digest]`` table, or defaults (UTC, no premium tiers) so a dry run works without one."""
    return config.digest or DigestConfig(channel="")


def build_digest(
    store_or_engine: AuditStore | Engine,
    config: LanesConfig,
    week: IsoWeek | str | None = None,
    *,
    now: datetime | None = None,
) -> report.Digest:
    """The digest of ``week`` (default: the last completed week in the digest's timezone)."""
    engine = store_or_engine.engine if isinstance(store_or_engine, AuditStore) else store_or_engine
    settings = digest_settings(config)
    now = now or datetime.now(UTC)
    target = (
        parse_iso_week(week) if isinstance(week, str) else week or last_completed_week(now, settings.timezone)
    )
    edges = week_boundaries(target, HISTORY_WEEKS, settings.timezone)
    start, end = edges[-2], edges[-1]
    with engine.connect() as conn, q.tuned(conn):
        data = _Week(
            current=q.week_counters(conn, start, end, settings.premium_tiers),
            previous=q.week_counters(conn, edges[-3], start, settings.premium_tiers),
            older=q.lane_history(conn, edges[:-2]),
            extras=_Extras(q.week_percentiles(conn, start, end), q.week_top_reasons(conn, start, end)),
        )
    log.info("digest built", extra={"week": target.label, "groups": len(data.current)})
    history_weeks = tuple(target.shift(i - (HISTORY_WEEKS - 1)).label for i in range(HISTORY_WEEKS))
    return _assemble(target, settings, config, now, (start, end), data, history_weeks)


def _assemble(
    target: IsoWeek,
    settings: DigestConfig,
    config: LanesConfig,
    now: datetime,
    window: tuple[datetime, datetime],
    data: _Week,
    history_weeks: tuple[str, ...],
) -> report.Digest:
    current, previous = _by_lane_route(data.current), _by_lane_route(data.previous)
    names = sorted(set(current) | set(config.lanes))
    lanes = [
        _lane(name, current.get(name, {}), previous.get(name, {}), data.extras, config) for name in names
    ]
    lanes.sort(key=lambda lane: (-lane.stats.counters.spend_usd, -lane.stats.counters.runs, lane.lane))
    total = data.extras.stats((None, None), _sum(g.counters for g in data.current))
    previous_total = _sum(g.counters for g in data.previous)
    threshold = settings.premium_creep_pct
    alerts = [
        a
        for lane in lanes
        for a in report.premium_alerts(lane.lane, lane.stats.counters, lane.previous, threshold)
    ]
    alerts += report.premium_alerts(report.ALL_LANES, total.counters, previous_total, threshold)
    models = _models(data.current)
    return report.Digest(
        week=target.label,
        timezone=settings.timezone,
        start=window[0],
        end=window[1],
        generated_at=now,
        total=total,
        previous_total=previous_total,
        lanes=tuple(lanes),
        models=models,
        alerts=tuple(alerts),
        headlines=report.headlines(lanes, models, total),
        history_weeks=history_weeks,
        history=_history(data, history_weeks),
        premium_label=", ".join(settings.premium_tiers) or "escalation route",
    )


def _lane(
    name: str,
    routes: Mapping[str, q.Counters],
    previous: Mapping[str, q.Counters],
    extras: _Extras,
    config: LanesConfig,
) -> report.LaneDigest:
    lane_config = config.lanes.get(name)
    shown = [r for r in report.ROUTES if r in routes] + sorted(set(routes) - set(report.ROUTES))
    return report.LaneDigest(
        lane=name,
        stats=extras.stats((name, None), _sum(routes.values())),
        routes=tuple(report.RouteDigest(r, extras.stats((name, r), routes[r])) for r in shown),
        distribution=report.route_distribution(routes, previous),
        previous=_sum(previous.values()),
        budget_usd=report.weekly_budget(lane_config.budget_daily_usd if lane_config else None),
    )


def _models(groups: Iterable[q.GroupCounters]) -> tuple[report.ModelStats, ...]:
    per_model: dict[str, q.Counters] = defaultdict(q.Counters)
    for group in groups:
        if group.model is not None:
            per_model[group.model] += group.counters
    return tuple(
        report.ModelStats(model, c.runs, c.approved + c.edited + c.rejected, c.edited + c.rejected)
        for model, c in sorted(per_model.items())
    )


def _history(data: _Week, weeks: tuple[str, ...]) -> tuple[report.WeekPoint, ...]:
    """Spend and rework per lane and week: older weeks from ``lane_history``, the last two from counters."""
    points: dict[tuple[int, str], tuple[float, int, int]] = {
        (w.week_index, w.lane): (w.spend_usd, w.reviewed, w.reworked) for w in data.older
    }
    for index, groups in ((len(weeks) - 2, data.previous), (len(weeks) - 1, data.current)):
        for lane, routes in _by_lane_route(groups).items():
            c = _sum(routes.values())
            points[(index, lane)] = (c.spend_usd, c.approved + c.edited + c.rejected, c.edited + c.rejected)
    lanes = sorted({lane for _, lane in points})
    return tuple(
        report.WeekPoint(weeks[index], lane, *points.get((index, lane), (0.0, 0, 0)))
        for index in range(len(weeks))
        for lane in lanes
    )


def _by_lane_route(groups: Iterable[q.GroupCounters]) -> dict[str, dict[str, q.Counters]]:
    result: dict[str, dict[str, q.Counters]] = defaultdict(lambda: defaultdict(q.Counters))
    for group in groups:
        result[group.lane][group.route_kind] += group.counters
    return {lane: dict(routes) for lane, routes in result.items()}


def _sum(counters: Iterable[q.Counters]) -> q.Counters:
    total = q.Counters()
    for c in counters:
        total += c
    return total


def _reasons(pairs: tuple[tuple[str, int], ...]) -> tuple[report.ReasonCount, ...]:
    return tuple(report.ReasonCount(reason, count) for reason, count in pairs)
