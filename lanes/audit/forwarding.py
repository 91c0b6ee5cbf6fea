"""``ForwardingRunLog``: a ``RunLog`` that passes every call to another, for the few that differ.

Evals and fire drills run the real engine on a scratch store but change one thing about it (no
spend today; writes that fail on purpose). Each subclass overrides only that, so the forwarding
of the rest of the port is written once and follows the port when it grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lanes.audit.port import RunLog
from lanes.audit.records import Attempt, NewRun, PolicySnapshot, RunOutcome, RunRecord
from lanes.lifecycle import Transition


class ForwardingRunLog:
    """Every ``RunLog`` call goes to ``inner``; ``before_write`` runs first on each write."""

    def __init__(self, inner: RunLog) -> None:
        self._inner = inner

    def before_write(self, what: str) -> None:
        """A hook for subclasses (a drill's store that is down); nothing by default."""

    def start_run(self, run: NewRun, change: Transition) -> tuple[str, bool]:
        self.before_write("start_run")
        return self._inner.start_run(run, change)

    def adopt_queued_run(self, run_id: str, run: NewRun) -> bool:
        self.before_write("start_run")
        return self._inner.adopt_queued_run(run_id, run)

    def record_attempt(self, run_id: str, seq: int, attempt: Attempt) -> None:
        self.before_write("record_attempt")
        self._inner.record_attempt(run_id, seq, attempt)

    def finish_run(
        self,
        run_id: str,
        change: Transition,
        outcome: RunOutcome,
        *,
        attempts: Sequence[tuple[int, Attempt]] = (),
    ) -> bool:
        self.before_write("finish_run")
        return self._inner.finish_run(run_id, change, outcome, attempts=attempts)

    def get_run(self, run_id: str) -> RunRecord:
        return self._inner.get_run(run_id)

    def spent_since(self, lane: str, since: datetime) -> float:
        return self._inner.spent_since(lane, since)

    def record_policy(self, policy: PolicySnapshot, at: datetime, instance: str) -> None:
        self.before_write("record_policy")
        self._inner.record_policy(policy, at, instance)


__all__ = ["ForwardingRunLog"]
