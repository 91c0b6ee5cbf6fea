"""The door of ``POST /slack/events``: Slack's signature is checked on the raw bytes first.

Nothing reads or parses a request body before this: an unsigned, forged, stale or future-dated
request gets 401, a signed one that is not a form or a JSON object gets 400, and neither reaches
Bolt, the database or the network, nor leaves a log line with any of its values. Bolt checks the
signature again as its first middleware (``bot.slack.edge``), for everything that dispatches into
the app without this door; see ``bot.slack.verification`` for the why.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from bot.slack.verification import Refusal, SignatureCheck, parse_body

if TYPE_CHECKING:
    from wsgiref.types import WSGIEnvironment

log = logging.getLogger(__name__)


def screen(environ: WSGIEnvironment, check: SignatureCheck, max_bytes: int) -> Refusal | None:
    """Read the body once, refuse what is not Slack's, and put the bytes back for Bolt."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(Refusal(400, "Content-Length is not a number"))
    if length < 0 or length > max_bytes:
        return _refuse(Refusal(400, "Content-Length is out of range"))
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    refusal = check.refusal(
        body, _single(environ, "HTTP_X_SLACK_REQUEST_TIMESTAMP"), _single(environ, "HTTP_X_SLACK_SIGNATURE")
    )
    if refusal is None:
        parsed = parse_body(body, environ.get("CONTENT_TYPE"))
        refusal = parsed if isinstance(parsed, Refusal) else None
    return _refuse(refusal) if refusal is not None else None


def _single(environ: WSGIEnvironment, key: str) -> str | None:
    value = environ.get(key)
    return value if isinstance(value, str) else None


def _refuse(refusal: Refusal) -> Refusal:
    log.warning("Slack request refused", extra={"status": refusal.status, "reason": refusal.reason})
    return refusal
