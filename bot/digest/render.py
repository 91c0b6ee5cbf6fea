"""The digest as terminal text, as a JSON document and as Slack Block Kit: three pure builders.

All three show the same figures from the same ``Digest``; the text and the blocks share the line
builders below so a number cannot read differently in Slack and in ``lanebot digest``. Missing
values (no reviews, no drafts) print as "–", never as 0, because "no data" and "zero" are
different answers for a manager.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.digest import wording
from bot.digest.report import Digest, LaneDigest, ReasonCount, RouteShare, Stats
from storage.digest_queries import Counters

DASH = "–"
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
HEADER_CHARS = 150


# --- formatting -------------------------------------------------------------------------------


def money(value: float | None) -> str:
    return DASH if value is None else f"${value:,.2f}"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def points(change: float | None) -> str:
    return DASH if change is None else f"{change:+.0f} pp"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def reasons(items: tuple[ReasonCount, ...]) -> str:
    return ", ".join(f"{item.reason} ×{item.count}" for item in items)


def week_span(digest: Digest) -> str:
    """The local dates the week covers, e.g. "Mon 16 Nov – Sun 22 Nov 2026 (Europe/Berlin)"."""
    zone = ZoneInfo(digest.timezone)
    first = digest.start.astimezone(zone).date()
    last = (digest.end.astimezone(zone) - timedelta(seconds=1)).date()
    return f"{first:%a %d %b} – {last:%a %d %b %Y} ({digest.timezone})"


def _with_reasons(label: str, value: str, items: tuple[ReasonCount, ...]) -> str:
    return f"{label} {value}" + (f" ({reasons(items)})" if items else "")


def stats_lines(stats: Stats, budget: str = "") -> list[str]:
    """The figures of one group as four short lines (shared by text and Slack)."""
    c = stats.counters
    unknown = (
        f" · {plural(c.unknown_cost_runs, 'run')} at unknown price, not in spend"
        if c.unknown_cost_runs
        else ""
    )
    median = DASH if stats.edit_distance_median is None else f"{stats.edit_distance_median:g}"
    return [
        f"{plural(c.runs, 'run')} · spend {money(c.spend_usd)}{budget} · "
        f"{money(stats.cost_per_approved_usd)} per approved task{unknown}",
        f"first-pass approval {pct(stats.first_pass_rate)} · edits {pct(stats.edit_rate)} "
        f"(median edit distance {median}) · "
        + _with_reasons("rejections", pct(stats.rejection_rate), stats.top_rejections),
        _with_reasons("fallback", pct(stats.fallback_rate), stats.top_fallbacks)
        + " · "
        + _with_reasons("escalation", pct(stats.escalation_rate), stats.top_escalations),
        f"time to usable draft p50 {duration(stats.time_to_draft_p50_s)} · "
        f"p90 {duration(stats.time_to_draft_p90_s)} · pending at week end {c.pending} · expired {c.expired}",
    ]


def lane_budget(lane: LaneDigest) -> str:
    if lane.budget_usd is None:
        return ""
    return f" of {money(lane.budget_usd)} budget ({pct(lane.budget_used)})"


_COLUMNS: tuple[tuple[str, int], ...] = (
    ("route", -11), ("runs", 6), ("share", 7), ("Δ week", 8), ("spend", 10), ("$/appr.", 9), ("1st", 6),
    ("edit", 6), ("rej.", 6), ("p50", 9), ("p90", 9), ("pend.", 6), ("exp.", 5),
)  # fmt: skip


def _row(cells: list[str]) -> str:
    return "".join(
        cell.ljust(-width) if width < 0 else cell.rjust(width)
        for cell, (_, width) in zip(cells, _COLUMNS, strict=True)
    )


def _route_cells(share: RouteShare, stats: Stats) -> list[str]:
    c = stats.counters
    return [
        share.route, str(share.runs), pct(share.share), points(share.change_pp), money(c.spend_usd),
        money(stats.cost_per_approved_usd), pct(stats.first_pass_rate), pct(stats.edit_rate),
        pct(stats.rejection_rate), duration(stats.time_to_draft_p50_s), duration(stats.time_to_draft_p90_s),
        str(c.pending), str(c.expired),
    ]  # fmt: skip


def route_table(lane: LaneDigest) -> str:
    """A fixed-width table of the lane's routes, with each route's share and its change since last week.

    A route used last week but not this one still gets a row (0 runs), so its drop is visible.
    """
    stats = {route.route: route.stats for route in lane.routes}
    lines = [_row([name for name, _ in _COLUMNS])]
    for share in lane.distribution:
        lines.append(_row(_route_cells(share, stats.get(share.route, Stats(Counters())))))
    return "\n".join(lines)


def _title(digest: Digest) -> str:
    return f"Weekly AI lanes digest · {digest.week}" + (" (late)" if digest.late else "")


def _late_note(digest: Digest) -> str:
    return "Posted late: the bot was not running at the scheduled time." if digest.late else ""


# --- terminal text ----------------------------------------------------------------------------


def _lane_text(lane: LaneDigest) -> list[str]:
    """The lane's figures, its route table, then every route's own figures (the terminal has room)."""
    out = [f"  {line}" for line in stats_lines(lane.stats, lane_budget(lane))]
    if lane.distribution:
        out += ["", *[f"  {line}" for line in route_table(lane).splitlines()]]
    for route in lane.routes:
        out += [f"  {route.route}:", *[f"    {line}" for line in stats_lines(route.stats)]]
    return out


def render_text(digest: Digest) -> str:
    """The digest for a terminal (``lanebot digest``): plain text, no colour codes."""
    out = [_title(digest), week_span(digest)]
    if digest.late:
        out.append(_late_note(digest))
    out += ["", *[f"• {line}" for line in digest.headlines]]
    out += [f"! {alert.describe(digest.premium_label)}" for alert in digest.alerts]
    out += ["", "All lanes", *[f"  {line}" for line in stats_lines(digest.total)]]
    for lane in digest.lanes:
        if not idle(lane):
            out += ["", lane.lane, *_lane_text(lane)]
    if quiet := idle_lanes(digest):
        out += ["", quiet]
    if digest.models:
        out += ["", "Rework by model"]
        out += [
            f"  {m.model}: {pct(m.rework_rate)} ({m.reworked} of {m.reviewed} reviewed, {m.runs} runs)"
            for m in digest.models
        ]
    return "\n".join(out) + "\n"


# --- JSON -------------------------------------------------------------------------------------


def stats_json(stats: Stats) -> dict[str, Any]:
    counters = {f.name: getattr(stats.counters, f.name) for f in fields(stats.counters)}
    return {
        **counters,
        "reviewed": stats.reviewed,
        "first_pass_rate": stats.first_pass_rate,
        "edit_rate": stats.edit_rate,
        "rejection_rate": stats.rejection_rate,
        "rework_rate": stats.rework_rate,
        "fallback_rate": stats.fallback_rate,
        "escalation_rate": stats.escalation_rate,
        "cost_per_approved_usd": stats.cost_per_approved_usd,
        "edit_distance_median": stats.edit_distance_median,
        "time_to_draft_p50_s": stats.time_to_draft_p50_s,
        "time_to_draft_p90_s": stats.time_to_draft_p90_s,
        "top_rejections": [vars(r) for r in stats.top_rejections],
        "top_fallbacks": [vars(r) for r in stats.top_fallbacks],
        "top_escalations": [vars(r) for r in stats.top_escalations],
    }


def _lane_json(lane: LaneDigest) -> dict[str, Any]:
    return {
        "lane": lane.lane,
        "budget_usd": lane.budget_usd,
        "budget_used": lane.budget_used,
        **stats_json(lane.stats),
        "previous_week": {"runs": lane.previous.runs, "spend_usd": lane.previous.spend_usd},
        "routes": [{"route": r.route, **stats_json(r.stats)} for r in lane.routes],
        "distribution": [
            {
                "route": s.route,
                "runs": s.runs,
                "share": s.share,
                "previous_share": s.previous_share,
                "change_pp": s.change_pp,
            }
            for s in lane.distribution
        ],
    }


def render_json(digest: Digest) -> dict[str, Any]:
    """A JSON-serialisable dict; rates are fractions (0.25 = 25%), money in USD, times in seconds."""
    lanes_in_history = sorted({point.lane for point in digest.history})
    return {
        "week": digest.week,
        "timezone": digest.timezone,
        "start": digest.start.isoformat(),
        "end": digest.end.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "late": digest.late,
        "headlines": list(digest.headlines),
        "alerts": [
            {
                "lane": a.lane,
                "kind": a.kind,
                "previous_share": a.previous_share,
                "share": a.share,
                "change_pp": a.change_pp,
                "threshold_pp": a.threshold_pp,
                "text": a.describe(digest.premium_label),
            }
            for a in digest.alerts
        ],
        "total": stats_json(digest.total),
        "lanes": [_lane_json(lane) for lane in digest.lanes],
        "models": [
            {
                "model": m.model,
                "runs": m.runs,
                "reviewed": m.reviewed,
                "reworked": m.reworked,
                "rework_rate": m.rework_rate,
            }
            for m in digest.models
        ],
        "history": {
            "weeks": list(digest.history_weeks),
            "lanes": {
                lane: [
                    {"week": p.week, "spend_usd": p.spend_usd, "rework_rate": p.rework_rate}
                    for p in digest.history
                    if p.lane == lane
                ]
                for lane in lanes_in_history
            },
        },
    }


# --- Slack Block Kit --------------------------------------------------------------------------


def _clip(text: str, limit: int = MAX_SECTION_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text)}]}


def route_summary(lane: LaneDigest) -> str:
    """The lane's routes as one short line each: the full table is ~100 characters wide, which
    Slack wraps (or the playground cuts) at thread width, so it goes into the thread as a file."""
    stats = {route.route: route.stats for route in lane.routes}
    return "\n".join(
        wording.route_summary_line(
            share.route,
            share.runs,
            pct(share.share),
            points(share.change_pp),
            money(stats.get(share.route, Stats(Counters())).counters.spend_usd),
        )
        for share in lane.distribution
    )


def render_tables(digest: Digest) -> str:
    """Every active lane's full route table as plain text (the file attached in the thread); empty
    when no lane has routes to show."""
    out = [
        f"{lane.lane}\n{route_table(lane)}\n" for lane in digest.lanes if lane.distribution and not idle(lane)
    ]
    return f"{_title(digest)}\n{week_span(digest)}\n\n" + "\n".join(out) if out else ""


def _lane_blocks(lane: LaneDigest) -> list[dict[str, Any]]:
    summary = "\n".join(stats_lines(lane.stats, lane_budget(lane)))
    blocks = [_section(f"*{lane.lane}*\n{summary}")]
    if lane.distribution:
        blocks.append(_section(route_summary(lane)))
    return blocks


def render_blocks(digest: Digest) -> list[dict[str, Any]]:
    """Block Kit for ``chat.postMessage``; stays within Slack's 50 blocks and 3,000 characters a section."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(_title(digest), HEADER_CHARS)}},
        _context(" · ".join(part for part in (week_span(digest), _late_note(digest)) if part)),
        _section("\n".join(f"• {line}" for line in digest.headlines)),
    ]
    if digest.alerts:
        blocks.append(
            _section("\n".join(f":warning: {a.describe(digest.premium_label)}" for a in digest.alerts))
        )
    blocks += [_section("*All lanes*\n" + "\n".join(stats_lines(digest.total))), {"type": "divider"}]
    active = [lane for lane in digest.lanes if not idle(lane)]
    tables = sum(1 for lane in active if lane.distribution)
    footer = _context(
        "Rates are shares of reviewed drafts; spend counts known prices only. Chart in the thread."
        + (f" {wording.tables_in_thread(tables)}" if tables else "")
    )
    for index, lane in enumerate(active):
        lane_blocks = _lane_blocks(lane)
        if len(blocks) + len(lane_blocks) + 3 > MAX_BLOCKS:
            rest = len(active) - index
            blocks.append(
                _context(f"{rest} more lanes: run `lanebot digest --week {digest.week}` for all of them.")
            )
            break
        blocks += lane_blocks
    if quiet := idle_lanes(digest):
        blocks.append(_context(quiet))
    blocks.append(footer)
    return blocks


def idle(lane: LaneDigest) -> bool:
    """No runs this week nor the week before: one line for all such lanes is enough."""
    return not lane.stats.counters.runs and not lane.previous.runs


def idle_lanes(digest: Digest) -> str:
    names = [lane.lane for lane in digest.lanes if idle(lane)]
    return f"No runs this week or last: {', '.join(names)}." if names else ""


def render_summary(digest: Digest) -> str:
    """Plain text for the message's ``text`` (notifications and screen readers)."""
    return f"{_title(digest)}: " + " ".join(digest.headlines)
