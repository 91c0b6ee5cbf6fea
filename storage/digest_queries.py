"""SQL aggregates behind the weekly digest: every figure is computed by the database.

Runs never travel to Python. Each query reads runs requested in a UTC range (a local ISO week,
see ``bot.digest.weeks``) through ``ix_runs_digest`` (lane, created_at, then every column the
digest reads): the range is written per lane (``lane IN (every lane)``, the lanes found by a loose
index scan, see ``store_lanes``), so each lane's week is one contiguous slice of the index, read
without touching the table, in lane order, and with the same plan whether or not the database
has planner statistics. The queries group on ``lane`` and ``route_kind`` and return one row per
group:

- ``week_counters``: additive counts per (lane, route, model), everything that rolls up by sum
  (called for the digest week and the week before, the baseline for week-over-week changes);
- ``lane_history``: spend and rework per (week, lane) for the chart's older weeks;
- ``week_percentiles``: time to first usable draft (p50, p90) and the median edit distance per
  route, per lane and overall;
- ``week_top_reasons``: rejection, fallback and escalation reasons counted per (lane, route) in one
  read of the week, rolled up to lane and overall in SQL, ranked, top N kept.

A level is told by its key: ``(lane, route)``, ``(lane, None)`` for the lane, ``(None, None)`` for
everything.

What a run counts as (a run belongs to the week its request arrived, whatever happened later):

- *spend*: ``SUM(cost_usd)`` over known prices; ``unknown_cost_runs`` counts runs whose price was
  unknown (``cost_known`` false), so the spend shown is then a lower bound and says so;
- *approved* (first pass) / *edited* / *rejected* / *expired* / *failed*: the run's status;
- *pending*: drafted before the week's end and not decided by then (awaiting review when the
  week closed), so a digest recomputed later shows the same number;
- *fallback* / *escalation*: the route kind, or a recorded fallback/escalation reason;
- *premium*: the run answered on a premium tier (``[digest] premium_tiers``), or, when none are
  configured, took the escalation route.

Percentiles are continuous (linear interpolation, like ``percentile_cont``). PostgreSQL computes
them natively over GROUPING SETS. SQLite has no ordered-set aggregate and its window functions are
slow (~10 µs a row), so the one exception to "runs never travel" is made there: the week's
approved-run *values* (a lane, a route and two numbers each) are read once and each group is put
in order once in Python (see ``_sqlite_percentiles``).

The SQL differs by dialect only where speed asks for it (percentiles); the numbers are the same,
which the tests check on both databases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from itertools import chain, pairwise
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)

from storage.models import Decision, Run

Metric = Literal["time_to_draft_s", "edit_distance"]
ReasonSource = Literal["rejection", "fallback", "escalation"]
Key = tuple[str | None, str | None]
"""(lane, route): a route within a lane; (lane, None): the lane; (None, None): every lane."""

UNROUTED = "unrouted"
UNSPECIFIED = "unspecified"
APPROVED_STATUSES = ("approved", "edited")
REVIEWED_STATUSES = ("approved", "edited", "rejected")
REVIEWABLE_STATUSES = ("drafted", "needs_human", "approved", "edited", "rejected", "expired")
QUANTILES = (0.5, 0.9)
SQLITE_CACHE_KIB = -65536
"""64 MiB of page cache (negative = KiB) while a digest is computed; SQLite's default is 2 MiB."""


