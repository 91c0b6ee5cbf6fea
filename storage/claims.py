"""Claims and leases: what must happen exactly once across threads, processes and bot instances.

Each claim is an INSERT of a unique key or a conditional UPDATE, so the database picks one winner:
Slack delivery keys (a retried delivery never starts a second run), scheduled job slots, digest
weeks (posted once per channel and week, a stale claim taken over), review reminders (once per
run), late deliveries of an outcome Slack missed, and instance heartbeats (liveness for crash
recovery: a ``job_claims`` row keyed ``heartbeat:<instance>``, its ``claimed_at`` moved forward).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from lanes.audit import AWAITING_REVIEW
from storage import models
from storage._base import StoreBase
from storage.digest_queries import DigestClaim

DIGEST_CLAIM_STALE_AFTER = timedelta(minutes=15)
"""An unposted digest claim older than this is taken over: the instance that held it failed."""
HEARTBEAT_PREFIX = "heartbeat:"
DELIVERING = "delivering"
"""``slack_draft_ts`` while one instance is posting a late outcome (see ``claim_delivery``)."""


CLAIM_RETENTION = timedelta(days=30)
"""Job-slot claims and dead instances' heartbeats older than this are pruned (``prune_claims``)."""
DELIVERY_KEY_RETENTION = timedelta(days=7)
"""Slack retries a delivery for minutes, not days: delivery keys older than this are pruned."""


class Claims(StoreBase):
    """Exactly-once claims; every method's True goes to one caller."""

    def prune_claims(
        self,
        now: datetime,
        *,
        claims_older_than: timedelta = CLAIM_RETENTION,
        delivery_keys_older_than: timedelta = DELIVERY_KEY_RETENTION,
    ) -> int:
        """Delete spent claims: job slots and heartbeats older than ``claims_older_than`` (a live
        instance beats every few seconds, so its row is never that old) and Slack delivery keys
        older than ``delivery_keys_older_than``. Both tables otherwise grow without bound (a job
        slot every few minutes, a key per delivery). Returns how many rows went; safe on every
        instance at once (a DELETE of what is already gone deletes nothing)."""
        with self._write("the pruning of spent claims") as session:
            jobs = session.execute(
                delete(models.JobClaim).where(models.JobClaim.claimed_at < now - claims_older_than)
            ).rowcount  # type: ignore[attr-defined]
            keys = session.execute(
                delete(models.ProcessedEvent).where(
                    models.ProcessedEvent.created_at < now - delivery_keys_older_than
                )
            ).rowcount  # type: ignore[attr-defined]
        return int(jobs or 0) + int(keys or 0)

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
