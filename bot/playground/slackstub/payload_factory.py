"""Request bodies exactly as Slack sends them to an app, built from the fake workspace's state.

Shapes follow Slack's documentation and slack_bolt's own test fixtures: slash commands are
form-encoded fields; interactions (block_actions, view_submission, view_closed) are one form field
``payload`` holding JSON; Events API deliveries are JSON envelopes with an ``event_id``.

The payloads are built *from the workspace*, not from arguments alone: a click is only possible on
an element the bot actually rendered in an existing message, a submission carries the modal's real
``private_metadata`` and ``state.values`` typed from its input elements, and every trigger id and
response_url is registered so that ``views.open`` and ``respond()`` work against the stub. That is
what lets a test catch a bot that renders one ``action_id`` and listens for another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.playground.slackstub.models import JsonDict, Message, OpenView
from bot.playground.slackstub.state_values import action_for_element, find_element, view_state
from bot.playground.slackstub.workspace import Workspace

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Payload:
    """One request body for the app, with the ids a test needs to follow up on it."""

    kind: str
    body: str
    content_type: str
    data: JsonDict = field(default_factory=dict)
    trigger_id: str | None = None
    response_url: str | None = None

    @classmethod
    def raw(cls, body: str, content_type: str = JSON, kind: str = "raw") -> Payload:
        """Any body at all, e.g. to test how the app treats malformed requests."""
        return cls(kind, body, content_type)


class PayloadFactory:
    """Builds Slack → app payloads for one workspace; ``response_url_base`` is the stub's base URL."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        response_url_base: str,
        verification_token: str = "stub-verification-token",
    ) -> None:
        self.workspace = workspace
        self.response_url_base = response_url_base.rstrip("/")
        self.verification_token = verification_token

    # ---- slash commands and interactions -----------------------------------------------------------

    def slash_command(self, *, user: str, channel: str, command: str, text: str = "") -> Payload:
        ws = self.workspace
        sender, where = ws.user(user), ws.channel(channel)
        trigger_id = ws.views.issue_trigger_id(sender.id)
        # The ack's place in the channel is taken now, when the user presses Enter: shown later (when
        # the answer arrives), it must still sort above the root message the app posts meanwhile,
        # and the response_url's replace_original replaces it (``ResponseBook``).
        ack_ts = ws.next_ts()
        response_url = self._response_url(channel=where.id, user=sender.id, origin_ts=ack_ts, ephemeral=True)
        fields = {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": where.id,
            "channel_name": "directmessage" if where.is_im else where.name,
            "user_id": sender.id,
            "user_name": sender.name,
            "command": command if command.startswith("/") else f"/{command}",
            "text": text,
            "api_app_id": ws.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        return Payload("slash_command", urlencode(fields), FORM, fields, trigger_id, response_url)

    def block_action(
        self,
        *,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
    ) -> Payload:
        """A click on an element of a message (or of an ephemeral message) the bot posted.

        ``value`` is ignored for buttons (their value is fixed) and chooses the option for selects.
        Raises ``LookupError`` if the message or the element does not exist.
        """
        ws = self.workspace
        sender, where = ws.user(user), ws.channel(channel)
        eph = ws.ephemeral(message_ts)
        message = ws.message(where.id, message_ts)
        if message is None and (eph is None or eph.user != sender.id):
            raise LookupError(f"no message {message_ts} in {where.id} that {sender.id} can see")
        blocks = list(message.blocks if message is not None else eph.blocks)  # type: ignore[union-attr]
        found_block_id, element = find_element(blocks, action_id, block_id)
        action = action_for_element(element, found_block_id, value, action_ts=ws.next_ts())
        trigger_id = ws.views.issue_trigger_id(sender.id)
        thread_ts = message.thread_ts if message is not None else eph.thread_ts  # type: ignore[union-attr]
        response_url = self._response_url(
            channel=where.id,
            user=sender.id,
            origin_ts=message_ts,
            ephemeral=message is None,
            thread_ts=thread_ts,
        )
        data = self._interaction("block_actions", sender.id, trigger_id) | {
            "container": _container(where.id, message_ts, is_ephemeral=message is None, thread_ts=thread_ts),
            "channel": {"id": where.id, "name": where.name},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        if message is not None:
            data["message"] = message.to_api(team_id=ws.team_id, app_id=ws.app_id)
        return self._interaction_payload("block_actions", data, trigger_id, response_url)

    def view_submission(
        self, *, user: str, view_id: str, values: Mapping[str, Mapping[str, Any]] | None = None
    ) -> Payload:
        """Submit an open modal. ``values`` maps block_id → action_id → value (or a full state dict).

        Inputs not given keep their initial values; a required input left empty raises
        ``ValueError`` because Slack's client would refuse to submit.
        """
        ws = self.workspace
        view = self._own_view(user, view_id)
        trigger_id = ws.views.issue_trigger_id(user)
        api_view = ws.views.to_api(view)
        api_view["state"] = {"values": view_state(api_view.get("blocks", []), values or {})}
        data = self._interaction("view_submission", user, trigger_id) | {
            "view": api_view,
            "response_urls": [],
        }
        return self._interaction_payload("view_submission", data, trigger_id, None)

    def view_closed(self, *, user: str, view_id: str) -> Payload:
        view = self._own_view(user, view_id)
        data = self._interaction("view_closed", user, None) | {
            "view": self.workspace.views.to_api(view),
            "is_cleared": False,
        }
        return self._interaction_payload("view_closed", data, None, None)

    # ---- Events API ------------------------------------------------------------------------------

    def event(self, event: JsonDict, *, event_id: str | None = None) -> Payload:
        """Wrap ``event`` in the event_callback envelope Slack POSTs to the app."""
        ws = self.workspace
        envelope = {
            "token": self.verification_token,
            "team_id": ws.team_id,
            "api_app_id": ws.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or ws.new_id("Ev"),
            "event_time": int(ws.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{ws.team_id}-{_event_context(event)}",
        }
        return Payload("event_callback", json.dumps(envelope), JSON, envelope)

    def message_event(self, message: Message, *, mention: bool = False) -> Payload:
        """The ``message`` (or, with ``mention``, ``app_mention``) event for a posted message."""
        ws = self.workspace
        channel = ws.channel(message.channel)
        event: JsonDict = {
            "type": "app_mention" if mention else "message",
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "channel": channel.id,
            "event_ts": message.ts,
            "team": ws.team_id,
        }
        if not mention:
            event["channel_type"] = "im" if channel.is_im else "group" if channel.is_private else "channel"
        if message.is_reply:
            event["thread_ts"] = message.thread_ts
        return self.event(event)

    def url_verification(self, challenge: str) -> Payload:
        data = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return Payload("url_verification", json.dumps(data), JSON, data)

    # ---- helpers ---------------------------------------------------------------------------------

    def _response_url(
        self,
        *,
        channel: str,
        user: str,
        origin_ts: str | None = None,
        ephemeral: bool = False,
        thread_ts: str | None = None,
    ) -> str:
        url = self.workspace.responses.issue(
            channel=channel, user=user, origin_ts=origin_ts, origin_ephemeral=ephemeral, thread_ts=thread_ts
        )
        return f"{self.response_url_base}/response/{url.id}"

    def _own_view(self, user: str, view_id: str) -> OpenView:
        view = self.workspace.views.get(view_id)
        if view.user != user:
            raise LookupError(f"view {view_id} is open for {view.user}, not for {user}")
        return view

    def _interaction(self, kind: str, user: str, trigger_id: str | None) -> JsonDict:
        ws = self.workspace
        sender = ws.user(user)
        data: JsonDict = {
            "type": kind,
            "user": {"id": sender.id, "username": sender.name, "name": sender.name, "team_id": ws.team_id},
            "api_app_id": ws.app_id,
            "token": self.verification_token,
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if trigger_id:
            data["trigger_id"] = trigger_id
        return data

    def _interaction_payload(
        self, kind: str, data: JsonDict, trigger_id: str | None, response_url: str | None
    ) -> Payload:
        return Payload(kind, urlencode({"payload": json.dumps(data)}), FORM, data, trigger_id, response_url)


def _container(channel_id: str, ts: str, *, is_ephemeral: bool, thread_ts: str | None) -> JsonDict:
    container: JsonDict = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    return container


def _event_context(event: Mapping[str, Any]) -> str:
    return str(event.get("channel") or event.get("user") or "0")
