"""Edit and Reject modal submissions: check the form, ack (closing it), then decision_clicks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.slack.flows import decision_clicks
from bot.slack.flows.decision_clicks import Submission
from bot.slack.flows.services import Services
from bot.slack.listeners.error_handler import after_ack

Listener = Callable[..., None]


def edit_submitted(services: Services) -> Listener:
    def on_edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        errors = decision_clicks.edit_errors(view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        after_ack(
            lambda: decision_clicks.submit_edit(services, Submission.from_payload(body, view)), body, None
        )

    return on_edit_submitted


def reject_submitted(services: Services) -> Listener:
    def on_reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        after_ack(
            lambda: decision_clicks.submit_reject(services, Submission.from_payload(body, view)), body, None
        )

    return on_reject_submitted
