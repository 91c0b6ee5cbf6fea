"""The digest's words outside its Block Kit sections: chart labels, attached files, table summaries.

Why a catalog: the same titles appear in Slack (the chart and table files in the digest's thread)
and in the playground, and wording is product, reviewed in one place (as ``bot.slack.messages`` is
for the app's sentences). Pure functions of plain values; nothing here imports matplotlib.
"""

from __future__ import annotations

SPEND_AXIS = "spend (USD)"
REWORK_AXIS = "rework (%)"
NO_RUNS = "no runs in these weeks"
NO_SPEND = "no spend recorded in these weeks"
CHART_ALT = "Stacked bars of weekly spend per lane and lines of weekly rework rate per lane"


def title(week: str, weeks: int = 8) -> str:
    return f"Lanes, {weeks} weeks to {week}"


def week_tick(week: str) -> str:
    """ "2026-W47" → "W47": eight full labels do not fit under a chart 600 px wide."""
    return week.rpartition("-")[2] or week


def dollars(value: float, *, cents: bool) -> str:
    """Spend axis ticks: cents while the axis is small, whole dollars once it is not (never both)."""
    return f"${value:,.2f}" if cents else f"${value:,.0f}"


def chart_file_title(week: str) -> str:
    return f"Spend and rework per lane, 8 weeks to {week}"


def chart_filename(week: str) -> str:
    return f"lanebot-digest-{week}.png"


def tables_filename(week: str) -> str:
    return f"lanebot-digest-{week}-routes.txt"


def tables_file_title(week: str) -> str:
    return f"Route tables, {week} (every column)"


def tables_in_thread(lanes: int) -> str:
    noun = "lane" if lanes == 1 else "lanes"
    return f"Full route tables for {lanes} {noun} are attached in the thread as a text file."


def route_summary_line(route: str, runs: int, share: str, change: str, spend: str) -> str:
    """One route in a lane's summary, short enough to stay on one line at thread width."""
    noun = "run" if runs == 1 else "runs"
    return f"`{route}` {runs} {noun} · {share} ({change}) · {spend}"
