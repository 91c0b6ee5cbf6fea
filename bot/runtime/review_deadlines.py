"""Drafts nobody decided on: one reminder before the deadline, then expiry.

Called periodically by the scheduler (every minute is plenty); safe on every instance at once.
Expiry is a final decision of kind ``expire`` applied with the store's atomic conditional update,
so a run expires once, never after someone approved it, and is never counted as a rejection. A
reminder is claimed with a conditional update on ``reminded_at``: owners are reminded once.

A lane's reminder goes out when a quarter of its ``review_timeout`` is left (24 h → 6 h before).
Slack failures are logged and do not undo the audit: the status is the truth, the message a view.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import messages, slack_io, views
from lanes.audit.records import NewDecision, RunRecord
from lanes.config import LaneConfig, LanesConfig
from lanes.lifecycle import DecisionGuard, transition
from storage.store import AuditStore

log = logging.getLogger(__name__)

BOT_ACTOR = "lanebot"
REMIND_WHEN_LEFT = 0.25


def reminder_lead(lane: LaneConfig) -> timedelta:
    return timedelta(seconds=lane.review_timeout_s * REMIND_WHEN_LEFT)


def expire_due(
    store: AuditStore, client: WebClient, config: LanesConfig, now: datetime, *, limit: int = 200
) -> int:
    """Expire every waiting run past its deadline; returns how many this call expired."""
    expired = 0
    for run in store.runs_expiring(now, limit=limit):
        lane = config.lanes.get(run.lane)
        timeout = lane.review_timeout if lane else "its review timeout"
        outcome = store.apply_decision(
            NewDecision(
                run_id=run.id,
                kind="expire",
                actor=BOT_ACTOR,
                created_at=now,
                final=True,
                note=f"no decision within {timeout}",
            ),
            DecisionGuard(transition("expire"), seen_approvals=run.approval_count),
        )
        if not outcome.applied:
            continue
        expired += 1
        log.info("draft expired", extra={"run_id": run.id, "lane": run.lane})
        _update(client, run, messages.expired(timeout))
    return expired


def remind_due(
    store: AuditStore, client: WebClient, config: LanesConfig, now: datetime, *, limit: int = 200
) -> int:
    """Remind owners and reviewers once about drafts close to expiry; returns how many were sent."""
    leads = [reminder_lead(lane) for lane in config.lanes.values()]
    horizon = now + max(leads, default=timedelta(0))
    sent = 0
    for run in store.runs_expiring(horizon, unreminded_only=True, limit=limit):
        lane = config.lanes.get(run.lane)
        if lane is None or run.expires_at is None or not _reminder_window(run.expires_at, lane, now):
            continue
        if not store.claim_reminder(run.id, now):
            continue
        store.record_event(run.id, "remind", BOT_ACTOR, now, note=f"expires {run.expires_at.isoformat()}")
        sent += 1
        _remind(client, run, lane)
    return sent


def _reminder_window(expires_at: datetime, lane: LaneConfig, now: datetime) -> bool:
    """Inside the last quarter of the review window, and not already past it (expiry comes next)."""
    return expires_at - reminder_lead(lane) <= now < expires_at


def sweep(store: AuditStore, client: WebClient, config: LanesConfig, now: datetime) -> tuple[int, int]:
    """Both jobs in one call for a scheduler: (reminders sent, drafts expired)."""
    return remind_due(store, client, config, now), expire_due(store, client, config, now)


def _update(client: WebClient, run: RunRecord, status: str) -> None:
    if not run.slack_channel or not run.slack_draft_ts:
        return
    blocks = views.closed_message(status, views.RunContext.of_record(run))
    try:
        slack_io.update(
            client,
            run.slack_channel,
            run.slack_draft_ts,
            messages.decision_fallback("expired", run.lane),
            blocks,
        )
    except SlackApiError as exc:
        log.warning(
            "expired draft's message not updated",
            extra={"run_id": run.id, "error": slack_io.slack_error(exc)},
        )


def _remind(client: WebClient, run: RunRecord, lane: LaneConfig) -> None:
    if not run.slack_channel or not run.slack_root_ts or run.expires_at is None:
        return
    when = run.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    text = messages.reminder((*lane.owners, *lane.reviewers), int(run.expires_at.timestamp()), when)
    try:
        slack_io.post(client, run.slack_channel, text, views.plain_message(text), thread_ts=run.slack_root_ts)
    except SlackApiError as exc:
        log.warning(
            "review reminder not posted", extra={"run_id": run.id, "error": slack_io.slack_error(exc)}
        )
