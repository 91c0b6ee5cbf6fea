"""The digest chart is a real PNG of the expected size, drawn without pyplot or a display."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from bot.digest.chart import DPI, HEIGHT_IN, WIDTH_IN, chart_png
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
