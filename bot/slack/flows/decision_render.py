"""The draft message after a decision: rewritten in place, so everyone sees where the run stands.

- Approved: a status line ("Approved by @x, 2 min after the draft"), the buttons removed, the
  approved text left in its frame, ready to copy.
- Rejected: the status line; the draft's text is removed from the message (it stays in the audit).
- 1 of 2 (two-person review): the status says who approved and that a second, different person
  must; the reviewers line names who is still asked (never the approver); the buttons stay.
  When the first approver *edited* the draft, the edit replaces the draft in the frame ("Edited
  by @x, one more approval needed"), so the second approver sees, and approves, the edited text.
  The frame records how many edits its text holds; a click on an older rendering is refused
  (``decision_clicks``) and the message is redrawn from the record (``refresh_pending``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import messages, slack_io, views
from bot.slack.flows.services import Services
from bot.slack.views import ShownText
from lanes.audit.records import RunRecord
from lanes.decisions import DecisionResult, earlier_edits
from lanes.estimates import drafted_by

log = logging.getLogger(__name__)
Block = dict[str, Any]


def render_decision(
    services: Services,
    result: DecisionResult,
    where: tuple[str, str, str | None],
    actor: str,
    original: Sequence[Block],
    *,
    edited_text: str | None = None,
) -> None:
    """Tell a late clicker who decided first, or rewrite the draft message after ``result``.
    ``where`` is (channel, message ts, thread ts) as the click or the form gave them."""
    channel, ts, thread_ts = where
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
    blocks = decision_blocks(services, run, result, original, edited_text)
    _update(services, run, run.slack_channel or channel, run.slack_draft_ts or ts, result.status, blocks)


def decision_blocks(
    services: Services,
    run: RunRecord,
    result: DecisionResult,
    original: Sequence[Block],
    edited_text: str | None,
) -> list[Block]:
    """The draft message after ``result``: rebuilt from the click's blocks, or from the record."""
    actor = result.decided_by or ""
    facts = views.RunContext.of_record(run)
    edits = earlier_edits(run)
    if not result.completes:
        return _pending(services, run, actor, result.action, original, edited_text)
    delta = run.decided_at - run.drafted_at if run.decided_at and run.drafted_at else None
    second = next(iter(run.approvals - {actor}), None)
    if result.status == "rejected":
        final = run.final_decision
        text = messages.rejected(actor, delta, final.reason if final else None, final.note if final else None)
        return views.closed_message(text, facts)
    if result.status == "edited" and result.action == "approve" and edits:
        editor = edits[-1].actor
        status = messages.approved_edit(editor, actor, delta, result.edit_distance)
        shown = ShownText(
            messages.approved_header(editor), None if original else _current_text(run), len(edits)
        )
        return views.approved_message(status, shown, facts, original)
    if result.status == "edited":
        status = messages.edited(actor, delta, result.edit_distance, second)
        shown = ShownText(messages.approved_header(actor), edited_text, len(edits))
        return views.approved_message(status, shown, facts, original)
    shown = ShownText(messages.approved_header(None), None if original else _current_text(run), len(edits))
    return views.approved_message(messages.approved(actor, delta, second), shown, facts, original)


def _pending(
    services: Services,
    run: RunRecord,
    actor: str,
    action: str,
    original: Sequence[Block],
    edited_text: str | None,
) -> list[Block]:
    edits = earlier_edits(run)
    header = (
        messages.edited_header(edits[-1].actor)
        if edits
        else messages.draft_header(drafted_by(run.model or run.tier, run.cost_estimated))
    )
    text = edited_text if edited_text is not None else (None if original else _current_text(run))
    lane = services.config.lanes.get(run.lane)
    people = (*lane.owners, *lane.reviewers) if lane else ()
    return views.pending_message(
        run.id,
        messages.partial_approval(actor, action),
        ShownText(header, text, len(edits)),
        views.RunContext.of_record(run),
        original,
        messages.reviewers_pending(people, run.approvals),
    )


def refresh_pending(services: Services, run: RunRecord) -> None:
    """Redraw a 1-of-2 draft message from the record (after a click on an older rendering)."""
    approvals = [d for d in run.decisions if d.kind == "approval"]
    if not approvals or not run.slack_channel or not run.slack_draft_ts:
        return
    last = approvals[-1]
    action = "edit" if last.edited_text is not None else "approve"
    blocks = _pending(services, run, last.actor, action, (), None)
    _update(services, run, run.slack_channel, run.slack_draft_ts, run.status, blocks)


def _current_text(run: RunRecord) -> str | None:
    """The text under review as recorded: the latest earlier edit, else the (stored) draft."""
    edits = earlier_edits(run)
    return edits[-1].edited_text if edits else run.draft_text


def _update(
    services: Services, run: RunRecord, channel: str, ts: str, status: str, blocks: list[Block]
) -> None:
    if not channel or not ts:
        return
    try:
        slack_io.update(services.client, channel, ts, messages.decision_fallback(status, run.lane), blocks)
    except SlackApiError as exc:
        log.warning(
            "draft message not updated after decision",
            extra={"run_id": run.id, "error": slack_io.slack_error(exc)},
        )
