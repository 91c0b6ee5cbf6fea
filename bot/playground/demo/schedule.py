"""When the demo team made its requests: eight ISO weeks, ending with the week in progress.

Each week has a few more runs than the one before (a team adopting lanebot), on working days
and office hours in the digest's time zone, so the weekly digest and its eight-week chart have a
trend to show. The week in progress only gets runs before ``now``: its planned times are scaled
into the part of the week that has passed. Lanes, texts, requesters and faults are drawn from a
seeded ``random.Random``, so the same ``now`` always gives the same plan.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.weeks import week_of, week_range
from bot.playground.demo.catalogue import DEFAULT_REQUESTERS, REQUESTERS, SUPPORT, TEXTS
from bot.playground.demo.scripted_faults import Fault, FaultKind
from lanes.config import LaneConfig

WEEKS = 8
FIRST_WEEK_RUNS = 28
GROWTH_PER_WEEK = 3
LANE_WEIGHTS = {"support": 6, "code": 3, "contract": 2}
FAULT_ODDS: tuple[tuple[FaultKind, float], ...] = (("timeout", 0.09), ("bad_draft", 0.06), ("refusal", 0.015))
SEED = 1207
MARGIN = timedelta(minutes=15)
"""The newest run is at least this long before ``now`` (or half the week so far, if less)."""


@dataclass(frozen=True)
class PlannedRun:
    index: int
    lane: str
    text: str
    requester: str
    at: datetime
    fault: Fault | None


def plan_runs(lanes: dict[str, LaneConfig], now: datetime, tz: str) -> tuple[PlannedRun, ...]:
    """Every demo run, oldest first."""
    rng = random.Random(SEED)
    names = sorted(lanes)
    weights = [LANE_WEIGHTS.get(name, 1) for name in names]
    current = week_of(now, tz)
    times: list[datetime] = []
    for offset in range(WEEKS):
        week = week_range(current.shift(offset - (WEEKS - 1)), tz)
        count = FIRST_WEEK_RUNS + GROWTH_PER_WEEK * offset
        times += sorted(_time_in(week.start, week.end, now, tz, rng) for _ in range(count))
    runs = []
    for index, at in enumerate(times):
        lane = lanes[rng.choices(names, weights)[0]]
        text = rng.choice(TEXTS.get(lane.name, SUPPORT))
        requester = rng.choice(REQUESTERS.get(lane.name, DEFAULT_REQUESTERS))
        runs.append(PlannedRun(index, lane.name, text, requester, at, _fault(lane, rng)))
    return tuple(runs)


def _time_in(start: datetime, end: datetime, now: datetime, tz: str, rng: random.Random) -> datetime:
    """A working-day office-hours instant of the week ``[start, end)``, scaled before ``now``."""
    local_monday = start.astimezone(ZoneInfo(tz))
    day, hour, minute = rng.randrange(5), rng.randrange(8, 18), rng.randrange(60)
    local = (local_monday + timedelta(days=day)).replace(hour=hour, minute=minute, second=rng.randrange(60))
    at = local.astimezone(start.tzinfo)
    limit = min(end, now - min(MARGIN, (now - start) / 2))
    if at < limit:
        return at
    return start + (at - start) * ((limit - start) / (end - start))


def _fault(lane: LaneConfig, rng: random.Random) -> Fault | None:
    roll = rng.random()
    for kind, odds in FAULT_ODDS:
        if roll < odds:
            return Fault(lane.default, kind)
        roll -= odds
    return None
