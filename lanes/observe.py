"""Hooks for watching runs without the engine knowing who watches (metrics, alerts, tests, tracing).

The engine calls these after the audit store accepted the write, so an observer never counts
something the audit trail does not hold. Observers must be cheap and must not raise.

``config_fault`` is called each time a tier fails for a reason only a person can fix (a rejected
key, an exhausted quota: ``lanes.providers.errors.ConfigFaultError``), with the lane whose run
met it; deciding which of those are news for the lane's owners is ``lanes.faults.FaultGate``'s job.
"""

from __future__ import annotations

import logging
from typing import Protocol

from lanes.values import Attempt, RunResult

log = logging.getLogger(__name__)


class RunObserver(Protocol):
    def attempt_finished(self, lane: str, attempt: Attempt) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...

    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None: ...


class NoObserver:
    """The default: nobody is watching."""

    def attempt_finished(self, lane: str, attempt: Attempt) -> None:
        return None

    def run_finished(self, result: RunResult) -> None:
        return None

    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None:
        return None


class Observers:
    """Several observers as one. One that raises anyway is logged and skipped, so the others still
    hear and the run is never failed by somebody watching it."""

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = observers

    def attempt_finished(self, lane: str, attempt: Attempt) -> None:
        for observer in self.observers:
            try:
                observer.attempt_finished(lane, attempt)
            except Exception:
                log.exception("run observer failed", extra={"observer": type(observer).__name__})

    def run_finished(self, result: RunResult) -> None:
        for observer in self.observers:
            try:
                observer.run_finished(result)
            except Exception:
                log.exception("run observer failed", extra={"observer": type(observer).__name__})

    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None:
        for observer in self.observers:
            try:
                observer.config_fault(lane, tier, reason_code, message)
            except Exception:
                log.exception("run observer failed", extra={"observer": type(observer).__name__})
