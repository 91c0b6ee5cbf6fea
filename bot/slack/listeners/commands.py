"""Slash commands: each lane's command, ``/lanes`` and ``/lanebot``.

Each reads its payload through ``bot.slack.payloads.SlashCommand`` (``PayloadGate`` already let
only fitting ones through), so a flow never sees a command without its user, channel or trigger.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltRequest

from bot.slack import messages, slack_io, views
from bot.slack.flows.audit_search import audit_search
from bot.slack.flows.lane_request import LaneCommand, accept_command
from bot.slack.flows.services import Services
from bot.slack.listeners.error_handler import after_ack
from bot.slack.payloads import SlashCommand

Listener = Callable[..., None]


def lane_command(services: Services) -> Listener:
    """Ack within Slack's 3 s with the route and why; the run itself goes to the worker pool."""

    def on_lane_command(ack: Ack, body: dict[str, Any], request: BoltRequest) -> None:
        cmd = LaneCommand.from_payload(SlashCommand.model_validate(body), request.headers)
        ack(text=accept_command(services, cmd), response_type="ephemeral")

    return on_lane_command


def lanes_command(services: Services) -> Listener:
    def on_lanes(ack: Ack) -> None:
        ack(text=messages.LANES_HEADER, blocks=views.lanes_blocks(services.config), response_type="ephemeral")

    return on_lanes


def lanebot_command(services: Services) -> Listener:
    """``/lanebot [help|lanes|audit <filters>]``; the audit search runs after the ack."""

    def on_lanebot(ack: Ack, body: dict[str, Any]) -> None:
        cmd = SlashCommand.model_validate(body)
        word, _, rest = cmd.text.strip().partition(" ")
        if word in ("", "help"):
            ack(text=messages.LANEBOT_HELP, response_type="ephemeral")
        elif word == "lanes":
            ack(
                text=messages.LANES_HEADER,
                blocks=views.lanes_blocks(services.config),
                response_type="ephemeral",
            )
        elif word == "audit":
            ack(text=messages.AUDIT_SEARCHING, response_type="ephemeral")
            after_ack(lambda: _audit(services, cmd, rest), "slash_command", cmd.response_url)
        else:
            ack(text=messages.unknown_subcommand(word), response_type="ephemeral")

    return on_lanebot


def _audit(services: Services, cmd: SlashCommand, filters: str) -> None:
    blocks = audit_search(services, cmd.user_id, filters)
    slack_io.respond(cmd.response_url, messages.AUDIT_RESULTS, blocks=blocks, replace_original=True)
