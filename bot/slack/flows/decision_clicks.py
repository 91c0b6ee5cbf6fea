"""Approve, Edit and Reject: from a click to one recorded decision, or to the right modal.

Listeners ack first. Approve decides at once; Edit and Reject check that the clicker may take
that decision (the same ``lanes.permissions`` rules the decision applies, self-approval
included) and then open their modal *immediately* (a trigger id lives 3 seconds). A person who
may not edit is told so right away, ephemerally, instead of after typing. Modal submissions are
``decision_modals``. Every decision goes through ``DecisionService.decide``, the same path as the
CLI: authorization is pure and the "one decision per run" guarantee is an atomic update in the
database, so double clicks, two reviewers at once or two bot instances still produce exactly one
decision; the others are told who decided first. A refused click is recorded and answered
ephemerally.

Under two-person review the text can change between the two approvals (the first approver may
edit it). A click on a message that still showed the older text is refused ("the draft was
edited by X; review the new text") and the message redrawn: nobody approves text they did not
see. The message after a decision is ``decision_render``'s.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import draft_frame, messages, slack_io, views
from bot.slack.flows.decision_render import refresh_pending, render_decision
from bot.slack.flows.services import Services, short_reference
from bot.slack.payloads import BlockAction, ModalBinding
from lanes.audit.records import RunRecord
from lanes.decisions import Action, DecisionResult, earlier_edits
from lanes.errors import AuditStoreError, NotAuthorizedError, RunNotFoundError
from lanes.values import AWAITING_REVIEW

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Click:
    """A button press on a draft message, from a validated ``BlockAction``."""

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
    def from_payload(cls, payload: BlockAction) -> Click:
        value = payload.action.value
        return cls(
            run_id=_run_id_of(value),
            value=value,
            user=payload.user.id,
            channel=payload.channel_id or "",
            message_ts=payload.message_ts or "",
            thread_ts=payload.thread_ts,
            blocks=tuple(payload.message.blocks if payload.message else ()),
            trigger_id=payload.trigger_id,
            response_url=payload.response_url,
        )

    @property
    def where(self) -> tuple[str, str, str | None]:
        return self.channel, self.message_ts, self.thread_ts


def _run_id_of(value: str) -> str:
    if value.startswith("{"):
        return str(json.loads(value).get("run", ""))
    return value


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
    _record_refusal(services, run.id, click.user, "button of another message")
    tell(services, click, messages.button_of_another_message())
    return False


def approve(services: Services, click: Click) -> None:
    if not _shows_current_text(services, click, "approve"):
        return
    shown = views.draft_text_from_blocks(click.blocks)
    result = decide(services, click.run_id, click.user, "approve", click.where, shown_draft=shown)
    if result is not None:
        render_decision(services, result, click.where, click.user, click.blocks)


def open_edit(services: Services, click: Click) -> None:
    """The edit modal, pre-filled with the draft shown in the message, for someone who may edit."""
    if not _may(services, click, "edit") or not _shows_current_text(services, click, "edit"):
        return
    draft = views.draft_text_from_blocks(click.blocks) or ""
    _open(services, click, views.edit_modal(draft, binding_of(click).dumps()))


def open_reject(services: Services, click: Click) -> None:
    if _may(services, click, "reject"):
        _open(services, click, views.reject_modal(binding_of(click).dumps()))


def binding_of(click: Click) -> ModalBinding:
    """What the modal opened by ``click`` belongs to (its ``private_metadata``)."""
    return ModalBinding(
        run=click.run_id,
        channel=click.channel,
        ts=click.message_ts,
        thread=click.thread_ts,
        by=click.user,
        edits=draft_frame.shown_edits(click.blocks),
    )


def _may(services: Services, click: Click, action: Action) -> bool:
    """Whether ``click.user`` may take ``action`` now; if not, they are told why (and it is recorded)."""
    refusal = refusal_for(services, click.run_id, click.user, action)
    if refusal is not None:
        tell(services, click, refusal)
    return refusal is None


def refusal_for(services: Services, run_id: str, actor: str, action: Action) -> str | None:
    """Why ``actor`` may not take ``action`` on the run now (recorded), or None."""
    try:
        run = services.store.get_run(run_id)
        verdict = services.decisions.check(run, actor, action)
    except RunNotFoundError:
        return messages.run_not_found(action)
    except AuditStoreError:
        return store_failed(run_id)
    return None if verdict.allowed else _refusal_text(run, action, verdict.reason)


def _shows_current_text(services: Services, click: Click, action: Action) -> bool:
    """False (after telling the clicker and redrawing the message) when the click came from a
    rendering older than the latest edit: nobody approves or edits text they were not shown."""
    try:
        run = services.store.get_run(click.run_id)
    except (RunNotFoundError, AuditStoreError):
        return True  # the decision itself answers these
    stale = stale_text(run, draft_frame.shown_edits(click.blocks))
    if stale is None:
        return True
    _record_refusal(services, run.id, click.user, f"{action}: the draft was edited since it was shown")
    tell(services, click, stale)
    refresh_pending(services, run)
    return False


def stale_text(run: RunRecord, shown_edits: int) -> str | None:
    """ "The draft was edited by X" when the run is under review and holds edits not yet shown."""
    edits = earlier_edits(run)
    if run.status not in AWAITING_REVIEW or shown_edits >= len(edits):
        return None
    return messages.draft_was_edited(edits[-1].actor)


def _open(services: Services, click: Click, view: dict[str, Any]) -> None:
    try:
        services.client.views_open(trigger_id=click.trigger_id, view=view)
    except SlackApiError as exc:
        code = slack_io.slack_error(exc)
        log.warning("modal not opened", extra={"run_id": click.run_id, "error": code})
        text = messages.modal_expired() if code == "expired_trigger_id" else messages.modal_failed(code or "")
        tell(services, click, text)


# --- shared -----------------------------------------------------------------------------------


def tell(services: Services, click: Click, text: str) -> None:
    slack_io.ephemeral(services.client, click.channel, click.user, text, thread_ts=click.thread_ts)


def decide(
    services: Services,
    run_id: str,
    actor: str,
    action: Action,
    where: tuple[str, str, str | None],
    **details: Any,
) -> DecisionResult | None:
    """The decision, or None after telling the actor why nothing was recorded."""
    channel, _, thread_ts = where
    try:
        return services.decisions.decide(run_id, actor, action, **details)
    except NotAuthorizedError as exc:
        text = _refusal_text_of(services, run_id, action, exc.reason)
    except RunNotFoundError:
        text = messages.run_not_found(action)
    except AuditStoreError:
        text = store_failed(run_id)
    slack_io.ephemeral(services.client, channel, actor, text, thread_ts=thread_ts)
    return None


def store_failed(run_id: str) -> str:
    reference = short_reference()
    log.error("decision not recorded", extra={"run_id": run_id, "reference": reference})
    return messages.decision_failed(reference)


def _refusal_text_of(services: Services, run_id: str, action: Action, reason: str) -> str:
    try:
        return _refusal_text(services.store.get_run(run_id), action, reason)
    except AuditStoreError:
        return messages.refused(action, reason)


def _refusal_text(run: RunRecord, action: Action, reason: str) -> str:
    """A click on a decided run is told who decided ("already approved by @x"), not just "no"."""
    final = run.final_decision
    if run.status not in AWAITING_REVIEW and final is not None:
        return messages.already_decided(run.status, final.actor if final.actor != "lanebot" else None)
    return messages.refused(action, reason)


def _record_refusal(services: Services, run_id: str, actor: str, note: str) -> None:
    try:
        services.decisions.refuse(run_id, actor, note)
    except AuditStoreError:
        log.error("refused click not recorded", extra={"run_id": run_id})
