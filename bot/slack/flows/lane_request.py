"""A lane's slash command, from the ack to the draft in its thread.

``accept_command`` runs inside Slack's 3-second window and touches nothing slow: it validates the
request (pure), previews its route (pure, with the cached spend) and *admits* the run to the
bounded worker pool (in memory). Its answer is the ephemeral ack: the route and why, or that the
run is queued, or refused, or the lane's usage.

``run_and_post`` is the worker job. Slash commands cannot start threads, so it posts a root
message (lane, requester, excerpt), runs the engine, and posts the outcome as a thread reply:
the draft with its buttons, a budget stop with "run anyway", or a failure that says what failed.
If the bot cannot post in the channel, nothing is sent to a model, the run is recorded as failed
with that error, and the requester is told (via the command's response_url) to invite the bot.
Retried deliveries are stopped twice: by Slack's retry header in the ack, and by claiming the
command's trigger id in the audit store (which holds across instances).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from slack_sdk.errors import SlackApiError

from bot.runtime.worker_pool import Admission
from bot.slack import messages, slack_io, views
from bot.slack.flows.services import Services, short_reference
from bot.slack.payloads import SlashCommand
from lanes.audit.records import NewRun, RunOutcome
from lanes.checks import sensitive_matches
from lanes.config import LaneConfig
from lanes.engine import starting_run
from lanes.errors import AuditStoreError, AuditWriteError, DuplicateRequestError, InvalidRequestError
from lanes.lifecycle import transition
from lanes.values import Route, RunRequest, RunResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaneCommand:
    """A slash command as Slack sent it, reduced to what the flow needs. Slack sends ``&``, ``<`` and
    ``>`` typed by the user as entities; ``text`` is what the person actually typed. Built only from
    a validated ``SlashCommand``, so the user, channel, team and trigger id are never empty."""

    command: str
    text: str
    user: str
    channel: str
    team: str
    trigger_id: str
    response_url: str | None
    retry_num: int = 0

    @classmethod
    def from_payload(cls, payload: SlashCommand, headers: Mapping[str, Sequence[str]]) -> LaneCommand:
        retry = (headers.get("x-slack-retry-num") or ["0"])[0]
        return cls(
            command=payload.command,
            text=slack_io.unescape(payload.text),
            user=payload.user_id,
            channel=payload.channel_id,
            team=payload.team_id,
            trigger_id=payload.trigger_id,
            response_url=payload.response_url,
            retry_num=int(retry) if str(retry).isascii() and str(retry).isdigit() else 0,
        )

    @property
    def delivery_key(self) -> str:
        """The idempotency key of this delivery (``slack:<team>:<trigger id>``); both parts are
        required fields of the payload, so no two requests share a key by missing them."""
        if not (self.team and self.trigger_id):
            raise ValueError("a command without its team or trigger id has no delivery key")
        return f"slack:{self.team}:{self.trigger_id}"


@dataclass(frozen=True)
class RunJob:
    """One run for a worker: the request, where to post, and how to reach the requester."""

    request: RunRequest
    command: str
    channel: str
    response_url: str | None = None
    thread_ts: str | None = None
    """An existing thread (run anyway); otherwise a root message is posted first."""
    claim_key: str | None = None


# --- the ack ----------------------------------------------------------------------------------


def accept_command(services: Services, cmd: LaneCommand) -> str:
    """The ephemeral ack text; admits the run to the worker pool when there is one to run."""
    lane = services.config.lane_for_command(cmd.command)
    if lane is None:
        return messages.unknown_command(cmd.command, [ln.command for ln in services.config.lanes.values()])
    if not cmd.text.strip():
        return messages.usage(lane.command, lane.description, lane.max_input_chars)
    if cmd.retry_num > 0:
        return messages.ack_retry(lane.command)
    request = RunRequest(
        lane=lane.name,
        text=cmd.text,
        requester=cmd.user,
        channel=cmd.channel,
        source="slack",
        idempotency_key=cmd.delivery_key,
    )
    try:
        route = services.engine.preview(request, spent_today_usd=services.spend.get(lane.name))
    except InvalidRequestError as exc:
        return messages.invalid_request(str(exc))
    job = RunJob(
        request=request,
        command=lane.command,
        channel=cmd.channel,
        response_url=cmd.response_url,
        claim_key=f"slack-command:{cmd.delivery_key}",
    )
    ticket = QueueTicket()
    admission = services.pool.submit(lambda: run_and_post(services, job, ticket), label="run")
    if admission.state == "queued" and services.intake is not None:
        queued = queued_run(services, lane, request, route)
        ticket.run_id = queued.id
        services.intake.record(queued)
    return _ack_text(services, lane, route, admission)


class QueueTicket:
    """Hands a queued request's run id (``bot.runtime.queued_requests``) from the ack to the worker that
    runs it.
    A worker that starts before the ack set it finds the queued run by its idempotency key."""

    run_id: str | None = None


def queued_run(services: Services, lane: LaneConfig, request: RunRequest, route: Route) -> NewRun:
    """The run that keeps a waiting request on record (``bot.runtime.queued_requests``); no text until
    it starts."""
    return starting_run(
        lane,
        request,
        route,
        run_id=services.new_id(),
        created_at=services.clock(),
        instance=services.instance,
    )


def _ack_text(services: Services, lane: LaneConfig, route: Route, admission: Admission) -> str:
    if not admission.accepted:
        return messages.ack_refused(lane.command, admission.running, admission.waiting)
    if route.needs_confirmation or route.tier is None:
        return messages.ack_needs_confirmation(lane.command, route.explain())
    model = services.config.models[route.tier].model
    if admission.state == "queued":
        return messages.ack_queued(lane.command, route.tier, model, route.explain(), admission.ahead)
    return messages.ack_started(lane.command, route.tier, model, route.explain())


# --- the worker job ---------------------------------------------------------------------------


def run_and_post(services: Services, job: RunJob, ticket: QueueTicket | None = None) -> None:
    """Post the root, run the lane, post the outcome in the thread. Never fails silently: whatever
    goes wrong is logged once with a reference and the requester is told (response_url)."""
    if ticket is not None and ticket.run_id is not None:
        job = replace(job, request=replace(job.request, queued_run_id=ticket.run_id))
    try:
        _run_and_post(services, job)
    except AuditStoreError:
        log.error("run stopped: audit store unavailable", extra={"lane": job.request.lane})
        slack_io.respond(job.response_url, messages.audit_write_failed(job.request.lane))
    except Exception:
        reference = short_reference()
        log.exception("run failed unexpectedly", extra={"lane": job.request.lane, "reference": reference})
        slack_io.respond(job.response_url, messages.unexpected_failure(job.request.lane, reference))


def _run_and_post(services: Services, job: RunJob) -> None:
    if job.claim_key and not services.store.claim_event(job.claim_key, services.clock()):
        log.info("duplicate command delivery ignored", extra={"lane": job.request.lane})
        return
    lane = services.config.lanes[job.request.lane]
    thread_ts = job.thread_ts or _post_root(services, job, lane)
    if thread_ts is None:
        return
    result = _execute(services, job, lane, thread_ts)
    services.spend.refresh(lane.name)
    if result is not None:
        post_result(services, result, lane, job, thread_ts)


def _post_root(services: Services, job: RunJob, lane: LaneConfig) -> str | None:
    shown = services.engine.redactor.redact_secrets(job.request.text)
    text = messages.root_text(lane.name, job.request.requester, slack_io.excerpt(shown))
    try:
        return slack_io.post(
            services.client, job.channel, messages.root_fallback(lane.name), views.plain_message(text)
        )
    except SlackApiError as exc:
        code = slack_io.slack_error(exc) or "unknown_error"
        not_member = code in slack_io.NOT_IN_CHANNEL_ERRORS
        error = (
            messages.not_in_channel_error(job.channel) if not_member else f"Slack refused the post: {code}"
        )
        run_id = record_unposted_run(services, job, lane, error)
        tell = (
            messages.not_in_channel(job.command, job.channel, run_id)
            if not_member
            else messages.post_failed(run_id, code)
        )
        # The ack promised a draft in a thread; it is replaced, not followed, by why there is none.
        slack_io.respond(job.response_url, tell, replace_original=True)
        log.warning("root message not posted", extra={"lane": lane.name, "run_id": run_id, "error": code})
        return None


def record_unposted_run(services: Services, job: RunJob, lane: LaneConfig, error: str) -> str:
    """A run that could not start because Slack refused the post: in the audit as failed, no model call."""
    request, now = job.request, services.clock()
    route = services.engine.preview(request, spent_today_usd=services.spend.get(lane.name))
    stored, ok = (
        (None, True)
        if lane.store_text == "none"
        else services.engine.redactor.redact_or_withhold(request.text)
    )
    run = starting_run(
        lane,
        request,
        route,
        run_id=services.new_id(),
        created_at=now,
        instance=services.instance,
        input_text=stored,
        text_redacted=ok,
    )
    run_id, started = services.store.start_run(run, transition("start"))  # adopts the run if it was queued
    if not started:
        return run_id  # a repeated delivery: its run is already on record
    services.store.finish_run(run_id, transition("fail"), RunOutcome(finished_at=now, error=error))
    return run_id


def _execute(services: Services, job: RunJob, lane: LaneConfig, thread_ts: str) -> RunResult | None:
    """The engine's run; its refusals and errors become thread messages, never silence."""
    try:
        return services.engine.run(job.request)
    except DuplicateRequestError as exc:
        log.info("duplicate run ignored", extra={"lane": lane.name, "run_id": exc.run_id})
        return None
    except AuditStoreError:
        text = messages.audit_write_failed(lane.name)
    except InvalidRequestError as exc:
        text = messages.invalid_request(str(exc))
    except Exception:
        reference = short_reference()
        log.exception("run failed unexpectedly", extra={"lane": lane.name, "reference": reference})
        text = messages.unexpected_failure(lane.name, reference)
    _post_quietly(services, job.channel, thread_ts, text)
    slack_io.respond(job.response_url, text)
    return None


