"""Today's spend per lane, kept in memory so a daily budget costs no query per run.

The daily budget needs "what has this lane spent since midnight (UTC)". Asking the audit store on
every run cost a query (and a round trip) whose work grows with the day's traffic: it sums every
run the lane made today. A ``SpendTracker`` asks once, then keeps the figure current itself:

- it adds the cost of each run this process finishes, as soon as the outcome is committed, so
  this process's own spend is never late;
- it asks the store again when its figure is older than ``ttl_s``, which brings in what other
  instances spent and corrects any drift; and at midnight it starts the new day from the store.

**Staleness bound.** With several bot instances, the spend of *another* instance's runs shows up
here at most ``ttl_s`` (default 5 s) plus one query late. Nothing else changes: the query never
counted runs still in flight either (their cost is written when they finish), so concurrent runs
could always overshoot a daily cap by what they cost together; the tracker adds at most
``ttl_s`` of other instances' spend to that. A run finishing *during* a re-read may be counted by
the read and added here too, until the next re-read: the error is towards stopping early, never
towards overspending.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

DEFAULT_TTL_S = 5.0


@dataclass(eq=False)  # held by identity: two reads of one lane may hold equal figures
class _LaneSpend:
    day: datetime
    """Midnight of the day the figure is for."""
    spent: float
    read_at: float
    """When the store was last asked (monotonic seconds)."""


class SpendTracker:
    """Per-lane spend since midnight: the store's figure plus this process's runs since it was read."""

    def __init__(
        self,
        read: Callable[[str, datetime], float],
        *,
        monotonic: Callable[[], float],
        ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        """``read(lane, since)`` is the store's sum (``AuditStore.spent_since``); its errors propagate."""
        self._read = read
        self._monotonic = monotonic
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._lanes: dict[str, _LaneSpend] = {}
        self._reading: dict[str, list[_LaneSpend]] = {}
        """Reads in progress per lane, each with what the lane's runs added meanwhile."""

    def spent(self, lane: str, now: datetime) -> float:
        """What ``lane`` has spent since midnight of ``now``; asks the store only when due."""
        day = midnight(now)
        with self._lock:
            known = self._lanes.get(lane)
            if known is not None and known.day == day and (self._fresh(known) or self._reading.get(lane)):
                return known.spent  # fresh, or another thread is asking the store right now
            meanwhile = _LaneSpend(day, 0.0, self._monotonic())
            self._reading.setdefault(lane, []).append(meanwhile)
        try:
            spent = self._read(lane, day)
        except BaseException:
            with self._lock:
                self._end_read(lane, meanwhile)
            raise
        with self._lock:
            self._end_read(lane, meanwhile)
            # Runs that finished during the read may or may not be in it: they are counted on top.
            fresh = _LaneSpend(day, spent + meanwhile.spent, meanwhile.read_at)
            known = self._lanes.get(lane)
            if known is None or (known.day, known.read_at) <= (fresh.day, fresh.read_at):
                self._lanes[lane] = fresh
        return fresh.spent

    def add(self, lane: str, created_at: datetime, cost_usd: float) -> None:
        """Count a finished run's cost (once its outcome is committed), if it belongs to the day held."""
        with self._lock:
            for held in (self._lanes.get(lane), *self._reading.get(lane, ())):
                if held is not None and created_at >= held.day:
                    held.spent += cost_usd

    def _fresh(self, known: _LaneSpend) -> bool:
        return self._monotonic() - known.read_at < self._ttl

    def _end_read(self, lane: str, meanwhile: _LaneSpend) -> None:
        reads = self._reading[lane]
        reads.remove(meanwhile)
        if not reads:
            del self._reading[lane]


def midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
