""" "Run anyway": an owner waives a budget stop for one run, on the tier the policy wanted.

Only the lane's owners may (``lanes.permissions.authorize``, action ``run_anyway``); a refusal is
recorded like any refused click. Exactly one new run per stopped run, across clicks and bot
instances: the first click claims ``run-anyway:<run id>`` in the store (a unique key), later ones
are told who confirmed. The new run carries ``confirmed_tier`` (the policy waives the budget for
that tier only) and an idempotency key derived from the stopped run, and posts in the same thread.
"""

from __future__ import annotations

import json
import logging

from slack_sdk.errors import SlackApiError

from bot.slack import messages, slack_io, views
from bot.slack.flows.decision_clicks import Click
from bot.slack.flows.lane_request import RunJob, run_and_post
from bot.slack.flows.services import Services
from lanes.audit.records import RunRecord
from lanes.permissions import RunFacts, authorize
from lanes.values import RunRequest

log = logging.getLogger(__name__)


def run_anyway(services: Services, click: Click) -> None:
    run = services.store.get_run(click.run_id)
    tier = str(json.loads(click.value).get("tier", "")) if click.value.startswith("{") else ""
    refusal = _refusal(services, run, click.user, tier)
    if refusal is not None:
        services.store.record_event(
            run.id, "refused", click.user, services.clock(), note=f"run_anyway: {refusal}"
        )
        slack_io.ephemeral(
            services.client,
            click.channel,
            click.user,
            messages.refused("run", refusal),
            thread_ts=click.thread_ts,
        )
        return
    if not services.store.claim_event(f"run-anyway:{run.id}", services.clock()):
        first = next(
            (d.actor for d in services.store.get_run(run.id).decisions if d.kind == "run_anyway"), None
        )
        slack_io.ephemeral(
            services.client,
            click.channel,
            click.user,
            messages.run_anyway_already(first),
            thread_ts=click.thread_ts,
        )
        return
    services.store.record_event(run.id, "run_anyway", click.user, services.clock(), note=f"tier {tier}")
    services.on_decision(run.lane, "run_anyway")
    _start(services, run, click, tier)


def _refusal(services: Services, run: RunRecord, actor: str, tier: str) -> str | None:
    lane = services.config.lane(run.lane)
    if tier not in services.config.models:
        return "this button names no model tier of the current lanes.toml"
    owners = frozenset(lane.owners)
    groups = services.decisions.groups.groups_of(actor, frozenset(g for g in owners if g.startswith("S")))
    facts = RunFacts(lane=run.lane, requester=run.requester, status=run.status, review_rule=run.review_rule)
    verdict = authorize(lane, facts, actor, groups, run.approvals, "run_anyway")
    return None if verdict.allowed else verdict.reason


def _start(services: Services, run: RunRecord, click: Click, tier: str) -> None:
    lane = services.config.lane(run.lane)
    text, from_audit = _request_text(services, run)
    status = messages.run_anyway_confirmed(click.user, tier, services.config.models[tier].model)
    if text is None:
        status = f"{status}\n{messages.run_anyway_no_text(lane.command)}"
    elif from_audit:
        status = f"{status}\n{messages.run_anyway_text_source(True)}"
    _show(services, click, run.id, status)
    if text is None:
        return
    request = RunRequest(
        lane=lane.name,
        text=text,
        requester=run.requester,
        channel=run.channel,
        source="slack",
        idempotency_key=f"run-anyway:{run.id}",
        confirmed_tier=tier,
    )
    job = RunJob(
        request=request,
        command=lane.command,
        channel=run.slack_channel or click.channel,
        response_url=click.response_url,
        thread_ts=run.slack_root_ts or click.thread_ts,
    )
    admission = services.pool.submit(lambda: run_and_post(services, job), label="run anyway")
    if not admission.accepted:
        refusal = messages.ack_refused(lane.command, admission.running, admission.waiting)
        slack_io.ephemeral(services.client, click.channel, click.user, refusal, thread_ts=click.thread_ts)


def _request_text(services: Services, run: RunRecord) -> tuple[str | None, bool]:
    """The text to run: as typed (held by this instance), else the audit's redacted copy, else none."""
    held = services.held.take(run.id)
    if held is not None:
        return held, False
    if run.text_redacted and run.input_text:
        return run.input_text, True
    return None, False


def _show(services: Services, click: Click, run_id: str, status: str) -> None:
    """The budget-stop message, its button replaced by who confirmed."""
    try:
        slack_io.update(
            services.client,
            click.channel,
            click.message_ts,
            status,
            views.decided_message(click.blocks, status),
        )
    except SlackApiError as exc:
        log.warning(
            "confirmation message not updated", extra={"run_id": run_id, "error": slack_io.slack_error(exc)}
        )