def _post_quietly(services: Services, channel: str, thread_ts: str, text: str) -> str | None:
    try:
        return slack_io.post(services.client, channel, text, views.plain_message(text), thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("thread message not posted", extra={"error": slack_io.slack_error(exc)})
        return None


# --- posting the outcome ----------------------------------------------------------------------


def post_result(services: Services, result: RunResult, lane: LaneConfig, job: RunJob, thread_ts: str) -> None:
    """The outcome as a thread reply; the message holding the buttons is recorded on the run."""
    try:
        draft_ts = _post_outcome(services, result, lane, job, thread_ts)
    except SlackApiError as exc:
        code = slack_io.slack_error(exc) or "unknown_error"
        log.warning("outcome not posted", extra={"run_id": result.run_id, "error": code})
        slack_io.respond(job.response_url, messages.post_failed(result.run_id, code))
        draft_ts = None
    if result.status == "needs_confirmation":
        services.held.hold(result.run_id, job.request.text)
    try:
        services.store.attach_slack(result.run_id, channel=job.channel, root_ts=thread_ts, draft_ts=draft_ts)
    except AuditWriteError:
        log.error("Slack message ids not recorded on the run", extra={"run_id": result.run_id})


def _post_outcome(
    services: Services, result: RunResult, lane: LaneConfig, job: RunJob, thread_ts: str
) -> str:
    client, channel = services.client, job.channel
    if result.draft is not None and result.status in ("drafted", "needs_human"):
        return post_draft(services, result, lane, channel, thread_ts, request_text=job.request.text)
    if result.status == "needs_confirmation":
        tier = result.route.confirm_tier
        model = services.config.models[tier].model if tier in services.config.models else None
        blocks = views.confirmation_message(result, lane, model)
        return slack_io.post(
            client, channel, messages.failed_fallback(lane.name), blocks, thread_ts=thread_ts
        )
    if result.status == "needs_human":
        blocks = views.needs_human_without_draft(result, lane)
        return slack_io.post(client, channel, messages.draft_fallback(lane.name), blocks, thread_ts=thread_ts)
    blocks = views.failed_message(result, lane)
    return slack_io.post(client, channel, messages.failed_fallback(lane.name), blocks, thread_ts=thread_ts)


def post_draft(
    services: Services,
    result: RunResult,
    lane: LaneConfig,
    channel: str,
    thread_ts: str,
    *,
    request_text: str = "",
) -> str:
    """The draft message (with buttons), its continuations, and a file when it is very long.

    When a ``sensitive`` pattern raised the review to two people, the reviewers line names the
    pattern: "two approvers" with no reason reads as a bug to the requester and the reviewers."""
    draft = result.draft or ""
    layout = slack_io.layout_draft(slack_io.escape(draft))
    people = (*lane.owners, *lane.reviewers)
    two_person = result.review_rule == "two_person"
    ctx = views.DraftContext(
        reviewers=people,
        two_person=two_person,
        sensitive=sensitive_matches(lane, request_text, draft)
        if two_person and lane.review != "two_person"
        else (),
        continued_parts=len(layout.messages),
        as_file=layout.as_file,
        draft_chars=len(draft),
    )
    fallback = f"{messages.draft_fallback(lane.name)}: {' '.join(slack_io.mention(p) for p in people)}"
    draft_ts = slack_io.post(
        services.client,
        channel,
        fallback,
        views.draft_message(result, layout.messages[0], ctx),
        thread_ts=thread_ts,
    )
    total = len(layout.messages)
    for part, sections in enumerate(layout.messages[1:], start=2):
        slack_io.post(
            services.client,
            channel,
            messages.continued_note(part, total),
            views.continuation_message(sections, part, total),
            thread_ts=thread_ts,
        )
    if layout.as_file:
        slack_io.upload_text(
            services.client,
            channel,
            thread_ts,
            f"draft-{result.run_id}.txt",
            draft,
            title=messages.file_comment(result.run_id),
            comment=messages.file_comment(result.run_id),
        )
    return draft_ts
