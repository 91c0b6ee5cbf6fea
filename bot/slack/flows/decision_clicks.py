"""Approve, Edit and Reject: from a click or a modal to one recorded decision and an updated message.

Listeners ack first. Approve decides at once; Edit and Reject open their modal *immediately*
after the ack (a trigger id lives 3 seconds), and decide when the modal is submitted. Every
decision goes through ``DecisionService.decide``, the same path as the CLI: authorization is pure
and the "one decision per run" guarantee is an atomic update in the database, so double clicks,
two reviewers at once or two bot instances still produce exactly one decision; the others are
told who decided first. A refused click is recorded by the service and answered ephemerally.

After a decision the draft message is rewritten in place: a status line ("Approved by @x, 2 min
after the draft"), the buttons removed, the approved or edited text left ready to copy; a
rejected draft's text is removed from the message (it stays in the audit).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import messages, slack_io, views
from bot.slack.flows.services import Services, short_reference
from lanes.audit.records import RunRecord
from lanes.decisions import Action, DecisionResult
from lanes.errors import AuditStoreError, NotAuthorizedError, RunNotFoundError
from lanes.values import AWAITING_REVIEW

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Click:
    """A button press on a draft message."""

    run_id: str
    value: str
    user: str
    channel: str
    message_ts: str
    thread_ts: str | None
    blocks: tuple[dict[str, Any], ...]
    trigger_id: str
    response_url: str | None

    @classmethod
    def from_payload(cls, body: Mapping[str, Any], action: Mapping[str, Any]) -> Click:
        message = body.get("message") or {}
        container = body.get("container") or {}
        value = str(action.get("value") or "")
        return cls(
            run_id=_run_id_of(value),
            value=value,
            user=str((body.get("user") or {}).get("id", "")),
            channel=str((body.get("channel") or {}).get("id") or container.get("channel_id") or ""),
            message_ts=str(message.get("ts") or container.get("message_ts") or ""),
            thread_ts=message.get("thread_ts"),
            blocks=tuple(message.get("blocks") or ()),
            trigger_id=str(body.get("trigger_id", "")),
            response_url=body.get("response_url"),
        )


def _run_id_of(value: str) -> str:
    if value.startswith("{"):
        return str(json.loads(value).get("run", ""))
    return value


@dataclass(frozen=True)
class Submission:
    """A submitted Edit or Reject modal, with where its draft message lives."""

    run_id: str
    user: str
    channel: str
    message_ts: str
    thread_ts: str | None
    view: Mapping[str, Any]

    @classmethod
    def from_payload(cls, body: Mapping[str, Any], view: Mapping[str, Any]) -> Submission:
        meta = json.loads(view.get("private_metadata") or "{}")
        return cls(
            run_id=str(meta.get("run", "")),
            user=str((body.get("user") or {}).get("id", "")),
            channel=str(meta.get("channel", "")),
            message_ts=str(meta.get("ts", "")),
            thread_ts=meta.get("thread"),
            view=view,
        )


def modal_metadata(click: Click) -> str:
    return json.dumps(
        {"run": click.run_id, "channel": click.channel, "ts": click.message_ts, "thread": click.thread_ts}
    )


# --- clicks -----------------------------------------------------------------------------------


def bound_to_its_message(services: Services, click: Click) -> bool:
    """A button acts only on the run whose message carries it: a value naming another run (another
    lane's, another channel's) is refused and recorded. Slack stores button values server-side, so
    this defends against a forged or replayed payload, not against a person."""
    try:
        run = services.store.get_run(click.run_id)
    except (RunNotFoundError, AuditStoreError):
        return True  # the flow itself answers these
    posted_at = (run.slack_channel, run.slack_draft_ts)
    if None in posted_at or posted_at == (click.channel, click.message_ts):
        return True
    log.warning(
        "button value names another message's run; refused",
        extra={"run_id": run.id, "channel": click.channel, "message_ts": click.message_ts},
    )
    try:
        services.store.record_event(
            run.id, "refused", click.user, services.clock(), note="button of another message"
        )
    except AuditStoreError:
        log.error("refused click not recorded", extra={"run_id": run.id})
    slack_io.ephemeral(
        services.client,
        click.channel,
        click.user,
        messages.button_of_another_message(),
        thread_ts=click.thread_ts,
    )
    return False


def approve(services: Services, click: Click) -> None:
    shown = views.draft_text_from_blocks(click.blocks)
    result = _decide(
        services, click.run_id, click.user, "approve", click.channel, click.thread_ts, shown_draft=shown
    )
    if result is not None:
        _render(services, result, click.channel, click.message_ts, click.thread_ts, click.user, click.blocks)


def open_edit(services: Services, click: Click) -> None:
    """Opens the edit modal pre-filled with the draft shown in the message; first thing after the ack."""
    draft = views.draft_text_from_blocks(click.blocks) or ""
    _open(services, click, views.edit_modal(draft, modal_metadata(click)))


def open_reject(services: Services, click: Click) -> None:
    _open(services, click, views.reject_modal(modal_metadata(click)))


def _open(services: Services, click: Click, view: dict[str, Any]) -> None:
    try:
        services.client.views_open(trigger_id=click.trigger_id, view=view)
    except SlackApiError as exc:
        code = slack_io.slack_error(exc)
        log.warning("modal not opened", extra={"run_id": click.run_id, "error": code})
        text = messages.modal_expired() if code == "expired_trigger_id" else messages.modal_failed(code or "")
        slack_io.ephemeral(services.client, click.channel, click.user, text, thread_ts=click.thread_ts)


# --- modal submissions ------------------------------------------------------------------------


def edit_errors(view: Mapping[str, Any]) -> dict[str, str] | None:
    """Field errors to show in the modal (checked before the ack), or None when it may close."""
    edited, _ = views.edited_text_from_view(view)
    return None if edited.strip() else {views.first_edit_block(): messages.EDIT_EMPTY}


def submit_edit(services: Services, sub: Submission) -> None:
    edited, shown = views.edited_text_from_view(sub.view)
    result = _decide(
        services,
        sub.run_id,
        sub.user,
        "edit",
        sub.channel,
        sub.thread_ts,
        edited_text=edited,
        shown_draft=shown or None,
    )
    if result is not None:
        _render(
            services,
            result,
            sub.channel,
            sub.message_ts,
            sub.thread_ts,
            sub.user,
            (),
            edited_text=services.engine.redactor.redact_secrets(edited),  # shown text never holds secrets
        )


def submit_reject(services: Services, sub: Submission) -> None:
    reason, note = views.rejection_from_view(sub.view)
    result = _decide(
        services, sub.run_id, sub.user, "reject", sub.channel, sub.thread_ts, reason=reason, note=note
    )
    if result is not None:
        _render(services, result, sub.channel, sub.message_ts, sub.thread_ts, sub.user, ())


# --- shared -----------------------------------------------------------------------------------


def _decide(
    services: Services,
    run_id: str,
    actor: str,
    action: Action,
    channel: str,
    thread_ts: str | None,
    **details: Any,
) -> DecisionResult | None:
    """The decision, or None after telling the actor why nothing was recorded."""
    try:
        return services.decisions.decide(run_id, actor, action, **details)
    except NotAuthorizedError as exc:
        text = _refusal_text(services, run_id, action, exc.reason)
    except RunNotFoundError:
        text = messages.refused(action, "this run is not in the audit store this bot uses")
    except AuditStoreError:
        reference = short_reference()
        log.error("decision not recorded", extra={"run_id": run_id, "reference": reference})
        text = messages.decision_failed(reference)
    slack_io.ephemeral(services.client, channel, actor, text, thread_ts=thread_ts)
    return None


def _refusal_text(services: Services, run_id: str, action: Action, reason: str) -> str:
    """A click on a decided run is told who decided ("already approved by @x"), not just "no"."""
    try:
        run = services.store.get_run(run_id)
    except AuditStoreError:
        return messages.refused(action, reason)
    final = run.final_decision
    if run.status not in AWAITING_REVIEW and final is not None:
        return messages.already_decided(run.status, final.actor if final.actor != "lanebot" else None)
    return messages.refused(action, reason)


def _render(
    services: Services,
    result: DecisionResult,
    channel: str,
    ts: str,
    thread_ts: str | None,
    actor: str,
    original: Sequence[dict[str, Any]],
    *,
    edited_text: str | None = None,
) -> None:
    if not result.applied:
        slack_io.ephemeral(
            services.client,
            channel,
            actor,
            messages.already_decided(result.status, result.decided_by),
            thread_ts=thread_ts,
        )
        return
    run = services.store.get_run(result.run_id)
    services.on_decision(run.lane, result.action if result.completes else "approval")
    channel, ts = run.slack_channel or channel, run.slack_draft_ts or ts
    if not channel or not ts:
        return
    blocks = decision_blocks(run, result, original, edited_text)
    try:
        slack_io.update(
            services.client, channel, ts, messages.decision_fallback(result.status, run.lane), blocks
        )
    except SlackApiError as exc:
        log.warning(
            "draft message not updated after decision",
            extra={"run_id": run.id, "error": slack_io.slack_error(exc)},
        )


def decision_blocks(
    run: RunRecord, result: DecisionResult, original: Sequence[dict[str, Any]], edited_text: str | None
) -> list[dict[str, Any]]:
    """The draft message after ``result``: rebuilt from the click's blocks, or from the record."""
    actor = result.decided_by or ""
    facts = views.RunContext.of_record(run)
    if not result.completes:
        status = messages.partial_approval(actor, result.action)
        return views.pending_message(
            run.id, status, facts, original, edited_text, run.review_rule == "two_person"
        )
    delta = run.decided_at - run.drafted_at if run.decided_at and run.drafted_at else None
    second = next(iter(run.approvals - {actor}), None)
    if result.status == "rejected":
        final = run.final_decision
        text = messages.rejected(actor, delta, final.reason if final else None, final.note if final else None)
        return views.closed_message(text, facts)
    if result.status == "edited":
        status = messages.edited(actor, delta, result.edit_distance, second)
        return views.approved_message(status, facts, original, edited_text)
    return views.approved_message(messages.approved(actor, delta, second), facts, original, None)
