"""Shadow attempts and their daily budget: ``lanes.audit.ShadowLog``.

The budget is enforced in SQL so that it holds across threads, processes and instances: a shadow
call first *reserves* its worst-case cost with

    UPDATE shadow_budget SET reserved_usd = reserved_usd + :cost
    WHERE lane = :lane AND day = :day AND spent_usd + reserved_usd + :cost <= :cap

and only a call whose row count is 1 goes out. When it ends, its reservation becomes its actual
cost. Since the reservation is an upper bound of the call's cost, spend never passes the cap,
and a call that would is recorded as ``skipped`` (reason: the budget) instead of being made.

The attempt row and the reservation are one transaction, and ``run_id`` is unique, so a run is
shadowed at most once even if two instances try.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lanes.audit import RunRecord, ShadowCall, ShadowRecord, ShadowResult
from storage import models
from storage._base import StoreBase, to_record
from storage.policy_models import ShadowAttempt, ShadowBudget
from storage.run_writes import repair_texts

_CENT_FRACTION = 1e-9
"""Float slack in the budget comparison, far below any price (a billionth of a dollar)."""


class ShadowWrites(StoreBase):
    """Shadow calls: reserve, record, settle; and the report's read."""

    def start_shadow(self, call: ShadowCall, *, day: str, budget_usd: float) -> str:
        try:
            with self._write_core("the start of a shadow attempt", conflicts_expected=True) as connection:
                self._ensure_budget_row(connection, call.lane, day)
                budget = ShadowBudget.__table__.c
                reserved = connection.execute(
                    update(ShadowBudget)
                    .where(
                        budget.lane == call.lane,
                        budget.day == day,
                        budget.spent_usd + budget.reserved_usd + call.reserved_usd
                        <= budget_usd + _CENT_FRACTION,
                    )
                    .values(reserved_usd=budget.reserved_usd + call.reserved_usd)
                ).rowcount
                status = "running" if reserved else "skipped"
                reason = None if reserved else _over_budget(call, budget_usd)
                connection.execute(
                    insert(ShadowAttempt),
                    {
                        "run_id": call.run_id,
                        "lane": call.lane,
                        "tier": call.tier,
                        "provider": call.provider,
                        "model_requested": call.model_requested,
                        "status": status,
                        "reason": reason,
                        "cost_known": True,
                        "reserved_usd": call.reserved_usd if reserved else 0.0,
                        "created_at": call.created_at,
                        "finished_at": None if reserved else call.created_at,
                    },
                )
        except IntegrityError:
            return "duplicate"
        return "started" if reserved else "over_budget"

    def _ensure_budget_row(self, connection: Connection, lane: str, day: str) -> None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(
            dialect.insert(ShadowBudget)
            .values(lane=lane, day=day, reserved_usd=0.0, spent_usd=0.0)
            .on_conflict_do_nothing()
        )

    def finish_shadow(self, run_id: str, result: ShadowResult, *, day: str) -> None:
        values: dict[str, Any] = {
            "status": result.status,
            "reason": result.reason,
            "draft_text": result.draft_text,
            "failed_checks": result.failed_checks,
            "model_answered": result.model_answered,
            "cost_usd": result.cost_usd,
            "cost_known": result.cost_known,
            "latency_ms": result.latency_ms,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "finished_at": result.finished_at,
        }
        repair_texts(values)
        attempts, budget = ShadowAttempt.__table__.c, ShadowBudget.__table__.c
        with self._write_core("the end of a shadow attempt") as connection:
            row = connection.execute(
                select(attempts.lane, attempts.reserved_usd).where(
                    attempts.run_id == run_id, attempts.status == "running"
                )
            ).first()
            if row is None:
                return  # finished already (or never started): nothing to settle
            connection.execute(update(ShadowAttempt).where(attempts.run_id == run_id).values(**values))
            # An unknown cost stays counted at its reservation, the most it could have been.
            spent = row.reserved_usd if result.cost_usd is None else result.cost_usd
            connection.execute(
                update(ShadowBudget)
                .where(budget.lane == row.lane, budget.day == day)
                .values(
                    reserved_usd=budget.reserved_usd - row.reserved_usd,
                    spent_usd=budget.spent_usd + spent,
                )
            )

    def shadow_spent(self, lane: str, day: str) -> tuple[float, float]:
        """(spent, still reserved) of the lane's shadow budget on ``day``."""
        budget = ShadowBudget.__table__.c
        with self._read() as session:
            row = session.execute(
                select(budget.spent_usd, budget.reserved_usd).where(budget.lane == lane, budget.day == day)
            ).first()
        return (0.0, 0.0) if row is None else (float(row.spent_usd), float(row.reserved_usd))

    def shadow_records(self, since: datetime, *, lane: str | None = None) -> list[ShadowRecord]:
        with self._read() as session:
            statement = (
                select(ShadowAttempt, models.Run)
                .join(models.Run, models.Run.id == ShadowAttempt.run_id)
                .where(ShadowAttempt.created_at >= since)
                .order_by(ShadowAttempt.created_at, ShadowAttempt.id)
                .options(selectinload(models.Run.decisions), selectinload(models.Run.attempts))
            )
            if lane is not None:
                statement = statement.where(ShadowAttempt.lane == lane)
            return [_record(shadow, to_record(run)) for shadow, run in session.execute(statement).tuples()]


def _over_budget(call: ShadowCall, budget_usd: float) -> str:
    return (
        f"skipped: the lane's daily shadow budget ${budget_usd:,.2f} has no room for this call "
        f"(worst case ${call.reserved_usd:,.4f})"
    )


def _record(shadow: ShadowAttempt, run: RunRecord) -> ShadowRecord:
    final = run.final_decision
    approved: str | None = None
    if final is not None and final.kind in ("approve", "edit"):
        approved = final.edited_text if final.edited_text is not None else run.draft_text
    return ShadowRecord(
        run_id=shadow.run_id,
        lane=shadow.lane,
        tier=shadow.tier,
        model=shadow.model_answered or shadow.model_requested,
        status=shadow.status,
        reason=shadow.reason,
        draft_text=shadow.draft_text,
        failed_checks=shadow.failed_checks,
        cost_usd=shadow.cost_usd,
        latency_ms=shadow.latency_ms,
        created_at=shadow.created_at,
        live_status=run.status,
        live_cost_usd=run.cost_usd,
        live_latency_ms=run.latency_ms,
        live_draft_text=run.draft_text,
        live_failed_check=run.failed_check,
        decision_kind=final.kind if final else None,
        approved_text=approved,
    )
