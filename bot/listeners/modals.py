"""Edit and Reject modal submissions: check the form, ack (closing it), then decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.flows import decide
from bot.flows.decide import Submission
from bot.flows.services import Services
from bot.listeners.errors import after_ack

Listener = Callable[..., None]


def edit_submitted(services: Services) -> Listener:
    def on_edit_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        errors = decide.edit_errors(view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        after_ack(lambda: decide.submit_edit(services, Submission.from_payload(body, view)), body, None)

    return on_edit_submitted


def reject_submitted(services: Services) -> Listener:
    def on_reject_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        after_ack(lambda: decide.submit_reject(services, Submission.from_payload(body, view)), body, None)

    return on_reject_submitted
