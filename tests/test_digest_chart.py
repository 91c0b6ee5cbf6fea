"""The digest chart: a real PNG of the expected size, drawn without pyplot or a display, that fits
where it is read (Slack's thread, about 600 px wide, and the playground).

Fit is asserted on the laid-out figure, not on pixels: both value axes start at 0, every drawn
point and bar lies inside its axes, the legend's box overlaps neither plot, and every label lies
inside the figure. Measured for no data, all-zero data, one week, eight weeks and many lanes.
"""

from __future__ import annotations

import itertools
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from bot.digest.chart import DPI, HEIGHT_IN, WIDTH_IN, chart_figure, chart_png
from bot.digest.report import WeekPoint

ROOT = Path(__file__).resolve().parent.parent
WEEKS = tuple(f"2026-W{n}" for n in range(40, 48))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (the first chunk of every PNG), checking its CRC."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert zlib.crc32(kind + body) == crc
    width, height = struct.unpack(">II", body[:8])
    return width, height


def history() -> list[WeekPoint]:
    points = []
    for index, week in enumerate(WEEKS):
        points.append(WeekPoint(week, "support", 2.0 + index, reviewed=10, reworked=index % 4))
        points.append(WeekPoint(week, "contract", 5.0, reviewed=4 if index % 2 else 0, reworked=1))
    return points


def test_chart_is_a_png_of_the_configured_size() -> None:
    data = chart_png(WEEKS, history(), title="Lanes, 8 weeks to 2026-W47")
    assert png_size(data) == (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))
    assert data.endswith(b"IEND\xaeB`\x82")
    assert len(data) > 20_000  # bars, lines, axes and labels; an empty canvas compresses to a few KB


def test_chart_without_runs_still_renders() -> None:
    data = chart_png(WEEKS, [], title="nothing yet")
    assert png_size(data) == (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))


def test_no_pyplot_and_no_import_time_cost() -> None:
    """Importing the digest loads no matplotlib; drawing uses the Agg canvas, never pyplot's global state."""
    script = (
        "import sys, bot.digest\n"
        "assert 'matplotlib' not in sys.modules\n"
        "from tests.test_digest_chart import WEEKS, history\n"
        "from bot.digest.chart import chart_png\n"
        "chart_png(WEEKS, history(), title='t')\n"
        "print('matplotlib.pyplot' in sys.modules, 'matplotlib.backends.backend_agg' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == ["False", "True"]


# --- fit: measured on the laid-out figure ---------------------------------------------------------

SLACK_THREAD_PX = 600


def zeros() -> list[WeekPoint]:
    return [
        WeekPoint(week, lane, 0.0, reviewed=0, reworked=0) for week in WEEKS for lane in ("code", "support")
    ]


def one_week() -> list[WeekPoint]:
    return [WeekPoint(WEEKS[-1], "support", 3.5, reviewed=2, reworked=2)]


def many_lanes() -> list[WeekPoint]:
    lanes = [f"lane-{n:02d}" for n in range(12)]
    return [
        WeekPoint(week, lane, 1.0 + (i * 7 + j) % 5, reviewed=5, reworked=(i + j) % 6)
        for i, week in enumerate(WEEKS)
        for j, lane in enumerate(lanes)
    ]


CASES = {
    "no runs": (WEEKS, []),
    "all zero": (WEEKS, zeros()),
    "one week": (WEEKS[-1:], one_week()),
    "eight weeks": (WEEKS, history()),
    "many lanes": (WEEKS, many_lanes()),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def figure(request: pytest.FixtureRequest) -> Any:
    weeks, points = CASES[request.param]
    return chart_figure(weeks, points, title=f"Lanes, 8 weeks to {weeks[-1]}")


def boxes_overlap(a: Any, b: Any) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_value_axes_start_at_zero_and_show_a_range(figure: Any) -> None:
    spend, rework = figure.axes
    assert spend.get_ylim()[0] == 0 and spend.get_ylim()[1] > 0
    assert rework.get_ylim() == (0, 100)


def test_every_point_and_bar_lies_inside_its_axes(figure: Any) -> None:
    renderer = figure.canvas.get_renderer()
    for axes in figure.axes:
        frame = axes.get_window_extent(renderer)
        for line in axes.get_lines():
            for x, y in line.get_xydata():
                if y != y:  # NaN: a week without reviews is a gap, not a point
                    continue
                px, py = axes.transData.transform((x, y))
                assert frame.x0 <= px <= frame.x1 and frame.y0 - 0.5 <= py <= frame.y1 + 0.5, (x, y)
        for bar in axes.patches:
            box = bar.get_window_extent(renderer)
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and box.y1 <= frame.y1 + 0.5


def test_the_legend_overlaps_no_plot(figure: Any) -> None:
    renderer = figure.canvas.get_renderer()
    if not figure.legends:
        return  # no lanes, no legend: the plot says so in words
    legend = figure.legends[0].get_window_extent(renderer)
    for axes in figure.axes:
        assert not boxes_overlap(legend, axes.get_window_extent(renderer))
        for label in axes.get_xticklabels():
            assert not boxes_overlap(legend, label.get_window_extent(renderer))
    assert not boxes_overlap(legend, figure._suptitle.get_window_extent(renderer))


def test_nothing_is_clipped_by_the_figure_edge(figure: Any) -> None:
    renderer = figure.canvas.get_renderer()
    edge = figure.bbox
    drawn = figure.get_tightbbox(renderer).transformed(figure.dpi_scale_trans)
    assert drawn.x0 >= -0.5 and drawn.y0 >= -0.5
    assert drawn.x1 <= edge.x1 + 0.5 and drawn.y1 <= edge.y1 + 0.5
    for axes in figure.axes:
        for label in drawn_tick_labels(axes):
            box = label.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= edge.x1 and box.y0 >= 0 and box.y1 <= edge.y1, label


def drawn_tick_labels(axes: Any) -> list[Any]:
    """Tick labels matplotlib draws: visible, non-empty, and at a tick inside the view limits."""
    drawn = []
    for axis, (low, high) in ((axes.xaxis, axes.get_xlim()), (axes.yaxis, axes.get_ylim())):
        drawn += [
            tick.label1
            for tick in axis.get_major_ticks()
            if tick.label1.get_visible() and tick.label1.get_text() and low <= tick.get_loc() <= high
        ]
    return drawn


def test_tick_labels_do_not_collide_at_slack_thread_width(figure: Any) -> None:
    """Shown 600 px wide, text must stay legible (≥ 8 px) and week labels must not run together."""
    renderer = figure.canvas.get_renderer()
    scale = SLACK_THREAD_PX / figure.bbox.width
    _, rework = figure.axes
    labels = [t.get_window_extent(renderer) for t in rework.get_xticklabels() if t.get_text()]
    for left, right in itertools.pairwise(labels):
        assert left.x1 < right.x0
    heights = [box.height * scale for box in labels]
    assert heights and min(heights) >= 8
