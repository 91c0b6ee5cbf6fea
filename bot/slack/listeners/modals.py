"""Edit and Reject modal submissions: check the form and its binding, ack (closing it), then decide.

Everything that can refuse the form runs before the ack (``decision_modals.problem``), so a
refusal is shown inside the form, where the person typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.slack import ids, views
from bot.slack.flows import decision_modals
from bot.slack.flows.decision_modals import Submission
from bot.slack.flows.services import Services
from bot.slack.listeners.error_handler import after_ack
from bot.slack.payloads import ViewSubmission

Listener = Callable[..., None]


def edit_submitted(services: Services) -> Listener:
    def on_edit_submitted(ack: Ack, body: dict[str, Any]) -> None:
        sub = Submission.from_payload(ViewSubmission.model_validate(body))
        problem = decision_modals.problem(services, sub, "edit")
        errors = {views.first_edit_block(): problem} if problem else decision_modals.edit_errors(sub.view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        after_ack(lambda: decision_modals.submit_edit(services, sub), "view_submission", None)

    return on_edit_submitted


def reject_submitted(services: Services) -> Listener:
    def on_reject_submitted(ack: Ack, body: dict[str, Any]) -> None:
        sub = Submission.from_payload(ViewSubmission.model_validate(body))
        problem = decision_modals.problem(services, sub, "reject")
        if problem:
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: problem})
            return
        ack()
        after_ack(lambda: decision_modals.submit_reject(services, sub), "view_submission", None)

    return on_reject_submitted
