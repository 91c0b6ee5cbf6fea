"""The digest's chart: spend per lane per week (stacked bars) and rework rate per lane (lines).

Drawn with matplotlib's object API on an explicit Agg canvas: no ``pyplot``, so no global figure
registry, no backend switch for the whole process and no display needed. matplotlib is imported
when a chart is drawn, not when the bot starts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.digest.report import Digest, WeekPoint

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100


def render_chart(digest: Digest) -> bytes:
    """PNG bytes of the last weeks of spend and rework, one colour per lane."""
    return chart_png(digest.history_weeks, digest.history, title=f"Lanes, 8 weeks to {digest.week}")


def chart_png(weeks: Sequence[str], points: Sequence[WeekPoint], *, title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    spend_axes, rework_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    lanes = sorted({point.lane for point in points})
    x = list(range(len(weeks)))
    bottom = [0.0] * len(weeks)
    for index, lane in enumerate(lanes):
        colour = f"C{index % 10}"
        spend = [_point(points, week, lane).spend_usd for week in weeks]
        spend_axes.bar(x, spend, bottom=bottom, label=lane, color=colour)
        bottom = [b + s for b, s in zip(bottom, spend, strict=True)]
        rework = [_rate(_point(points, week, lane)) for week in weeks]
        rework_axes.plot(x, rework, marker="o", label=lane, color=colour)
    spend_axes.set_title(title)
    spend_axes.set_ylabel("spend (USD)")
    rework_axes.set_ylabel("rework rate (%)")
    rework_axes.set_ylim(0, 100)
    rework_axes.set_xticks(x, list(weeks), rotation=0)
    if lanes:
        spend_axes.legend(loc="upper left", fontsize="small")
    else:
        spend_axes.text(
            0.5, 0.5, "no runs in these weeks", ha="center", va="center", transform=spend_axes.transAxes
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _point(points: Sequence[WeekPoint], week: str, lane: str) -> WeekPoint:
    found = next((p for p in points if p.week == week and p.lane == lane), None)
    return found or WeekPoint(week=week, lane=lane, spend_usd=0.0, reviewed=0, reworked=0)


def _rate(point: WeekPoint) -> float:
    """Rework in percent; a week without reviews is a gap (NaN), not a 0% week."""
    rate = point.rework_rate
    return float("nan") if rate is None else rate * 100