@dataclass(frozen=True)
class Counters:
    """Additive counts for one group of runs; groups roll up by ``+``."""

    runs: int = 0
    spend_usd: float = 0.0
    unknown_cost_runs: int = 0
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    expired: int = 0
    failed: int = 0
    pending: int = 0
    fallback_runs: int = 0
    escalation_runs: int = 0
    premium_runs: int = 0
    premium_spend_usd: float = 0.0

    def __add__(self, other: Counters) -> Counters:
        return Counters(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class GroupCounters:
    """Counters of the runs of one lane, route and answering model (None: no model answered)."""

    lane: str
    route_kind: str
    model: str | None
    counters: Counters


@dataclass(frozen=True)
class LaneWeek:
    """One lane in one week of the chart; ``week_index`` counts from the oldest edge given."""

    week_index: int
    lane: str
    runs: int
    spend_usd: float
    reviewed: int
    reworked: int


# --- column expressions -----------------------------------------------------------------------


def _route_kind() -> ColumnElement[str]:
    return func.coalesce(Run.route_kind, UNROUTED)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(_flag(condition)), 0)


def store_lanes(conn: Connection) -> list[str]:
    """Every lane that has runs, in index order, found by a loose index scan: one seek per lane.

    ``min(lane)``, then ``min(lane) > previous`` until none is left, each answered from the
    ``(lane, ...)`` indexes without reading the runs between. Lanes removed from lanes.toml are
    included: their history still belongs in the digest.
    """
    seen = select(func.min(Run.lane).label("lane")).cte("seen_lanes", recursive=True)
    following = select(func.min(Run.lane)).where(Run.lane > seen.c.lane).scalar_subquery()
    seen = seen.union_all(select(following).where(seen.c.lane.is_not(None)))
    return list(conn.execute(select(seen.c.lane).where(seen.c.lane.is_not(None))).scalars())


def _in_week(lanes: Sequence[str], start: datetime, end: datetime) -> ColumnElement[bool]:
    """Runs requested in ``[start, end)``, written as one ``created_at`` range per lane.

    ``lane IN (every lane)`` selects nothing away; it lets the database seek each lane's range of
    ``ix_runs_digest`` (lane, created_at, ...) and read the week from the index alone, in lane
    order, with or without planner statistics (SQLite has none until someone runs ANALYZE).
    """
    return and_(Run.lane.in_(list(lanes)), Run.created_at >= start, Run.created_at < end)


