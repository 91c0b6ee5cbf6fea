"""ISO weeks seen from the digest's timezone: edges, DST weeks, year ends and the posting slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.digest.weeks import (
    IsoWeek,
    last_completed_week,
    latest_slot,
    parse_iso_week,
    week_boundaries,
    week_for_slot,
    week_of,
    week_range,
)

BERLIN = "Europe/Berlin"


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(BERLIN))


def test_parse_iso_week() -> None:
    assert parse_iso_week("2026-W47") == IsoWeek(2026, 47)
    assert parse_iso_week(" 2026-W01 ").label == "2026-W01"
    assert parse_iso_week("2026-W53") == IsoWeek(2026, 53)  # 2026 has 53 ISO weeks (it starts on a Thursday)


@pytest.mark.parametrize(
    ("text", "fix"), [("2026-47", "2026-W47"), ("2025-W53", "W52 or W53"), ("W47", "2026-W47")]
)
def test_bad_weeks_name_the_fix(text: str, fix: str) -> None:
    with pytest.raises(ValueError, match=fix):
        parse_iso_week(text)


def test_sunday_2359_local_belongs_to_that_week() -> None:
    sunday_late = berlin(2026, 11, 22, 23, 59)
    assert week_of(sunday_late, BERLIN).label == "2026-W47"
    # In UTC it is 22:59 on the same Sunday, but one minute later Berlin is in W48 while UTC is still Sunday.
    monday = berlin(2026, 11, 23, 0, 0, 30)
    assert monday.astimezone(UTC).weekday() == 6
    assert week_of(monday, BERLIN).label == "2026-W48"
    assert week_of(monday, "UTC").label == "2026-W47"
    bounds = week_range(IsoWeek(2026, 47), BERLIN)
    assert bounds.start <= sunday_late < bounds.end <= monday


def test_week_range_is_local_midnight_in_utc() -> None:
    bounds = week_range(IsoWeek(2026, 47), BERLIN)
    assert bounds.start == datetime(2026, 11, 15, 23, tzinfo=UTC)
    assert bounds.end == datetime(2026, 11, 22, 23, tzinfo=UTC)


def test_dst_weeks_are_167_and_169_hours() -> None:
    spring = week_range(IsoWeek(2026, 13), BERLIN)  # clocks go forward on Sunday 29 March 2026
    assert spring.start == datetime(2026, 3, 22, 23, tzinfo=UTC)  # CET
    assert spring.end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # CEST
    assert spring.end - spring.start == timedelta(hours=167)
    autumn = week_range(IsoWeek(2026, 43), BERLIN)  # clocks go back on Sunday 25 October 2026
    assert autumn.end - autumn.start == timedelta(hours=169)
    # Sunday 23:59 after the spring change (CEST, 21:59 UTC) is still in W13.
    assert week_of(berlin(2026, 3, 29, 23, 59), BERLIN).label == "2026-W13"


def test_boundaries_chain_without_gaps() -> None:
    edges = week_boundaries(IsoWeek(2026, 47), 8, BERLIN)
    assert len(edges) == 9
    assert edges[0] == week_range(IsoWeek(2026, 40), BERLIN).start
    assert edges[-1] == week_range(IsoWeek(2026, 47), BERLIN).end
    for older, newer in pairwise(edges):
        assert newer - older in (timedelta(hours=167), timedelta(hours=168), timedelta(hours=169))


def test_year_boundary() -> None:
    # 1 Jan 2027 is a Friday: it belongs to 2026-W53.
    assert week_of(berlin(2027, 1, 1, 12), BERLIN).label == "2026-W53"
    assert IsoWeek(2026, 53).shift(1).label == "2027-W01"
    assert IsoWeek(2027, 1).previous().label == "2026-W53"


def test_last_completed_week() -> None:
    assert last_completed_week(berlin(2026, 11, 23, 0, 30), BERLIN).label == "2026-W47"
    assert last_completed_week(berlin(2026, 11, 22, 23, 59), BERLIN).label == "2026-W46"


def test_latest_slot_and_the_week_it_reports() -> None:
    slot = latest_slot(berlin(2026, 11, 25, 14, 0), "mon 09:00", BERLIN)
    assert slot == berlin(2026, 11, 23, 9, 0).astimezone(UTC)
    assert week_for_slot(slot, BERLIN).label == "2026-W47"
    # One second before Monday's slot, the latest slot is the previous Monday's.
    before = latest_slot(berlin(2026, 11, 23, 8, 59, 59), "mon 09:00", BERLIN)
    assert before == berlin(2026, 11, 16, 9, 0).astimezone(UTC)
    assert latest_slot(berlin(2026, 11, 23, 9, 0), "mon 09:00", BERLIN) == berlin(2026, 11, 23, 9).astimezone(
        UTC
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        week_of(datetime(2026, 11, 22, 23, 59), BERLIN)
