"""Hooks for watching runs without the engine knowing who watches (metrics, tests, tracing).

The engine calls these after the audit store accepted the write, so an observer never counts
something the audit trail does not hold. Observers must be cheap and must not raise.
"""

from __future__ import annotations

from typing import Protocol

from lanes.values import Attempt, RunResult


class RunObserver(Protocol):
    def attempt_finished(self, lane: str, attempt: Attempt) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...


class NoObserver:
    """The default: nobody is watching."""

    def attempt_finished(self, lane: str, attempt: Attempt) -> None:
        return None

    def run_finished(self, result: RunResult) -> None:
        return None
