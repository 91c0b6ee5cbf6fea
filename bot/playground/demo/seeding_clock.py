"""The demo's clock: wall time set run by run, and a monotonic time that never goes back.

The engine and the decision service take their time from it, so eight weeks of runs are
recorded at the times they are planned for. Model calls advance it by a simulated latency, so
recorded latencies look like model calls rather than the microseconds the offline sample takes;
and the circuit breaker and the spend cache, which read the monotonic side, see time pass as the
runs do (never backwards, even when decisions are replayed after all runs are made).
"""

from __future__ import annotations

from datetime import datetime, timedelta


class DemoClock:
    """``clock()`` is the simulated wall time; ``monotonic()`` only ever increases."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._monotonic = 0.0

    def __call__(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        """Move the wall time to ``when``; the monotonic time moves forward by the gap, if any."""
        self._monotonic += max(0.0, (when - self._now).total_seconds())
        self._now = when

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        """A ``Retry-After`` wait costs simulated time only."""
        self.advance(seconds)
