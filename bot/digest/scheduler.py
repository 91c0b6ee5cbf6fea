"""The bot's clock-driven work: the weekly digest, review reminders and the expiry sweep.

One APScheduler ``BackgroundScheduler`` inside the bot process runs three kinds of job, and none
of them trusts the scheduler for "exactly once", because every bot instance runs its own:

- **digest**: a cron job at the ``[digest]`` slot (``"mon 09:00"`` in the digest's timezone), and
  a catch-up job at start and every few minutes. Both call ``post_due``, which works out the most
  recent slot, the week it reports, and posts through ``post_digest``, whose database claim makes
  the post happen once per (channel, week). A slot missed while the bot was down is therefore
  posted when it returns, marked late; a post that failed is retried by the next catch-up.
- **reminders** and **expiry sweep**: callables written by the Slack app (passed in, so this
  module needs no Slack flow code). Each tick is a time slot (``floor(now / every)``, the same on
  every instance whatever its start time); the instance that claims the slot's ``job_claims`` key
  runs it, the others skip it. The callables are idempotent themselves (conditional updates), so
  the claim saves work rather than guarding correctness.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digest.post import SlackClient, post_digest
from bot.digest.weeks import WEEKDAYS, latest_slot, parse_slot, week_for_slot
from lanes.clock import utcnow
from lanes.config import LanesConfig
from storage.store import AuditStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SlotJob = Callable[[datetime], object]
"""A periodic job: called with the time it runs at (``clock()``)."""


@dataclass(frozen=True)
class ScheduleSettings:
    reminder_every: timedelta = timedelta(minutes=15)
    sweep_every: timedelta = timedelta(minutes=5)
    prune_every: timedelta = timedelta(hours=1)
    catch_up_every: timedelta = timedelta(minutes=10)
    late_after: timedelta = timedelta(minutes=30)
    """A digest posted more than this after its slot is marked late."""


def slot_key(name: str, now: datetime, every: timedelta) -> str:
    """``name@<slot start>``: identical on every instance for the same period."""
    seconds = every.total_seconds()
    start = datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=UTC)
    return f"{name}@{start:%Y-%m-%dT%H:%M:%SZ}"


class BotScheduler:
    """Owns one ``BackgroundScheduler``; ``start()`` also runs the digest catch-up at once."""

    def __init__(
        self,
        *,
        store: AuditStore,
        client: SlackClient,
        config: LanesConfig,
        instance: str,
        clock: Clock = utcnow,
        reminders: SlotJob | None = None,
        expiry_sweep: SlotJob | None = None,
        settings: ScheduleSettings | None = None,
    ) -> None:
        self.store, self.client, self.config, self.instance = store, client, config, instance
        self.clock = clock
        self.reminders, self.expiry_sweep = reminders, expiry_sweep
        self.settings = settings or ScheduleSettings()
        timezone = config.digest.timezone if config.digest else "UTC"
        self._scheduler = BackgroundScheduler(timezone=ZoneInfo(timezone), daemon=True)
        self._add_jobs()

    def _add_jobs(self) -> None:
        s = self.settings
        if self.config.digest is not None and self.config.digest.channel:
            self._scheduler.add_job(
                self._guarded("digest", self.post_due),
                digest_trigger(self.config.digest.cron, self.config.digest.timezone),
                id="digest",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(s.late_after.total_seconds()),
            )
            self._scheduler.add_job(
                self._guarded("digest catch-up", self.post_due),
                IntervalTrigger(seconds=s.catch_up_every.total_seconds()),
                id="digest-catch-up",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
        for name, job, every in (
            ("reminders", self.reminders, s.reminder_every),
            ("expiry-sweep", self.expiry_sweep, s.sweep_every),
            ("prune-claims", self.store.prune_claims, s.prune_every),
        ):
            if job is not None:
                self._scheduler.add_job(
                    self._guarded(name, self._slot_runner(name, every, job)),
                    IntervalTrigger(seconds=every.total_seconds()),
                    id=name,
                    max_instances=1,
                    coalesce=True,
                )

    def start(self) -> None:
        self._scheduler.start()
        log.info("scheduler started", extra={"instance": self.instance, "jobs": self.job_ids()})

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def next_run(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        return None if job is None else job.next_run_time

    # --- the jobs (public so a test or the CLI can run one tick by hand) ---------------------

    def post_due(self) -> bool:
        """Post the digest the most recent slot reports, unless some instance already did."""
        digest = self.config.digest
        if digest is None:
            return False
        now = self.clock()
        slot = latest_slot(now, digest.cron, digest.timezone)
        late = now - slot > self.settings.late_after
        week = week_for_slot(slot, digest.timezone)
        return post_digest(self.store, self.client, self.config, week, self.instance, now, late=late)

    def run_slot(self, name: str, every: timedelta, job: SlotJob) -> bool:
        """Run ``job`` if this instance claims the current ``every``-long slot of ``name``."""
        now = self.clock()
        if not self.store.claim_job(slot_key(name, now, every), self.instance, now):
            return False
        job(now)
        return True

    def _slot_runner(self, name: str, every: timedelta, job: SlotJob) -> Callable[[], object]:
        return lambda: self.run_slot(name, every, job)

    def _guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        """Log a failing tick once, here at the boundary, and keep the scheduler alive for the next one."""

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("scheduled job failed", extra={"job": name, "instance": self.instance})

        return run


def digest_trigger(cron: str, timezone: str) -> CronTrigger:
    """The ``[digest] cron`` slot (``"mon 09:00"``) as an APScheduler trigger in the digest's timezone."""
    weekday, at = parse_slot(cron)
    return CronTrigger(
        day_of_week=WEEKDAYS[weekday], hour=at.hour, minute=at.minute, timezone=ZoneInfo(timezone)
    )
