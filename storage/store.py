"""The audit store: the one object that owns SQLAlchemy.

Methods are named for what the workflow intends (``start_run``, ``record_attempt``,
``apply_decision``), not for tables. Every write runs in its own short transaction and any
database failure surfaces as ``AuditWriteError``: the engine treats that as "no log, no draft".

Concurrency rules live in SQL, not in process locks, so they hold across bot instances:
- a run's status changes only by ``UPDATE ... WHERE status IN (...)``; the row count says who won;
- a final decision is guarded by a partial unique index (one per run), two-person approvals by
  another (one per actor);
- Slack deliveries, digest weeks and job slots are claimed by inserting a unique key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from lanes.errors import AuditStoreError, AuditWriteError, RunNotFoundError
from lanes.values import AWAITING_REVIEW, Attempt
from storage import models
from storage.digest_queries import DigestClaim
from storage.records import (
    AttemptRecord,
    DecisionOutcome,
    DecisionRecord,
    NewDecision,
    NewRun,
    RunOutcome,
    RunRecord,
)
from storage.run_writes import RUN_ID, RunStatements, attempt_rows, finish_parameters, run_row
from storage.search import AuditQuery, RunSummary, to_csv
from storage.search import search as search_runs

log = logging.getLogger(__name__)

DIGEST_CLAIM_STALE_AFTER = timedelta(minutes=15)
"""An unposted digest claim older than this is taken over: the instance that held it failed."""


class AuditStore:
    """Runs, attempts and decisions, written before anything is shown to anyone."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._sql = RunStatements.build()

    @contextmanager
    def _write(self, what: str, *, conflicts_expected: bool = False) -> Iterator[Session]:
        """A short write transaction. Database failures become ``AuditWriteError``; a unique-key
        conflict stays an ``IntegrityError`` only where the caller expects one (claims, races)."""
        with _write_errors(what, conflicts_expected), self._sessions.begin() as session:
            yield session

    @contextmanager
    def _write_core(self, what: str, *, conflicts_expected: bool = False) -> Iterator[Connection]:
        """``_write`` without the ORM, for the per-run writes (``storage.run_writes``)."""
        with _write_errors(what, conflicts_expected), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with _read_errors(), self._sessions() as session:
            yield session

    # --- runs -------------------------------------------------------------------------------
    # The writes every run makes go through prebuilt Core statements (``storage.run_writes``).

    def start_run(self, run: NewRun) -> str | None:
        """Insert a new run. Returns None, or the id of the run already holding its idempotency key."""
        try:
            with self._write_core("the start of the run", conflicts_expected=True) as connection:
                connection.execute(self._sql.insert_run, run_row(run))
        except IntegrityError:
            if run.idempotency_key is None:
                raise AuditWriteError("a run with this id already exists") from None
            with self._read() as session:
                existing = session.scalar(
                    select(models.Run.id).where(models.Run.idempotency_key == run.idempotency_key)
                )
            return existing
        return None

    def start_or_adopt_run(self, run: NewRun) -> tuple[str, bool]:
        """``start_run``, except that a ``queued`` run holding the idempotency key
        (``bot.runtime.queued_requests``)
        is started with ``run``'s details instead. Returns the run's id and whether this call
        started it; ``False`` means another run already holds the key (a repeated delivery)."""
        existing = self.start_run(run)
        if existing is None:
            return run.id, True
        return existing, self.adopt_queued_run(existing, run)

    def enqueue_run(self, run: NewRun) -> bool:
        """Record a request admitted behind busy workers as a ``queued`` run, so that it survives
        its process (``bot.runtime.queued_requests``). False if its idempotency key already has a run:
        the worker
        got there first, or this is a repeated delivery."""
        try:
            with self._write_core("the queued request", conflicts_expected=True) as connection:
                queued = run_row(replace(run, status="queued"))
                queued["started_at"] = None  # set when a worker adopts it
                connection.execute(self._sql.insert_run, queued)
        except IntegrityError:
            return False
        return True

    def adopt_queued_run(self, run_id: str, run: NewRun) -> bool:
        """Start the ``queued`` run ``run_id`` with ``run``'s details (all but its id and request
        time); False unless it was still queued. The worker that claimed the delivery calls this,
        so exactly one adopts it, whichever instance queued it."""
        row = run_row(run)
        del row["id"], row["created_at"]
        with self._write_core("the start of the queued run") as connection:
            moved = connection.execute(self._sql.adopt_queued, {RUN_ID: run_id, **row}).rowcount
        return bool(moved)

    def record_attempt(self, run_id: str, seq: int, attempt: Attempt) -> None:
        with self._write_core("a model attempt") as connection:
            connection.execute(self._sql.insert_attempts, attempt_rows(run_id, [(seq, attempt)]))

    def finish_run(
        self,
        run_id: str,
        outcome: RunOutcome,
        *,
        from_statuses: tuple[str, ...] = ("running",),
        attempts: Sequence[tuple[int, Attempt]] = (),
    ) -> bool:
        """Record how the model work ended; False if the run had already left ``from_statuses``.

        ``attempts`` (``(seq, attempt)`` pairs) are written in the same transaction: the engine
        passes the attempt that produced the draft, so a run costs one commit less and the draft
        and its attempt are on record together or not at all. They are written even when the
        status had moved on (the calls were made; the trail keeps them)."""
        statement, parameters = finish_parameters(self._sql, run_id, outcome, from_statuses)
        with self._write_core("the end of the run") as connection:
            moved = connection.execute(statement, parameters).rowcount
            if attempts:
                connection.execute(self._sql.insert_attempts, attempt_rows(run_id, attempts))
        return bool(moved)

    def set_status(
        self, run_id: str, status: str, *, from_statuses: tuple[str, ...], **values: object
    ) -> bool:
        """Move a run between statuses if (and only if) it is still in one of ``from_statuses``."""
        with self._write(f"the status change to {status}") as session:
            result = session.execute(
                update(models.Run)
                .where(models.Run.id == run_id, models.Run.status.in_(from_statuses))
                .values(status=status, **values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

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
        with _read_errors(), self.engine.connect() as connection:
            total = connection.execute(self._sql.spent_since, {"lane": lane, "since": since}).scalar()
        return float(total or 0.0)

    # --- decisions --------------------------------------------------------------------------

    def apply_decision(self, decision: NewDecision) -> DecisionOutcome:
        """Append a decision; a final one also closes the run, atomically, or not at all.

        Two clicks racing (threads, processes or instances) both try ``UPDATE runs ... WHERE
        status IN (drafted, needs_human)``; exactly one row count is 1. The loser's transaction
        is rolled back and it is told who decided first.
        """
        try:
            with self._write(f"the {decision.kind} decision", conflicts_expected=True) as session:
                if decision.final or decision.kind == "approval":
                    # A one-of-two approval must also find the run still open; its no-op update
                    # locks the row, so it serialises with a closing decision instead of landing after it.
                    values = (
                        {"status": decision.new_status, "decided_at": decision.created_at}
                        if decision.final
                        else {"status": models.Run.status}
                    )
                    moved = session.execute(
                        update(models.Run)
                        .where(models.Run.id == decision.run_id, models.Run.status.in_(AWAITING_REVIEW))
                        .values(**values)
                    ).rowcount  # type: ignore[attr-defined]
                    if not moved:
                        session.rollback()
                        return self._decided_already(decision.run_id)
                fields = asdict(decision)
                fields.pop("new_status")
                session.add(models.Decision(**fields))
        except IntegrityError:
            return self._decided_already(decision.run_id)
        return DecisionOutcome(applied=True, status=decision.new_status or "")

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
        with self._write(f"the {kind} event") as session:
            session.add(
                models.Decision(
                    run_id=run_id,
                    kind=kind,
                    actor=actor,
                    final=False,
                    note=note,
                    reason=reason,
                    created_at=at,
                )
            )

    def _decided_already(self, run_id: str) -> DecisionOutcome:
        record = self.get_run(run_id)
        final = record.final_decision
        return DecisionOutcome(
            applied=False,
            status=record.status,
            decided_by=final.actor if final else None,
            decided_kind=final.kind if final else None,
        )

    # --- claims (exactly once across instances) ---------------------------------------------

    def claim_event(self, key: str, at: datetime) -> bool:
        """True the first time ``key`` is seen (a Slack event id or retry key), False after."""
        try:
            with self._write_core("a Slack delivery key", conflicts_expected=True) as connection:
                connection.execute(self._sql.insert_event, {"key": key, "created_at": at})
        except IntegrityError:
            return False
        return True

    def claim_job(self, key: str, instance: str, at: datetime) -> bool:
        try:
            with self._write("a scheduled job claim", conflicts_expected=True) as session:
                session.add(models.JobClaim(key=key, claimed_by=instance, claimed_at=at))
        except IntegrityError:
            return False
        return True

    # --- search -----------------------------------------------------------------------------

    def search(self, query: AuditQuery) -> list[RunSummary]:
        """Runs matching ``query``, newest first, as summary lines (one SQL statement)."""
        with self._read() as session:
            return search_runs(session, query)

    def export(self, query: AuditQuery, fmt: Literal["json", "csv"] = "json") -> str:
        """The search as a document: a JSON array of ``SUMMARY_KEYS`` objects, or CSV with that header."""
        rows = self.search(query)
        if fmt == "csv":
            return to_csv(rows)
        return json.dumps([row.as_json() for row in rows], indent=2)

    # --- digests ----------------------------------------------------------------------------

    def claim_digest_week(
        self,
        channel: str,
        iso_week: str,
        instance: str,
        at: datetime,
        late: bool,
        *,
        stale_after: timedelta = DIGEST_CLAIM_STALE_AFTER,
    ) -> bool:
        """True for exactly one caller per (channel, week), across threads and instances.

        The unique (channel, iso_week) row is the claim. A claim whose post never completed
        (``posted_at`` still NULL) and is older than ``stale_after`` may be taken over, so a post
        that failed after its claim is retried; the take-over is a conditional UPDATE, so two
        instances retrying at once still have one winner.
        """
        try:
            with self._write("the digest week claim", conflicts_expected=True) as session:
                session.add(
                    models.DigestClaim(
                        channel=channel, iso_week=iso_week, claimed_by=instance, claimed_at=at, late=late
                    )
                )
            return True
        except IntegrityError:
            pass
        claim = models.DigestClaim
        with self._write("the digest week re-claim") as session:
            moved = session.execute(
                update(claim)
                .where(
                    claim.channel == channel,
                    claim.iso_week == iso_week,
                    claim.posted_at.is_(None),
                    claim.claimed_at < at - stale_after,
                )
                .values(claimed_by=instance, claimed_at=at, late=late)
            ).rowcount  # type: ignore[attr-defined]
        return bool(moved)

    def mark_digest_posted(
        self, channel: str, iso_week: str, instance: str, at: datetime, message_ts: str | None
    ) -> bool:
        """Record the post; False if ``instance`` no longer holds the claim (it went stale and was taken)."""
        claim = models.DigestClaim
        with self._write("the digest post") as session:
            moved = session.execute(
                update(claim)
                .where(claim.channel == channel, claim.iso_week == iso_week, claim.claimed_by == instance)
                .values(posted_at=at, message_ts=message_ts)
            ).rowcount  # type: ignore[attr-defined]
        return bool(moved)

    def release_digest_claim(self, channel: str, iso_week: str, instance: str) -> bool:
        """Drop ``instance``'s unposted claim after a failed post, so the next attempt can claim at once."""
        claim = models.DigestClaim
        with self._write("the release of a digest claim") as session:
            moved = session.execute(
                delete(claim).where(
                    claim.channel == channel,
                    claim.iso_week == iso_week,
                    claim.claimed_by == instance,
                    claim.posted_at.is_(None),
                )
            ).rowcount  # type: ignore[attr-defined]
        return bool(moved)

    def digest_claim(self, channel: str, iso_week: str) -> DigestClaim | None:
        claim = models.DigestClaim
        with self._read() as session:
            row = session.scalar(select(claim).where(claim.channel == channel, claim.iso_week == iso_week))
            if row is None:
                return None
            return DigestClaim(
                channel=row.channel,
                iso_week=row.iso_week,
                claimed_by=row.claimed_by,
                claimed_at=row.claimed_at,
                posted_at=row.posted_at,
                late=row.late,
                message_ts=row.message_ts,
            )

    # --- reviews ----------------------------------------------------------------------------
    # Expiry and reminders for drafts waiting on a person (bot.runtime.review_deadlines). Every change is a
    # conditional UPDATE, so several bot instances sweeping at once act on each run once.

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

    def claim_reminder(self, run_id: str, at: datetime) -> bool:
        """Mark a waiting run as reminded; True for exactly one caller (across instances)."""
        with self._write("a review reminder") as session:
            result = session.execute(
                update(models.Run)
                .where(
                    models.Run.id == run_id,
                    models.Run.reminded_at.is_(None),
                    models.Run.status.in_(AWAITING_REVIEW),
                )
                .values(reminded_at=at)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- recovery ---------------------------------------------------------------------------
    # Crash recovery and late delivery (bot.runtime.recovery). Liveness is a heartbeat row per instance
    # (a ``job_claims`` row keyed ``heartbeat:<instance>``, its ``claimed_at`` moved forward), so
    # every instance can tell a dead owner from a live one with the same SQL on SQLite and
    # PostgreSQL. Taking over a run is the usual conditional UPDATE: one instance wins.

    def ping(self) -> None:
        """One round trip to the database (``SELECT 1``); ``AuditStoreError`` if it is unreachable."""
        with self._read() as session:
            session.execute(select(1))

    def beat(self, instance: str, at: datetime) -> None:
        """Record that ``instance`` is alive at ``at`` (an upsert on its heartbeat row)."""
        key, claim = f"{HEARTBEAT_PREFIX}{instance}", models.JobClaim
        with self._write("the instance heartbeat") as session:
            moved = session.execute(
                update(claim).where(claim.key == key).values(claimed_by=instance, claimed_at=at)
            ).rowcount  # type: ignore[attr-defined]
        if moved:
            return
        try:
            with self._write("the first instance heartbeat", conflicts_expected=True) as session:
                session.add(models.JobClaim(key=key, claimed_by=instance, claimed_at=at))
        except IntegrityError:
            pass  # a concurrent beat of the same instance inserted it first

    def heartbeats(self) -> dict[str, datetime]:
        """The last beat of every instance that ever beat."""
        claim = models.JobClaim
        with self._read() as session:
            rows = session.execute(
                select(claim.claimed_by, claim.claimed_at).where(claim.key.startswith(HEARTBEAT_PREFIX))
            ).all()
        return {row.claimed_by: row.claimed_at for row in rows}

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

    def interrupt_run(self, run_id: str, at: datetime, error: str, *, actor: str = "lanebot") -> bool:
        """Mark an orphaned run ``failed`` with a ``fail`` event whose reason is ``interrupted``.

        True for exactly one caller: the update only moves a run still ``running``/``queued``, and
        the event is written in the same transaction, so it exists if and only if the update won.
        """
        with self._write("the interruption of a run") as session:
            moved = session.execute(
                update(models.Run)
                .where(models.Run.id == run_id, models.Run.status.in_(IN_FLIGHT))
                .values(status="failed", error=error)
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

    def claim_delivery(self, run_id: str) -> bool:
        """Take the late delivery of a run's outcome; True for exactly one caller."""
        with self._write("the claim of a late delivery") as session:
            moved = session.execute(
                update(models.Run)
                .where(models.Run.id == run_id, models.Run.slack_draft_ts.is_(None))
                .values(slack_draft_ts=DELIVERING)
            ).rowcount  # type: ignore[attr-defined]
        return bool(moved)

    def finish_delivery(self, run_id: str, draft_ts: str | None) -> None:
        """Record the posted message (``draft_ts``), or give the claim back (None) for a later retry."""
        with self._write("the end of a late delivery") as session:
            session.execute(
                update(models.Run)
                .where(models.Run.id == run_id, models.Run.slack_draft_ts == DELIVERING)
                .values(slack_draft_ts=draft_ts)
            )


HEARTBEAT_PREFIX = "heartbeat:"
IN_FLIGHT = ("running", "queued")
INTERRUPTED = "interrupted"
"""The ``reason`` of the ``fail`` event recovery writes on a run whose process died mid-run."""
SLACK_REFUSED_ROOT = "Slack refused the post:"
"""How ``bot.slack.flows.lane_request`` words the error of a run whose thread root Slack refused
(outage, 5xx)."""
DELIVERING = "delivering"
"""``slack_draft_ts`` while one instance is posting a late outcome (see ``claim_delivery``)."""


@contextmanager
def _read_errors() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        log.error("audit store read failed (%s)", type(exc).__name__)
        raise AuditStoreError(
            f"the audit store could not be read ({type(exc).__name__}); check DATABASE_URL and that "
            "the database is up"
        ) from exc


@contextmanager
def _write_errors(what: str, conflicts_expected: bool) -> Iterator[None]:
    """Database failures of a write become ``AuditWriteError`` (see ``AuditStore._write``)."""
    try:
        yield
    except IntegrityError as exc:
        if conflicts_expected:
            raise
        log.error("audit store write rejected: %s (%s)", what, type(exc).__name__)
        raise AuditWriteError(
            f"the audit store rejected {what} ({type(exc).__name__}); "
            "no draft is shown without an audit record"
        ) from exc
    except SQLAlchemyError as exc:
        log.error("audit store write failed: %s (%s)", what, type(exc).__name__)
        raise AuditWriteError(
            f"the audit store could not record {what} ({type(exc).__name__}); "
            "no draft is shown without an audit record — "
            "check DATABASE_URL and that the database is writable"
        ) from exc


def to_record(row: models.Run) -> RunRecord:
    """Copy an ORM run (with attempts and decisions loaded) into a frozen record."""
    fields = {
        name: getattr(row, name)
        for name in RunRecord.__dataclass_fields__
        if name not in ("attempts", "decisions")
    }
    fields["route_reasons"] = tuple(row.route_reasons or ())
    attempts = tuple(
        AttemptRecord(**{name: getattr(a, name) for name in AttemptRecord.__dataclass_fields__})
        for a in row.attempts
    )
    decisions = tuple(
        DecisionRecord(**{name: getattr(d, name) for name in DecisionRecord.__dataclass_fields__})
        for d in row.decisions
    )
    return RunRecord(**fields, attempts=attempts, decisions=decisions)


StoreFactory = Callable[[str], AuditStore]
