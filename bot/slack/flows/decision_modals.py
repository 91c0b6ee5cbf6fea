"""Edit and Reject modal submissions: bound to their run and checked again when submitted.

A modal's ``private_metadata`` (``payloads.ModalBinding``) says which run, which draft message and
which version of the draft it was opened for, and by whom. Time passes between opening and
submitting, so everything is checked again at submit time, *before* the ack closes the form:

- the submitter is the person the form was opened for;
- the run exists, its draft message is the one the form names (a form cannot decide another run);
- the submitter may still take the decision (``DecisionService.check``: owners and reviewers,
  self-approval, group membership as of now), and the run is still awaiting review;
- no earlier approver has edited the text since the form was filled (two-person review).

A refusal is recorded in the audit and shown in the form itself (``response_action: errors``), so
the person reads why where they typed. An accepted form closes and is decided like a click.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack import messages, views
from bot.slack.flows.decision_clicks import decide, refusal_for, stale_text, store_failed
from bot.slack.flows.decision_render import render_decision
from bot.slack.flows.services import Services
from bot.slack.payloads import ModalBinding, ViewSubmission
from lanes.decisions import Action
from lanes.errors import AuditStoreError, RunNotFoundError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """A submitted Edit or Reject modal and what it is bound to."""

    binding: ModalBinding
    user: str
    view: Mapping[str, Any]

    @classmethod
    def from_payload(cls, payload: ViewSubmission) -> Submission:
        view = payload.view
        return cls(
            binding=ModalBinding.loads(view.private_metadata),
            user=payload.user.id,
            view={"blocks": view.blocks, "state": {"values": view.state.values}},
        )

    @property
    def where(self) -> tuple[str, str, str | None]:
        return self.binding.channel, self.binding.ts, self.binding.thread


def problem(services: Services, sub: Submission, action: Action) -> str | None:
    """Why this form may not be decided now (said in the form; recorded), or None."""
    binding = sub.binding
    if sub.user != binding.by:
        return _refused(services, sub, "form opened by someone else", messages.form_not_yours())
    try:
        run = services.store.get_run(binding.run)
    except RunNotFoundError:
        return messages.run_not_found(action)
    except AuditStoreError:
        return store_failed(binding.run)
    posted = (run.slack_channel, run.slack_draft_ts)
    if None not in posted and posted != (binding.channel, binding.ts):
        return _refused(services, sub, "form of another message", messages.form_of_another_message())
    refusal = refusal_for(services, run.id, sub.user, action)
    if refusal is not None:
        return refusal
    stale = stale_text(run, binding.edits) if action == "edit" else None
    if stale is not None:
        return _refused(services, sub, f"{action}: the draft was edited since the form opened", stale)
    return None


def edit_errors(view: Mapping[str, Any]) -> dict[str, str] | None:
    """Field errors to show in the modal (checked before the ack), or None when it may close."""
    edited, _ = views.edited_text_from_view(view)
    return None if edited.strip() else {views.first_edit_block(): messages.EDIT_EMPTY}


def submit_edit(services: Services, sub: Submission) -> None:
    edited, shown = views.edited_text_from_view(sub.view)
    result = decide(
        services,
        sub.binding.run,
        sub.user,
        "edit",
        sub.where,
        edited_text=edited,
        shown_draft=shown or None,
    )
    if result is not None:
        shown_edit = services.engine.redactor.redact_secrets(edited)  # shown text never holds secrets
        render_decision(services, result, sub.where, sub.user, (), edited_text=shown_edit)


def submit_reject(services: Services, sub: Submission) -> None:
    reason, note = views.rejection_from_view(sub.view)
    result = decide(services, sub.binding.run, sub.user, "reject", sub.where, reason=reason, note=note)
    if result is not None:
        render_decision(services, result, sub.where, sub.user, ())


def _refused(services: Services, sub: Submission, note: str, text: str) -> str:
    log.warning("modal submission refused", extra={"run_id": sub.binding.run, "reason": note})
    try:
        services.decisions.refuse(sub.binding.run, sub.user, note)
    except (AuditStoreError, RunNotFoundError):
        log.error("refused submission not recorded", extra={"run_id": sub.binding.run})
    return text
