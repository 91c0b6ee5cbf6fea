"""Once per fault: which configuration faults are news to a lane's owners.

A rejected key or an exhausted quota fails every run on that tier until someone fixes it. The
owners must hear about it at once, but once: not once per run (a busy lane would page them
hundreds of times an hour). A fault is (lane, tier, reason code). It is reported the first time
it is seen; again only after it cleared (the tier answered a call since) or after ``cooldown_s``
(a reminder while it persists). The gate does no I/O and takes its clock, so the rule is tested
with plain numbers; it is thread safe because runs execute on a worker pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEFAULT_COOLDOWN_S = 6 * 3600.0
"""A persisting fault is repeated to the owners this often (one reminder per working day, about)."""

Fault = tuple[str, str, str]
"""(lane, tier, reason code)."""


class FaultGate:
    """Says whether a fault is news; see the module docstring for when it is."""

    def __init__(
        self, *, cooldown_s: float = DEFAULT_COOLDOWN_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if cooldown_s <= 0:
            raise ValueError("the fault cool-down must be positive")
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._told: dict[Fault, float] = {}

    def is_news(self, lane: str, tier: str, reason_code: str) -> bool:
        """True the first time a fault is seen, after it cleared, or once its cool-down passed; the
        caller is then expected to tell the owners, so the fault counts as told from now."""
        fault, now = (lane, tier, reason_code), self._clock()
        with self._lock:
            told = self._told.get(fault)
            if told is not None and now - told < self._cooldown_s:
                return False
            self._told[fault] = now
            return True

    def cleared(self, tier: str) -> None:
        """``tier`` answered a call: its faults are over, so the next one is news again."""
        with self._lock:
            for fault in [fault for fault in self._told if fault[1] == tier]:
                del self._told[fault]
