"""The digest's chart: spend per lane per week (stacked bars) and rework rate per lane (lines).

Drawn with matplotlib's object API on an explicit Agg canvas: no ``pyplot``, so no global figure
registry, no backend switch for the whole process and no display needed. matplotlib is imported
when a chart is drawn, not when the bot starts.

Where it is read decides its shape. Slack shows an image in a thread about 600 px wide, so the
figure is 6 × 4.5 inches at 200 dpi: shown at half size, its 9-point text reads like 9-point
text on a 100-dpi screen (about 12 px high). The legend sits below both plots, outside them, in
as many rows as the lanes need, so it can never cover a bar or a point; past ten lanes the
colours come from a twenty-colour map so no two lanes share one. Both value axes start at 0
(spend and rates are never negative; matplotlib pads an all-zero series below 0 unless told),
and markers are not clipped at the axes' edge, so a 0 % or 100 % week shows as a whole point.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.digest import wording
from bot.digest.report import Digest, WeekPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 6.0, 4.5, 200
FONT_PT = 9.0
LEGEND_COLUMNS = 4
SPEND_HEADROOM = 1.15
"""The spend axis ends 15 % above the tallest stack, so the top bar never touches the frame."""


def render_chart(digest: Digest) -> bytes:
    """PNG bytes of the last weeks of spend and rework, one colour per lane."""
    return chart_png(digest.history_weeks, digest.history, title=wording.title(digest.week))


def chart_png(weeks: Sequence[str], points: Sequence[WeekPoint], *, title: str) -> bytes:
    buffer = io.BytesIO()
    chart_figure(weeks, points, title=title).savefig(buffer, format="png")
    return buffer.getvalue()


def chart_figure(weeks: Sequence[str], points: Sequence[WeekPoint], *, title: str) -> Figure:
    """The drawn figure (tests measure its axes and legend instead of its pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    spend_axes, rework_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    lanes = sorted({point.lane for point in points})
    x = list(range(len(weeks)))
    top = _draw_lanes(spend_axes, rework_axes, weeks, points, lanes)
    _style(spend_axes, rework_axes, weeks, top)
    figure.suptitle(title, fontsize=FONT_PT + 1)
    if lanes:
        columns = min(len(lanes), LEGEND_COLUMNS)
        figure.legend(loc="outside lower center", ncols=columns, fontsize=FONT_PT, frameon=False)
    if top == 0:
        empty = wording.NO_RUNS if not lanes else wording.NO_SPEND
        spend_axes.text(0.5, 0.5, empty, ha="center", va="center", transform=spend_axes.transAxes)
    spend_axes.set_xlim(-0.5, max(x, default=0) + 0.5)
    figure.canvas.draw()  # lay out now, so callers measure what the PNG shows
    return figure


def _draw_lanes(
    spend_axes: Axes, rework_axes: Axes, weeks: Sequence[str], points: Sequence[WeekPoint], lanes: list[str]
) -> float:
    """Stacked spend bars and rework lines, one colour per lane; returns the tallest stack."""
    by_key = {(p.week, p.lane): p for p in points}
    x = list(range(len(weeks)))
    bottom = [0.0] * len(weeks)
    for index, lane in enumerate(lanes):
        colour = _colour(index, len(lanes))
        found = [by_key.get((week, lane)) for week in weeks]
        spend = [max(0.0, p.spend_usd) if p else 0.0 for p in found]
        spend_axes.bar(x, spend, bottom=bottom, label=lane, color=colour, width=0.7)
        bottom = [b + s for b, s in zip(bottom, spend, strict=True)]
        rework = [_rate(p) for p in found]
        rework_axes.plot(x, rework, marker="o", markersize=4, color=colour, clip_on=False)
    return max(bottom, default=0.0)


def _style(spend_axes: Axes, rework_axes: Axes, weeks: Sequence[str], top: float) -> None:
    spend_axes.set_ylim(0, top * SPEND_HEADROOM if top > 0 else 1.0)
    spend_axes.set_ylabel(wording.SPEND_AXIS, fontsize=FONT_PT)
    cents = top * SPEND_HEADROOM < 10
    spend_axes.yaxis.set_major_formatter(lambda value, _: wording.dollars(value, cents=cents))
    rework_axes.set_ylim(0, 100)
    rework_axes.set_ylabel(wording.REWORK_AXIS, fontsize=FONT_PT)
    rework_axes.set_xticks(range(len(weeks)), [wording.week_tick(week) for week in weeks])
    for axes in (spend_axes, rework_axes):
        axes.tick_params(labelsize=FONT_PT)
        axes.grid(axis="y", linewidth=0.4, alpha=0.5)
        axes.set_axisbelow(True)
        axes.spines[["top", "right"]].set_visible(False)


def _colour(index: int, lanes: int) -> str:
    if lanes <= 10:
        return f"C{index}"
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    return to_hex(colormaps["tab20"](index % 20))


def _rate(point: WeekPoint | None) -> float:
    """Rework in percent; a week without reviews is a gap (NaN), not a 0% week."""
    rate = None if point is None else point.rework_rate
    return math.nan if rate is None else rate * 100
