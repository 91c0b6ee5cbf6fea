"""Reads that pick runs for the background jobs: expiry and reminders, crash recovery, late delivery.

Each returns frozen records with their attempts and decisions loaded, oldest first and bounded, so
a sweep on any instance works in small batches; acting on a run is a claim or a transition
elsewhere (``storage.claims``, ``storage.runs``), so several instances sweeping at once act once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lanes.audit import AWAITING_REVIEW, IN_FLIGHT, RunRecord
from storage import models
from storage._base import StoreBase, to_record

SLACK_REFUSED_ROOT = "Slack refused the post:"
"""How ``bot.slack.flows.lane_request`` words the error of a run whose thread root Slack refused
(outage, 5xx)."""


class RunQueries(StoreBase):
    """The background jobs' reads."""

    def runs_expiring(
        self, before: datetime, *, unreminded_only: bool = False, limit: int = 100
    ) -> list[RunRecord]:
        """Runs still waiting for review whose ``expires_at`` is at or before ``before``, oldest first."""
        run = models.Run
        conditions = [run.status.in_(AWAITING_REVIEW), run.expires_at.is_not(None), run.expires_at <= before]
        if unreminded_only:
            conditions.append(run.reminded_at.is_(None))
        with self._read() as session:
            rows = session.scalars(
                select(run)
                .where(*conditions)
                .order_by(run.expires_at)
                .limit(limit)
                .options(selectinload(run.attempts), selectinload(run.decisions))
            ).all()
            return [to_record(row) for row in rows]

    def runs_in_flight(self, *, limit: int = 500) -> list[RunRecord]:
        """Runs some process said it was executing (``running`` or ``queued``), oldest first."""
        run = models.Run
        with self._read() as session:
            rows = session.scalars(
                select(run)
                .where(run.status.in_(IN_FLIGHT))
                .order_by(run.created_at)
                .limit(limit)
                .options(selectinload(run.attempts), selectinload(run.decisions))
            ).all()
            return [to_record(row) for row in rows]

    def undelivered_runs(self, *, limit: int = 100) -> list[RunRecord]:
        """Slack runs whose outcome never reached Slack, no longer executing, ``slack_draft_ts`` NULL:
        either the thread root was posted and the outcome post failed, or Slack refused the root
        itself (the run failed before any model call and the requester may not have been told)."""
        run = models.Run
        outcome_lost = run.slack_root_ts.is_not(None)
        root_refused = run.slack_root_ts.is_(None) & run.error.startswith(SLACK_REFUSED_ROOT)
        with self._read() as session:
            rows = session.scalars(
                select(run)
                .where(
                    run.source == "slack",
                    run.status.not_in(IN_FLIGHT),
                    run.slack_draft_ts.is_(None),
                    outcome_lost | root_refused,
                )
                .order_by(run.created_at)
                .limit(limit)
                .options(selectinload(run.attempts), selectinload(run.decisions))
            ).all()
            return [to_record(row) for row in rows]
