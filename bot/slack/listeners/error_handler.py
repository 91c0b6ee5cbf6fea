"""The one error handler: log once with a reference, tell the person if we can.

Bolt calls it (``app.error``) for anything a listener raises before its ack, and for anything Bolt
itself raises while reading a malformed request (a payload whose ``view`` is null, say). Either
way nothing was done, so the answer is a 400, never a 500: the fault is logged with a reference
and the person told, and a 5xx would only invite Slack to deliver the same input again. Work done *after*
the ack goes through ``after_ack``, which hands failures to the same function: in Bolt's HTTP mode
an exception raised after ``ack()`` can replace the ack already given with an error response, so
post-ack work must not raise into Bolt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse, Respond

from bot.slack import messages
from bot.slack.flows.services import short_reference

log = logging.getLogger(__name__)


def report(error: BaseException, body: dict[str, Any], respond: Respond | None = None) -> None:
    reference = short_reference()
    kind = body.get("type") or ("command" if "command" in body else "request")
    log.error(
        "unhandled error in a Slack listener",
        exc_info=(type(error), error, error.__traceback__),
        extra={"reference": reference, "payload_type": kind},
    )
    if respond is None or not body.get("response_url"):
        return
    try:
        respond(text=messages.generic_error(reference), response_type="ephemeral", replace_original=False)
    except Exception:  # the person is told nothing more; the error is already logged
        log.warning("could not tell the user about an error", extra={"reference": reference})


def after_ack(work: Callable[[], object], body: dict[str, Any], respond: Respond | None) -> None:
    """Run a listener's post-ack work; a failure is reported, never raised into Bolt."""
    try:
        work()
    except Exception as exc:
        report(exc, body, respond)


def handle_error() -> Callable[..., BoltResponse]:
    def on_error(error: Exception, body: dict[str, Any], respond: Respond | None = None) -> BoltResponse:
        report(error, body if isinstance(body, dict) else {}, respond)
        return BoltResponse(status=400, body="")

    return on_error