def _scanned(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` checked on the rows of the week's range, never used to choose an index.

    Without statistics SQLite would serve ``status IN (...)`` from ``ix_runs_status`` and read
    every approved run of every week ever; as an expression it is only a filter.
    """
    return _flag(condition) == 1


def _is_fallback() -> ColumnElement[bool]:
    return or_(Run.route_kind == "fallback", Run.fallback_reason.is_not(None))


def _is_escalation() -> ColumnElement[bool]:
    return or_(Run.route_kind == "escalation", Run.escalation_reason.is_not(None))


def _is_premium(premium_tiers: Sequence[str]) -> ColumnElement[bool]:
    if premium_tiers:
        return Run.tier.in_(list(premium_tiers))
    return Run.route_kind == "escalation"


def _pending_at(end: datetime) -> ColumnElement[bool]:
    return and_(
        Run.status.in_(REVIEWABLE_STATUSES),
        Run.drafted_at < end,
        or_(Run.decided_at.is_(None), Run.decided_at >= end),
    )


def _seconds_to_draft(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.date_part("epoch", Run.drafted_at - Run.created_at)  # double precision, not numeric
    # julianday() is a double of days: rounding to the millisecond removes its ~1e-6 s noise.
    return func.round((func.julianday(Run.drafted_at) - func.julianday(Run.created_at)) * 86400.0, 3)


def _no_key() -> ColumnElement[Any]:
    return cast(null(), String)


@contextmanager
def tuned(conn: Connection) -> Iterator[None]:
    """Session settings for a few large read-only aggregates, undone afterwards.

    PostgreSQL: no JIT (compiling these queries costs more than it saves) and enough ``work_mem``
    to sort a week in memory; both ``SET LOCAL``, so they end with the transaction. SQLite: a page
    cache large enough for a week of rows, restored on exit because pooled connections live on.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        yield
        return
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous or -2000)}")


# --- counters ---------------------------------------------------------------------------------


def week_counters(
    conn: Connection, start: datetime, end: datetime, premium_tiers: Sequence[str] = ()
) -> list[GroupCounters]:
    """Counters per (lane, route, model) for runs requested in ``[start, end)``."""
    lanes = store_lanes(conn)
    premium = _is_premium(premium_tiers)
    cost = func.coalesce(Run.cost_usd, 0.0)
    query = (
        select(
            Run.lane,
            Run.route_kind,
            Run.model,
            func.count().label("runs"),
            func.coalesce(func.sum(cost), 0.0).label("spend_usd"),
            _count_if(Run.cost_known.is_(False)).label("unknown_cost_runs"),
            *[_count_if(Run.status == status).label(status) for status in _STATUS_COUNTERS],
            _count_if(_pending_at(end)).label("pending"),
            _count_if(_is_fallback()).label("fallback_runs"),
            _count_if(_is_escalation()).label("escalation_runs"),
            _count_if(premium).label("premium_runs"),
            func.coalesce(func.sum(case((premium, cost), else_=0.0)), 0.0).label("premium_spend_usd"),
        )
        .where(_in_week(lanes, start, end))
        .group_by(Run.lane, Run.route_kind, Run.model)
    )
    return [_group_counters(row._mapping) for row in conn.execute(query)]


_STATUS_COUNTERS = ("approved", "edited", "rejected", "expired", "failed")


def _group_counters(row: Any) -> GroupCounters:
    values: dict[str, Any] = {
        f.name: (float(row[f.name]) if f.type == "float" else int(row[f.name])) for f in fields(Counters)
    }
    return GroupCounters(row["lane"], row["route_kind"] or UNROUTED, row["model"], Counters(**values))


def _history_columns(lane: Any, cost: Any, status: Any) -> list[Any]:
    return [
        lane,
        func.count().label("runs"),
        func.coalesce(func.sum(func.coalesce(cost, 0.0)), 0.0).label("spend_usd"),
        _count_if(status.in_(REVIEWED_STATUSES)).label("reviewed"),
        _count_if(status.in_(("edited", "rejected"))).label("reworked"),
    ]


def lane_history(conn: Connection, edges: Sequence[datetime]) -> list[LaneWeek]:
    """Runs, spend and rework per lane for each week between consecutive ``edges``.

    One ``GROUP BY lane`` per week, glued with ``UNION ALL``. Each part reads its week lane by
    lane from ``ix_runs_digest`` (see ``_in_week``), so the groups arrive in order: SQLite, which
    has no hash aggregate, needs no sort, and PostgreSQL reads the index only instead of the table
    (measured faster than one hashed scan of all weeks with ``width_bucket``).
    """
    if len(edges) < 2:
        return []
    lanes = store_lanes(conn)
    query = union_all(
        *[
            select(literal(index).label("week_index"), *_history_columns(Run.lane, Run.cost_usd, Run.status))
            .where(_in_week(lanes, start, end))
            .group_by(Run.lane)
            for index, (start, end) in enumerate(pairwise(edges))
        ]
    )
    return [
        LaneWeek(int(r.week_index), r.lane, int(r.runs), float(r.spend_usd), int(r.reviewed), int(r.reworked))
        for r in conn.execute(query)
    ]


# --- percentiles ------------------------------------------------------------------------------


def _final_decision(column: Any) -> Any:
    """``column`` of the run's closing decision: one probe of the one-final-per-run unique index,
    cheaper than joining the whole decisions table for the few runs of a week that need it."""
    return (
        select(column).where(Decision.run_id == Run.id, Decision.final.is_(True)).limit(1).scalar_subquery()
    )


def _approved_rows(lanes: Sequence[str], start: datetime, end: datetime, dialect: str) -> Any:
    """(lane, route_kind, delay, edit) for the week's approved runs: request → draft in seconds, and
    the edit distance for those approved with edits (NULL otherwise). One pass over the week."""
    edit = case(
        (Run.status == "edited", cast(_final_decision(Decision.edit_distance), Integer)), else_=null()
    )
    delay = _seconds_to_draft(dialect).label("delay")
    return (
        select(Run.lane, _route_kind().label("route_kind"), delay, edit.label("edit"))
        .where(
            _in_week(lanes, start, end),
            _scanned(Run.status.in_(APPROVED_STATUSES)),
            Run.drafted_at.is_not(None),
        )
        .subquery("approved_rows")
    )


def week_percentiles(
    conn: Connection, start: datetime, end: datetime
) -> dict[Metric, dict[Key, tuple[float, ...]]]:
    """p50 and p90 of each metric per group; groups without values are absent."""
    rows = _approved_rows(store_lanes(conn), start, end, conn.dialect.name)
    if conn.dialect.name != "postgresql":
        return _sqlite_percentiles(conn, rows)
    result: dict[Metric, dict[Key, tuple[float, ...]]] = {"time_to_draft_s": {}, "edit_distance": {}}
    for row in conn.execute(_postgres_percentiles(rows)):
        key = (row.lane, row.route_kind)
        if row.delay_p50 is not None:  # the empty grouping set () yields a row even for no input
            result["time_to_draft_s"][key] = (float(row.delay_p50), float(row.delay_p90))
        if row.edit_p50 is not None:
            result["edit_distance"][key] = (float(row.edit_p50), float(row.edit_p90))
    return result


def _postgres_percentiles(rows: Any) -> Select[Any]:
    """``percentile_cont`` over GROUPING SETS: one pass for the three levels (rolled-up keys are NULL);
    ordered-set aggregates skip NULLs, so edit distances are taken over edited runs only."""
    lane, route = rows.c.lane, rows.c.route_kind
    columns = [
        func.percentile_cont(q).within_group(rows.c[name].asc()).label(f"{name}_p{round(q * 100)}")
        for name in ("delay", "edit")
        for q in QUANTILES
    ]
    return select(lane, route, *columns).group_by(
        func.grouping_sets(tuple_(lane, route), tuple_(lane), tuple_())
    )


def _sqlite_percentiles(conn: Connection, rows: Any) -> dict[Metric, dict[Key, tuple[float, ...]]]:
    """Percentiles from one read of the week's values, each group's values put in order once.

    SQLite has no ordered-set aggregates; its window functions cost ~10 µs a row, and an indexed
    TEMP copy of the values (one sort per level, then ``LIMIT 2 OFFSET k``) cost ~1 s for 100k
    values. So the values of the week's approved runs (numbers, not runs: no text, no ids) are
    read once in storage order, each route's list is sorted once, and a lane's and the overall
    lists are merged from already sorted lists; each percentile is then read at its rank and
    interpolated exactly as ``percentile_cont`` does.
    """
    by_route: dict[Metric, dict[Key, list[float]]] = {"time_to_draft_s": {}, "edit_distance": {}}
    values = select(rows.c.lane, rows.c.route_kind, rows.c.delay, rows.c.edit)
    for lane, route, delay, edit in conn.execute(values).all():
        if delay is not None:
            by_route["time_to_draft_s"].setdefault((lane, route), []).append(float(delay))
        if edit is not None:
            by_route["edit_distance"].setdefault((lane, route), []).append(float(edit))
    return {metric: _levels(groups) for metric, groups in by_route.items()}


def _levels(by_route: dict[Key, list[float]]) -> dict[Key, tuple[float, ...]]:
    """Quantiles per route, per lane and overall; each route's list is sorted here, in place."""
    routes_of_lane: dict[Key, list[list[float]]] = defaultdict(list)
    for (lane, _), values in by_route.items():
        values.sort()
        routes_of_lane[(lane, None)].append(values)
    levels: dict[Key, list[float]] = dict(by_route)
    for key, parts in routes_of_lane.items():
        levels[key] = sorted(chain.from_iterable(parts))  # Timsort merges the sorted runs
    if routes_of_lane:
        levels[(None, None)] = sorted(chain.from_iterable(levels[key] for key in routes_of_lane))
    return {key: tuple(_quantile(values, q) for q in QUANTILES) for key, values in levels.items()}


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Continuous quantile of non-empty ``ordered`` values: linear between the two nearest ranks."""
    position = q * (len(ordered) - 1)
    low = int(position)
    pair = ordered[low : low + 2]
    return pair[0] + (position - low) * (pair[-1] - pair[0])


# --- reasons ----------------------------------------------------------------------------------


def _reason_rows(lanes: Sequence[str], start: datetime, end: datetime) -> Any:
    """(source, lane, route_kind, reason) for every rejection, fallback and escalation of the week.

    The week is read once (a materialised CTE with one reason column per source), then unpivoted;
    three separate filters would each read it, and PostgreSQL would be tempted to serve
    ``status = 'rejected'`` from the status index across every week.
    """
    columns = {
        "rejection": (Run.status == "rejected", _final_decision(Decision.reason)),
        "fallback": (_is_fallback(), Run.fallback_reason),
        "escalation": (_is_escalation(), Run.escalation_reason),
    }
    week = (
        select(
            Run.lane,
            _route_kind().label("route_kind"),
            *[
                case((flag, func.coalesce(reason, UNSPECIFIED))).label(name)
                for name, (flag, reason) in columns.items()
            ],
        )
        .where(_in_week(lanes, start, end), or_(*[flag for flag, _ in columns.values()]))
        .cte("reason_week")
        .prefix_with("MATERIALIZED")
    )
    return union_all(
        *[
            select(
                literal(name).label("source"), week.c.lane, week.c.route_kind, week.c[name].label("reason")
            ).where(week.c[name].is_not(None))
            for name in columns
        ]
    ).subquery("reason_rows")


def week_top_reasons(
    conn: Connection, start: datetime, end: datetime, limit: int = 3
) -> dict[ReasonSource, dict[Key, tuple[tuple[str, int], ...]]]:
    """The ``limit`` most frequent reasons per source and group, most frequent first (ties by name)."""
    rows = _reason_rows(store_lanes(conn), start, end)
    group = [rows.c.source, rows.c.lane, rows.c.route_kind, rows.c.reason]
    counted = (
        select(*group, func.count().label("n")).group_by(*group).cte("counted").prefix_with("MATERIALIZED")
    )
    source, lane, route, reason, n = (
        counted.c[name] for name in ("source", "lane", "route_kind", "reason", "n")
    )
    levels = union_all(
        select(source, literal(0).label("level"), lane, route, reason, n),
        select(source, literal(1), lane, _no_key(), reason, func.sum(n)).group_by(source, lane, reason),
        select(source, literal(2), _no_key(), _no_key(), reason, func.sum(n)).group_by(source, reason),
    ).subquery("levels")
    partition = [levels.c.source, levels.c.level, levels.c.lane, levels.c.route_kind]
    rank = func.row_number().over(partition_by=partition, order_by=(levels.c.n.desc(), levels.c.reason.asc()))
    ranked = select(levels, rank.label("rk")).subquery("ranked")
    query = select(ranked).where(ranked.c.rk <= limit).order_by(ranked.c.rk)
    result: dict[ReasonSource, dict[Key, tuple[tuple[str, int], ...]]] = {
        "rejection": {},
        "fallback": {},
        "escalation": {},
    }
    for row in conn.execute(query):
        key = (row.lane, row.route_kind)
        result[row.source][key] = (*result[row.source].get(key, ()), (row.reason, int(row.n)))
    return result


@dataclass(frozen=True)
class DigestClaim:
    """Who claimed posting a digest week to a channel, and whether the post went out."""

    channel: str
    iso_week: str
    claimed_by: str
    claimed_at: datetime
    posted_at: datetime | None
    late: bool
    message_ts: str | None
