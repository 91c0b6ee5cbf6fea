"""Plays Slack's side of a conversation with the bot: people type, click and submit; Slack reacts.

Signing and sending a payload is half of what Slack does. The other half is what Slack does with the
app's *answer*: the body of a slash command's ack is shown to the user (ephemerally unless
``response_type`` is ``in_channel``); an empty ack to a modal submission closes the modal, and
``response_action`` can instead show errors, update, push or clear. The playground and end-to-end
tests need that behaviour to see the same screens a user would, so it lives here, once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.playground.slackstub.models import JsonDict
from bot.playground.slackstub.payload_factory import Payload, PayloadFactory
from bot.playground.slackstub.signing import HttpResult, SignedRequest, SlackSender
from bot.playground.slackstub.validation import check_view
from bot.playground.slackstub.web_api import SlackStubServer


@dataclass(frozen=True)
class Delivery:
    """One request to the app and its answer; ``view_errors`` from a ``response_action: errors`` ack."""

    payload: Payload
    request: SignedRequest
    response: HttpResult
    view_errors: Mapping[str, str] = field(default_factory=dict)


class SlackSimulator:
    """Sends signed requests from the stub's workspace to the app at ``app_url`` and applies its acks."""

    def __init__(
        self,
        server: SlackStubServer,
        *,
        app_url: str,
        signing_secret: str,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.server = server
        self.workspace = server.workspace
        self.payloads = PayloadFactory(self.workspace, response_url_base=server.base_url)
        self.sender = SlackSender(signing_secret, app_url, clock=clock, timeout=timeout)

    def slash_command(self, user: str, channel: str, command: str, text: str = "", **sign: Any) -> Delivery:
        payload = self.payloads.slash_command(user=user, channel=channel, command=command, text=text)
        delivery = self._deliver(payload, sign)
        if delivery.response.status == 200 and delivery.response.body:
            self._show_command_ack(user, channel, delivery.response, self._ack_ts(payload))
        return delivery

    def click(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        *,
        value: Any = None,
        block_id: str | None = None,
        **sign: Any,
    ) -> Delivery:
        payload = self.payloads.block_action(
            user=user,
            channel=channel,
            message_ts=message_ts,
            action_id=action_id,
            value=value,
            block_id=block_id,
        )
        return self._deliver(payload, sign)

    def submit_view(
        self, user: str, view_id: str, values: Mapping[str, Mapping[str, Any]] | None = None, **sign: Any
    ) -> Delivery:
        payload = self.payloads.view_submission(user=user, view_id=view_id, values=values)
        delivery = self._deliver(payload, sign)
        if delivery.response.status != 200:
            return delivery  # Slack keeps the modal open and shows a connection error
        errors = self._apply_view_ack(view_id, _json_or_none(delivery.response.body) or {})
        return Delivery(delivery.payload, delivery.request, delivery.response, errors)

    def close_view(self, user: str, view_id: str, **sign: Any) -> Delivery | None:
        """The user closes a modal; the app hears of it only if the view set ``notify_on_close``."""
        view = self.workspace.views.get(view_id)
        payload = self.payloads.view_closed(user=user, view_id=view_id)
        self.workspace.views.close(view_id, clear=True)
        return self._deliver(payload, sign) if view.view.get("notify_on_close") else None

    def post_message(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None, **sign: Any
    ) -> list[Delivery]:
        """A person posts; the app gets ``message`` and, if it is @-mentioned, ``app_mention``."""
        message = self.workspace.post_message(channel, text=text, user=user, thread_ts=thread_ts)
        deliveries = [self._deliver(self.payloads.message_event(message), sign)]
        if f"<@{self.workspace.bot_user_id}>" in text:
            deliveries.append(self._deliver(self.payloads.message_event(message, mention=True), sign))
        return deliveries

    # ---- Slack's reactions to the app's answers ----------------------------------------------------

    def _deliver(self, payload: Payload, sign: Mapping[str, Any]) -> Delivery:
        request = self.sender.sign(payload, **sign)
        return Delivery(payload, request, self.sender.send(request))

    def _ack_ts(self, payload: Payload) -> str | None:
        """The place the command's ack was given when it was sent (its response_url's origin)."""
        url = self.workspace.responses.get(str(payload.response_url or "").rpartition("/")[2])
        return url.origin_ts if url is not None else None

    def _show_command_ack(self, user: str, channel: str, response: HttpResult, ack_ts: str | None) -> None:
        """Show the ack where the command was typed, unless the app already replaced it (``respond``
        with ``replace_original`` can arrive first: the app's work runs while the ack travels)."""
        body = _json_or_none(response.body)
        message: JsonDict = body if isinstance(body, dict) else {"text": response.body}
        text, blocks = str(message.get("text") or ""), message.get("blocks") or ()
        ws = self.workspace
        if message.get("response_type") == "in_channel":
            ws.post_message(channel, text=text, blocks=blocks)
            return
        with ws.transaction():  # no respond() slips in between the check and the post
            if ack_ts is None or not ws.responses.ack_answered(ack_ts):
                ws.post_ephemeral(channel, user, text=text, blocks=blocks, source="ack", ts=ack_ts)

    def _apply_view_ack(self, view_id: str, ack: Mapping[str, Any]) -> Mapping[str, str]:
        views = self.workspace.views
        action = ack.get("response_action")
        if action == "errors":
            return dict(ack.get("errors") or {})
        if action == "update":
            views.update(check_view(ack.get("view")), view_id=view_id)
        elif action == "push":
            views.push_for(views.get(view_id).user, check_view(ack.get("view")))
        else:
            views.close(view_id, clear=action == "clear")
        return {}


def _json_or_none(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
