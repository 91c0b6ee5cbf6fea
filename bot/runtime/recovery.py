"""Crash recovery and late delivery: no run is left ``running`` and no outcome is silently lost.

A run's row says ``running`` from the moment the engine starts it until it writes the outcome. If
the process dies in between (``kill -9``, OOM, a node drained without grace), the row would say
``running`` forever and the requester would wait forever. This module finds such runs and closes
them honestly: status ``failed``, a ``fail`` event with reason ``interrupted``, and a message in
Slack telling the requester to send the request again.

**Why fail instead of resume.** Resuming means calling a model again with the request text. The
audit keeps only *redacted* text (or none, with ``store_text = "none"``), by design, so a resumed
run would answer a different request than the one typed, possibly with a different route. Saying
"interrupted, please resend" is truthful and costs the person one command.

**Whose runs may be taken (several live instances).** A run is an orphan when its owner
(``runs.owner_instance``) is known to be gone, never merely because it is slow:

- each instance beats (``AuditStore.beat``) every ``beat_every``; an owner whose last beat is older
  than ``stale_after`` (6 missed beats by default) is dead, and its runs are orphans at once;
- an owner that never beat (the CLI, the playground) is given ``max_run``: longer than any run can
  take, since every model call has a timeout (3 × the sum of all tiers' timeouts, plus a minute);
- an instance starting up takes its *own* id's ``running`` runs at once (a restart with a fixed
  ``LANEBOT_INSTANCE``: those belong to its previous life), and later its own runs past ``max_run``
  (a run whose failure could not even be recorded because the database was down; its flow has
  already told the requester, so that one is closed without a second message).

A live instance beats from its own thread whatever its workers are doing, so its runs are never
taken however long a model takes. Taking a run is a conditional UPDATE (``interrupt_run``): when
two instances recover at once, one wins and only the winner tells the requester.

**Requests acked as queued** (every worker busy) have a ``queued`` run from
``bot.runtime.queued_requests``; the
same rules apply to them, except that this live instance's own queued runs are left alone for as
long as its queue could hold them (``max_queue_time``): they are waiting in its memory.

**Late delivery.** When Slack is unreachable as an outcome is ready, the flow records the thread
root and leaves ``slack_draft_ts`` empty. ``deliver_pending`` posts those outcomes once Slack is
back (a draft with its buttons, or the outcome in words), claiming each so it is posted once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.slack import ids, messages, slack_io, views
from lanes.audit.records import RunRecord
from lanes.clock import utcnow
from lanes.config import LanesConfig
from lanes.errors import AuditStoreError
from lanes.estimates import drafted_by
from lanes.values import AWAITING_REVIEW
from storage.store import AuditStore

log = logging.getLogger(__name__)

RETRYABLE_SLACK_ERRORS = frozenset({"ratelimited", "internal_error", "service_unavailable", "fatal_error"})
UNDELIVERABLE = "undeliverable"
"""``slack_draft_ts`` of an outcome Slack refused for good (e.g. the bot left the channel)."""


@dataclass(frozen=True)
class RecoverySettings:
    beat_every: timedelta = timedelta(seconds=10)
    stale_after: timedelta = timedelta(seconds=60)
    """An instance silent this long is dead; must be several ``beat_every`` (a slow beat is not death)."""
    max_run: timedelta | None = None
    """Longest a run can take; None derives it from the model timeouts (``max_run_time``)."""


@dataclass(frozen=True)
class RecoveryReport:
    interrupted: tuple[str, ...] = ()
    delivered: tuple[str, ...] = ()


def max_run_time(config: LanesConfig) -> timedelta:
    """An upper bound on a run's duration: every tier tried, each with a retry, plus a minute."""
    total = sum(spec.timeout_s for spec in config.models.values())
    return timedelta(seconds=3 * total + 60)


def max_queue_time(config: LanesConfig, max_run: timedelta) -> timedelta:
    """An upper bound on how long a request can wait in a live instance's worker queue: every
    request ahead of it (at most ``queue_limit``) taking ``max_run`` on one of ``workers``."""
    runtime = config.runtime
    return max_run * (1 + math.ceil(runtime.queue_limit / runtime.workers))


def orphan_reason(
    run: RunRecord,
    *,
    me: str,
    starting: bool,
    beats: dict[str, datetime],
    now: datetime,
    stale_after: timedelta,
    max_run: timedelta,
    max_queue_wait: timedelta,
) -> str | None:
    """Why ``run`` (still ``running``/``queued``) has no live process, or None if it may be live. Pure.

    A ``queued`` run of this live instance waits in its worker queue, which can hold it for up to
    ``max_queue_wait`` (``max_queue_time``) before a worker adopts it."""
    owner = run.owner_instance or ""
    started = run.started_at or run.created_at
    if owner == me and starting:
        return f"{owner} restarted"
    if owner == me and run.status == "queued":
        waited = now - run.created_at
        return f"{owner} dropped it from its queue" if waited > max_queue_wait else None
    if owner != me and owner in beats:
        silent = now - beats[owner]
        return f"{owner} stopped" if silent > stale_after else None
    return f"{owner or 'its process'} stopped" if now - started > max_run else None


