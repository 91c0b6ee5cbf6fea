"""The one error handler: log once with a reference, tell the person if we can.

Bolt calls it (``app.error``) for anything a listener raises before its ack, and for anything Bolt
itself raises while reading a malformed request (a payload whose ``view`` is null, say). Either
way nothing was done, so the answer is a 400, never a 500: the fault is logged with a reference
and the person told, and a 5xx would only invite Slack to deliver the same input again. Work done *after*
the ack goes through ``after_ack``, which hands failures to the same function: in Bolt's HTTP mode
an exception raised after ``ack()`` can replace the ack already given with an error response, so
post-ack work must not raise into Bolt.

The person is told only through the response_url of a *verified* request (``bot.slack.edge``
marks it; a foreign host was already dropped there): an error while reading an unverified body
must never make the bot POST to an address that body chose (issue 10). Nothing from the body is
logged but its kind, in fixed words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.context import BoltContext

from bot.slack import messages, slack_io
from bot.slack.edge import is_verified, payload_kind
from bot.slack.flows.services import short_reference

log = logging.getLogger(__name__)


def report(error: BaseException, kind: str, response_url: str | None = None) -> None:
    """Log ``error`` once with a reference; tell the person through ``response_url`` if given
    (only ever a checked URL of a verified request)."""
    reference = short_reference()
    log.error(
        "unhandled error in a Slack listener",
        exc_info=(type(error), error, error.__traceback__),
        extra={"reference": reference, "payload_type": kind},
    )
    if response_url:
        slack_io.respond(response_url, messages.generic_error(reference))


def after_ack(work: Callable[[], object], kind: str, response_url: str | None) -> None:
    """Run a listener's post-ack work; a failure is reported, never raised into Bolt."""
    try:
        work()
    except Exception as exc:
        report(exc, kind, response_url)


def handle_error() -> Callable[..., BoltResponse]:
    def on_error(error: Exception, body: Any, context: BoltContext | None = None) -> BoltResponse:
        if is_verified(context):
            assert context is not None
            report(error, payload_kind(body if isinstance(body, dict) else {}), context.response_url)
        else:
            log.warning(
                "unverified Slack request refused after an error", extra={"error": type(error).__name__}
            )
        return BoltResponse(status=400, body="")

    return on_error
