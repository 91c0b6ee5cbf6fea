"""Decisions on drafts: appended, never edited in place; a final one closes its run atomically.

``apply_decision`` executes the decision's ``lanes.lifecycle.DecisionGuard`` as one conditional
write on the run row (status *and*, for approvals, the approval count the decider saw), then
appends the decision row in the same transaction:

- two final clicks racing (threads, processes or instances) both try ``UPDATE runs ... WHERE status
  IN (drafted, needs_human)``; exactly one row count is 1, the other is rolled back and told who
  decided first;
- two approvers of a two-person review both decide on ``approval_count = 0``; one moves it to 1,
  the other's guard no longer holds and it is answered ``stale``: the decision service re-reads
  the run (now one approval) and decides again, completing the review. Without the count both
  were recorded as "1 of 2" and the run never completed.

A partial unique index still allows one final decision per run and one approval per actor.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from lanes.audit import AWAITING_REVIEW, DecisionGuard, DecisionOutcome, NewDecision
from storage import models
from storage._base import StoreBase
from storage.run_writes import repair_texts
from storage.runs import RunWrites


class DecisionWrites(RunWrites, StoreBase):
    """``lanes.audit.DecisionLog``."""

    def apply_decision(self, decision: NewDecision, guard: DecisionGuard) -> DecisionOutcome:
        """Append ``decision`` if ``guard`` holds; a final one also closes the run, atomically."""
        change = guard.transition
        row = asdict(decision)
        repaired = repair_texts(row)
        values: dict[str, Any] = {}
        if change.target is not None:
            values.update(status=change.target, decided_at=decision.created_at)
        if change.counted:
            values["approval_count"] = models.Run.approval_count + 1
        if repaired:
            values["text_repaired"] = True
        conditions = [models.Run.id == decision.run_id, models.Run.status.in_(change.sources)]
        if change.counted:
            conditions.append(models.Run.approval_count == guard.seen_approvals)
        try:
            with self._write(f"the {decision.kind} decision", conflicts_expected=True) as session:
                # Even a change that sets nothing else moves the row (status = status), so it
                # locks it and serialises with every other decision on the run.
                moved = session.execute(
                    update(models.Run).where(*conditions).values(**(values or {"status": models.Run.status}))
                ).rowcount  # type: ignore[attr-defined]
                if not moved:
                    session.rollback()
                    return self._decided_already(decision.run_id)
                session.add(models.Decision(**row))
        except IntegrityError:
            return self._decided_already(decision.run_id)
        return DecisionOutcome(applied=True, status=change.target or "")

    def record_event(
        self,
        run_id: str,
        kind: str,
        actor: str,
        at: datetime,
        *,
        note: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Append a non-final decision row: a refused click, a reminder, a "run anyway"."""
        row: dict[str, Any] = {"note": note, "reason": reason}
        repair_texts(row)
        with self._write(f"the {kind} event") as session:
            session.add(
                models.Decision(run_id=run_id, kind=kind, actor=actor, final=False, created_at=at, **row)
            )

    def _decided_already(self, run_id: str) -> DecisionOutcome:
        """Why a guard did not hold: someone decided first, or (run still open) the count moved."""
        record = self.get_run(run_id)
        final = record.final_decision
        return DecisionOutcome(
            applied=False,
            status=record.status,
            decided_by=final.actor if final else None,
            decided_kind=final.kind if final else None,
            stale=final is None and record.status in AWAITING_REVIEW,
        )