class Recovery:
    """Beats for this instance, closes orphaned runs and posts outcomes Slack missed."""

    def __init__(
        self,
        store: AuditStore,
        client: WebClient,
        config: LanesConfig,
        instance: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        settings: RecoverySettings | None = None,
    ) -> None:
        self.store, self.client, self.config, self.instance = store, client, config, instance
        self.clock = clock
        self.settings = settings or RecoverySettings()
        self.max_run = self.settings.max_run or max_run_time(config)
        self.max_queue_wait = max_queue_time(config, self.max_run)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass ---------------------------------------------------------------------------

    def on_start(self) -> RecoveryReport:
        """Before serving: beat, take this id's leftover runs and any dead instance's, deliver."""
        return self._pass(starting=True)

    def tick(self) -> RecoveryReport:
        return self._pass(starting=False)

    def _pass(self, *, starting: bool) -> RecoveryReport:
        self.store.beat(self.instance, self.clock())
        interrupted = self.recover(starting=starting)
        delivered = self.deliver_pending()
        return RecoveryReport(tuple(interrupted), tuple(delivered))

    def recover(self, *, starting: bool = False) -> list[str]:
        """Mark every orphaned run ``failed``/interrupted and tell its requester; returns their ids."""
        now, beats = self.clock(), self.store.heartbeats()
        beats.pop(self.instance, None)  # our own liveness is not evidence about our own runs
        taken: list[str] = []
        for run in self.store.runs_in_flight():
            why = orphan_reason(
                run,
                me=self.instance,
                starting=starting,
                beats=beats,
                now=now,
                stale_after=self.settings.stale_after,
                max_run=self.max_run,
                max_queue_wait=self.max_queue_wait,
            )
            if why is None:
                continue
            owner = run.owner_instance or "unknown"
            if not self.store.interrupt_run(
                run.id, now, messages.interrupted_error(owner, queued=run.status == "queued")
            ):
                continue  # another instance recovered it first
            taken.append(run.id)
            log.warning(
                "run interrupted by a dead process; marked failed",
                extra={"run_id": run.id, "lane": run.lane, "owner": owner, "why": why},
            )
            if owner != self.instance or starting:
                self._tell_interrupted(run)
            # else: this live process abandoned it after an audit-store failure and its flow
            # already told the requester "no log, no draft"; a second message would contradict it.
        return taken

    def _tell_interrupted(self, run: RunRecord) -> None:
        channel = run.slack_channel or run.channel
        if run.source != "slack" or not channel:
            return
        text = messages.interrupted(run.requester, run.lane, run.id, queued=run.status == "queued")
        try:
            slack_io.post(self.client, channel, text, views.plain_message(text), thread_ts=run.slack_root_ts)
        except (SlackClientError, OSError) as exc:
            log.error(
                "requester not told of an interrupted run",
                extra={"run_id": run.id, "error": slack_io.slack_error(exc) or type(exc).__name__},
            )

    # --- late delivery ----------------------------------------------------------------------

    def deliver_pending(self) -> list[str]:
        """Post outcomes whose Slack post failed; stops at the first transient Slack failure."""
        delivered: list[str] = []
        for run in self.store.undelivered_runs():
            if not self.store.claim_delivery(run.id):
                continue
            try:
                ts = self._post_outcome(run)
            except (SlackClientError, OSError) as exc:
                code = slack_io.slack_error(exc)
                transient = code is None or code in RETRYABLE_SLACK_ERRORS
                self.store.finish_delivery(run.id, None if transient else UNDELIVERABLE)
                log.warning(
                    "late delivery failed", extra={"run_id": run.id, "error": code or type(exc).__name__}
                )
                if transient:
                    break  # Slack is still away; the next tick tries again
                continue
            self.store.finish_delivery(run.id, ts)
            delivered.append(run.id)
            log.info("outcome delivered late", extra={"run_id": run.id, "lane": run.lane})
        return delivered

    def _post_outcome(self, run: RunRecord) -> str:
        channel = run.slack_channel or run.channel or ""
        if run.status in AWAITING_REVIEW and run.draft_text is not None:
            blocks = late_draft_blocks(run)
            return slack_io.post(
                self.client, channel, messages.draft_fallback(run.lane), blocks, thread_ts=run.slack_root_ts
            )
        text = messages.outcome_delivered_late(run.requester, run.lane, run.id, run.status, run.error)
        return slack_io.post(
            self.client, channel, text, views.plain_message(text), thread_ts=run.slack_root_ts
        )

    # --- background loop --------------------------------------------------------------------

    def start(self) -> None:
        """Tick every ``beat_every`` in a daemon thread until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="lanebot-recovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.beat_every.total_seconds()):
            try:
                self.tick()
            except AuditStoreError:
                log.warning("recovery tick skipped: the audit store is unreachable")
            except Exception:
                log.exception("recovery tick failed")


def late_draft_blocks(run: RunRecord) -> list[dict[str, Any]]:
    """A draft posted after an outage: a note, the stored (redacted) text, context and the buttons."""
    layout = slack_io.layout_draft(slack_io.escape(run.draft_text or ""))
    blocks: list[dict[str, Any]] = [views.section(messages.delivered_late())]
    if run.status == "needs_human":
        blocks.append(views.section(messages.needs_human_line(run.error or "", run.failed_check)))
    blocks += views.framed_draft(layout.messages[0], drafted_by(run.model or run.tier, run.cost_estimated))
    blocks.append(views.context(views.run_context(views.RunContext.of_record(run)), ids.DRAFT_CONTEXT_BLOCK))
    blocks.append(views.decision_actions(run.id, editable=not layout.continued))
    return blocks
