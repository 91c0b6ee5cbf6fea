"""ISO weeks in the digest's timezone, and the UTC ranges the SQL filters on.

A run belongs to the ISO week in which its request arrived, *in the digest's timezone*: a request
at Monday 00:30 in Berlin is Sunday 23:30 UTC, yet the Berlin team counts it in the new week.
Converting the local week edges (Monday 00:00 local) to UTC once, here, lets every query filter
``created_at`` with plain ``>= start AND < end`` on the indexed column. A week that contains a DST
change is 167 or 169 hours long.

The digest for week W is posted in the slot of week W+1 (``cron = "mon 09:00"``): a slot always
reports the last week completed before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week such as 2026-W47 (Monday to Sunday; week 1 holds the year's first Thursday)."""

    year: int
    week: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shift(self, weeks: int) -> IsoWeek:
        return week_of_date(self.monday + timedelta(weeks=weeks))

    def previous(self) -> IsoWeek:
        return self.shift(-1)


@dataclass(frozen=True)
class WeekRange:
    """The UTC instants ``[start, end)`` of a local ISO week."""

    week: IsoWeek
    start: datetime
    end: datetime


def parse_iso_week(text: str) -> IsoWeek:
    """Parse "2026-W47"; the error says what a valid value looks like."""
    match = _ISO_WEEK.match(text.strip())
    if not match:
        raise ValueError(f"week {text!r} is not an ISO week; write it like 2026-W47")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}; weeks run from W01 to W52 or W53") from None
    return IsoWeek(year, week)


def week_of_date(day: date) -> IsoWeek:
    iso = day.isocalendar()
    return IsoWeek(iso.year, iso.week)


def week_of(instant: datetime, tz: str) -> IsoWeek:
    """The ISO week an aware instant falls in, seen from ``tz``."""
    return week_of_date(_aware(instant).astimezone(ZoneInfo(tz)).date())


def local_midnight(day: date, tz: str) -> datetime:
    """Midnight starting ``day`` in ``tz``, as UTC (zoneinfo resolves DST; midnight is never skipped in
    Europe, and where it is, fold=0 picks the earlier offset)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def week_range(week: IsoWeek, tz: str) -> WeekRange:
    return WeekRange(
        week, local_midnight(week.monday, tz), local_midnight(week.monday + timedelta(days=7), tz)
    )


def week_boundaries(last: IsoWeek, count: int, tz: str) -> tuple[datetime, ...]:
    """``count + 1`` UTC edges of the ``count`` weeks ending with ``last`` (oldest first)."""
    first = last.shift(-(count - 1))
    return tuple(local_midnight(first.monday + timedelta(weeks=i), tz) for i in range(count + 1))


def last_completed_week(now: datetime, tz: str) -> IsoWeek:
    """The week before the one ``now`` is in: the newest week whose every request is in."""
    return week_of(now, tz).previous()


def parse_slot(cron: str) -> tuple[int, time]:
    """``"mon 09:00"`` → (0, 09:00); the config validated the shape already."""
    day, clock = cron.strip().lower().split()
    hour, minute = clock.split(":")
    return WEEKDAYS.index(day), time(int(hour), int(minute))


def latest_slot(now: datetime, cron: str, tz: str) -> datetime:
    """The most recent digest slot at or before ``now``, as an aware UTC instant."""
    weekday, at = parse_slot(cron)
    zone = ZoneInfo(tz)
    local_now = _aware(now).astimezone(zone)
    day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    slot = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
    if slot > now:
        slot = datetime.combine(day - timedelta(days=7), at, tzinfo=zone).astimezone(UTC)
    return slot


def week_for_slot(slot: datetime, tz: str) -> IsoWeek:
    """The week a slot reports: the last one completed before the slot."""
    return last_completed_week(slot, tz)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(
            "naive datetime given to the digest; pass an aware datetime (e.g. datetime.now(UTC))"
        )
    return instant
