"""Events API: an @-mention gets a short pointer to the commands.

Slack retries an event it thinks was not acknowledged; Bolt acks events at once, and the event
id is claimed in the audit store (a unique key, across instances) so a retry does nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import messages, slack_io, views
from bot.slack.flows.services import Services

log = logging.getLogger(__name__)
Listener = Callable[..., None]


def app_mention(services: Services) -> Listener:
    def on_app_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        key = f"slack-event:{body.get('team_id', '')}:{body.get('event_id', '')}"
        if not services.store.claim_event(key, services.clock()):
            log.info("duplicate event delivery ignored", extra={"event_id": body.get("event_id")})
            return
        text = messages.mention_reply()
        try:
            slack_io.post(
                services.client,
                str(event.get("channel", "")),
                text,
                views.plain_message(text),
                thread_ts=event.get("thread_ts") or event.get("ts"),
            )
        except SlackApiError as exc:
            log.warning("mention reply not posted", extra={"error": slack_io.slack_error(exc)})

    return on_app_mention
