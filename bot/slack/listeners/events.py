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
from bot.slack.payloads import AppMention, EventCallback

log = logging.getLogger(__name__)
Listener = Callable[..., None]


def app_mention(services: Services) -> Listener:
    def on_app_mention(body: dict[str, Any]) -> None:
        envelope = EventCallback.model_validate(body)
        event = AppMention.model_validate(envelope.event)
        key = f"slack-event:{envelope.team_id}:{envelope.event_id}"
        if not services.store.claim_event(key, services.clock()):
            log.info("duplicate event delivery ignored", extra={"event_id": envelope.event_id})
            return
        text = messages.mention_reply()
        try:
            slack_io.post(
                services.client,
                event.channel,
                text,
                views.plain_message(text),
                thread_ts=event.thread_ts or event.ts,
            )
        except SlackApiError as exc:
            log.warning("mention reply not posted", extra={"error": slack_io.slack_error(exc)})

    return on_app_mention
