"""Buttons on draft messages: ack at once, then one flow each.

Edit and Reject open their modal as the very first thing after the ack and the clicker's
authorization check: a trigger id expires three seconds after the click, so nothing slow may come
before ``views.open``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.slack.flows import decision_clicks
from bot.slack.flows import run_anyway as run_anyway_flow
from bot.slack.flows.decision_clicks import Click
from bot.slack.flows.services import Services
from bot.slack.listeners.error_handler import after_ack
from bot.slack.payloads import BlockAction

Listener = Callable[..., None]
Flow = Callable[[Services, Click], None]


def _button(services: Services, flow: Flow) -> Listener:
    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        payload = BlockAction.model_validate(body)
        after_ack(
            lambda: _checked(services, flow, Click.from_payload(payload)),
            "block_actions",
            payload.response_url,
        )

    on_click.__name__ = f"on_{flow.__name__}"
    return on_click


def _checked(services: Services, flow: Flow, click: Click) -> None:
    if decision_clicks.bound_to_its_message(services, click):
        flow(services, click)


def approve(services: Services) -> Listener:
    return _button(services, decision_clicks.approve)


def edit(services: Services) -> Listener:
    return _button(services, decision_clicks.open_edit)


def reject(services: Services) -> Listener:
    return _button(services, decision_clicks.open_reject)


def run_anyway(services: Services) -> Listener:
    return _button(services, run_anyway_flow.run_anyway)
