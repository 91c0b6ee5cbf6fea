"""Runs and their attempts: the writes every run makes, and reading one run back.

Every status change here executes a ``lanes.lifecycle.Transition`` as one conditional write
(``WHERE id = :id AND status IN :sources``); the row count says whether this caller won. The
per-run writes go through prebuilt Core statements (``storage.run_writes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lanes.audit import (
    Attempt,
    AuditWriteError,
    NewRun,
    RunNotFoundError,
    RunOutcome,
    RunRecord,
    Transition,
    transition,
)
from storage import models
from storage._base import StoreBase, read_errors, to_record
from storage.run_writes import RUN_ID, attempt_rows, finish_values, route_features_row, run_row

_CREATES = frozenset({"start", "enqueue"})
_ADOPT = transition("adopt")


class RunWrites(StoreBase):
    """``lanes.audit.RunLog``: start, adopt, attempts, finish; one run read back with its lineage."""

    def start_run(self, run: NewRun, change: Transition) -> tuple[str, bool]:
        """Insert ``run`` as ``change`` (``start`` or ``enqueue``) says. Returns the run's id and
        whether this call started it. When the idempotency key already has a run: a ``start``
        adopts it if it is still ``queued`` (``bot.runtime.queued_requests``); otherwise (and for
        ``enqueue``) the answer is ``(that run's id, False)``, a repeated delivery."""
        if change.trigger not in _CREATES:
            raise ValueError(f"start_run executes start or enqueue, not {change.trigger}")
        try:
            with self._write_core("the start of the run", conflicts_expected=True) as connection:
                connection.execute(self._sql.insert_run, run_row(run, change))
                self._insert_route_features(connection, run, run.id)
        except IntegrityError:
            existing = self._run_holding(run)
            if change.trigger == "enqueue":
                return existing, False
            return existing, self.adopt_queued_run(existing, run)
        return run.id, True

    def _run_holding(self, run: NewRun) -> str:
        if run.idempotency_key is None:
            raise AuditWriteError("a run with this id already exists") from None
        with self._read() as session:
            existing = session.scalar(
                select(models.Run.id).where(models.Run.idempotency_key == run.idempotency_key)
            )
        if existing is None:  # the conflicting run vanished (deleted by hand): nothing to adopt
            raise AuditWriteError("the run's idempotency key conflicted with a run that no longer exists")
        return existing

    def adopt_queued_run(self, run_id: str, run: NewRun) -> bool:
        """Start the ``queued`` run ``run_id`` with ``run``'s details (all but its id and request
        time); False unless it was still queued. The worker that claimed the delivery calls this,
        so exactly one adopts it, whichever instance queued it."""
        row = run_row(run, transition("start"))
        del row["id"], row["created_at"], row["status"]
        statement, values = self._sql.transition(run_id, _ADOPT, row)
        with self._write_core("the start of the queued run") as connection:
            moved = connection.execute(statement, values).rowcount
            if moved:
                self._insert_route_features(connection, run, run_id)
        return bool(moved)

    def _insert_route_features(self, connection: Connection, run: NewRun, run_id: str) -> None:
        """What routing read and chose, beside the run, in the same transaction (``routes diff``)."""
        row = route_features_row(run)
        if row is not None:
            row["run_id"] = run_id
            connection.execute(self._sql.insert_route_features, row)

    def record_attempt(self, run_id: str, seq: int, attempt: Attempt) -> None:
        rows, repaired = attempt_rows(run_id, [(seq, attempt)])
        with self._write_core("a model attempt") as connection:
            connection.execute(self._sql.insert_attempts, rows)
            if repaired:
                connection.execute(self._sql.update_run, {RUN_ID: run_id, "text_repaired": True})

    def finish_run(
        self,
        run_id: str,
        change: Transition,
        outcome: RunOutcome,
        *,
        attempts: Sequence[tuple[int, Attempt]] = (),
    ) -> bool:
        """Execute ``change`` with ``outcome``'s columns; False if the run had left its sources.

        ``attempts`` (``(seq, attempt)`` pairs) are written in the same transaction: the engine
        passes the attempt that produced the draft, so a run costs one commit less and the draft
        and its attempt are on record together or not at all. They are written even when the
        status had moved on (the calls were made; the trail keeps them)."""
        values = finish_values(outcome, change)
        rows, repaired = attempt_rows(run_id, attempts)
        if repaired:
            values["text_repaired"] = True
        statement, parameters = self._sql.transition(run_id, change, values)
        with self._write_core("the end of the run") as connection:
            moved = connection.execute(statement, parameters).rowcount
            if rows:
                connection.execute(self._sql.insert_attempts, rows)
        return bool(moved)

    def attach_slack(
        self, run_id: str, *, channel: str, root_ts: str | None = None, draft_ts: str | None = None
    ) -> None:
        values: dict[str, object] = {RUN_ID: run_id, "slack_channel": channel}
        if root_ts is not None:
            values["slack_root_ts"] = root_ts
        if draft_ts is not None:
            values["slack_draft_ts"] = draft_ts
        with self._write_core("the Slack message of the run") as connection:
            connection.execute(self._sql.update_run, values)

    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as session:
            row = session.scalar(
                select(models.Run)
                .where(models.Run.id == run_id)
                .options(selectinload(models.Run.attempts), selectinload(models.Run.decisions))
            )
            if row is None:
                raise RunNotFoundError(f"no run {run_id!r}; list recent runs with `lanebot audit`")
            return to_record(row)

    def spent_since(self, lane: str, since: datetime) -> float:
        """What the lane has spent since ``since`` (known prices only), for the daily budget."""
        with read_errors(), self.engine.connect() as connection:
            total = connection.execute(self._sql.spent_since, {"lane": lane, "since": since}).scalar()
        return float(total or 0.0)

    def interrupt_run(self, run_id: str, at: datetime, error: str, *, actor: str = "lanebot") -> bool:
        """Close an orphaned run (``recover``: ``running``/``queued`` → ``failed``) with a ``fail``
        event whose reason is ``interrupted``.

        True for exactly one caller: the update only moves a run still in flight, and the event is
        written in the same transaction, so it exists if and only if the update won.
        """
        change = transition("recover")
        with self._write("the interruption of a run") as session:
            moved = session.execute(
                update(models.Run)
                .where(models.Run.id == run_id, models.Run.status.in_(change.sources))
                .values(status=change.target, error=error)
            ).rowcount  # type: ignore[attr-defined]
            if not moved:
                return False
            session.add(
                models.Decision(
                    run_id=run_id,
                    kind="fail",
                    actor=actor,
                    final=False,
                    reason=INTERRUPTED,
                    note=error,
                    created_at=at,
                )
            )
        return True


INTERRUPTED = "interrupted"
"""The ``reason`` of the ``fail`` event recovery writes on a run whose process died mid-run."""
