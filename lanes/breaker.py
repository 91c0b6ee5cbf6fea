"""A per-tier circuit breaker: stop sending work to a model that keeps failing, then probe it.

States of one tier::

    closed --N consecutive failures--> open --cooldown passes--> half-open
      ^                                  ^                          |
      |                                  +------probe fails---------+
      +---------------------probe succeeds--------------------------+

While open, routing sends the tier's work to the lane's fallback, so a dead provider costs one
timeout per request only until the breaker trips, not forever. Half-open lets exactly one probe
through (``is_open`` returns ``False`` once and grants it); its success closes the circuit and its
failure re-opens it for another cooldown. A granted probe that never reports back (the run was
routed elsewhere, or crashed) lapses after one cooldown, so the tier can never be stuck open.

Callers record only *transient* failures (timeouts, 429, 5xx): a bad request or a content
refusal says nothing about the model's health. The clock is injected (``time.monotonic`` in
production, a counter in tests) and all state sits behind one lock because runs execute on a
worker pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _TierState:
    failures: int = 0
    opened_at: float | None = None
    probe_granted_at: float | None = None


class CircuitBreaker:
    """Thread-safe breaker for every tier; tiers never seen are closed."""

    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        if failures < 1:
            raise ValueError("breaker failures must be at least 1; set [runtime] breaker_failures")
        if cooldown_s <= 0:
            raise ValueError("breaker cooldown must be positive; set [runtime] breaker_cooldown_s")
        self._threshold = failures
        self._cooldown = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tiers: dict[str, _TierState] = {}

    def record_success(self, tier: str) -> None:
        """A call on ``tier`` worked: close its circuit and forget past failures."""
        with self._lock:
            self._tiers.pop(tier, None)

    def record_failure(self, tier: str) -> None:
        """A transient failure on ``tier``: count it; trip at the threshold; a failed probe re-opens."""
        with self._lock:
            state = self._tiers.setdefault(tier, _TierState())
            state.failures += 1
            if state.opened_at is not None or state.failures >= self._threshold:
                state.opened_at = self._clock()
                state.probe_granted_at = None

    def is_open(self, tier: str) -> bool:
        """Whether to skip ``tier`` now; in half-open the first caller gets ``False`` and makes the probe."""
        with self._lock:
            return self._blocked(tier, self._clock(), claim_probe=True)

    def open_tiers(self, *, claim_probes: bool = False) -> frozenset[str]:
        """Tiers to route around now.

        By default a snapshot that changes nothing (safe for previews): a half-open tier whose probe
        is not yet granted is *not* listed. With ``claim_probes=True`` each such tier's probe is
        granted to the caller, so concurrent runs keep routing around it until the probe reports.
        """
        with self._lock:
            now = self._clock()
            return frozenset(
                tier for tier in list(self._tiers) if self._blocked(tier, now, claim_probe=claim_probes)
            )

    def _blocked(self, tier: str, now: float, *, claim_probe: bool) -> bool:
        state = self._tiers.get(tier)
        if state is None or state.opened_at is None:
            return False
        if now - state.opened_at < self._cooldown:
            return True
        probe = state.probe_granted_at
        if probe is not None and now - probe < self._cooldown:
            return True
        if claim_probe:
            state.probe_granted_at = now
        return False
