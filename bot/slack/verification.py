"""Slack's request signature, checked before anything reads the body, and the body read strictly.

Slack signs every HTTP request: ``X-Slack-Signature = v0=HMAC-SHA256(signing secret,
"v0:{timestamp}:{raw body}")`` with ``X-Slack-Request-Timestamp`` within five minutes of now.
Bolt's own check (``RequestVerification``) was not enough (issue 10): a non-numeric timestamp
made it raise, the exception reached the global error handler with the *unverified* body, and
the handler POSTed to the ``response_url`` in it; a bad signature was logged at INFO with the
whole body. So the bot checks requests itself, here, twice over:

- ``bot.runtime.http_server`` checks the raw bytes before Bolt parses anything, and
- ``bot.slack.edge.VerifiedRequests`` checks again as Bolt's first middleware (for anything that
  dispatches into the app directly) and marks the request verified; the error handler answers
  only verified requests.

An unverified request gets 401, a verified but unreadable one 400, and nothing else: no outbound
call, no database write, no log line with a value from the request (``Refusal.reason`` is fixed
text). ``parse_body`` also fixes a Bolt misreading: a form body merely *containing* the word
"payload" (a slash command "the payload failed") was read as an empty interaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

MAX_AGE_S = 5 * 60
MAX_FORM_FIELDS = 100
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: an HTTP status and a reason made of fixed words only."""

    status: int
    reason: str


@dataclass(frozen=True)
class SignatureCheck:
    """Slack's v0 signature over the raw body, with the five-minute window both ways."""

    secret: str
    clock: Callable[[], float] = time.time

    def refusal(self, body: bytes, timestamp: str | None, signature: str | None) -> Refusal | None:
        """None when the request is Slack's; otherwise a 401 and why."""
        if not timestamp:
            return Refusal(401, "no X-Slack-Request-Timestamp header")
        if not _TIMESTAMP.fullmatch(timestamp):
            return Refusal(401, "X-Slack-Request-Timestamp is not a Unix time in seconds")
        if abs(self.clock() - int(timestamp)) > MAX_AGE_S:
            return Refusal(401, "X-Slack-Request-Timestamp is more than five minutes from now")
        if not signature:
            return Refusal(401, "no X-Slack-Signature header")
        if not _SIGNATURE.fullmatch(signature):
            return Refusal(401, "X-Slack-Signature is not a v0 signature")
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return Refusal(401, "X-Slack-Signature does not match the body")
        return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any] | Refusal:
    """The request body as Slack meant it, or a 400: form fields (an interaction's one
    ``payload`` field holding a JSON object) or a JSON object (Events API)."""
    kind = media_type(content_type)
    if kind not in (FORM, JSON):
        return Refusal(400, "content type is neither a form nor JSON")
    try:
        text = body.decode("utf-8")
        parsed = _json_object(text) if kind == JSON else _form(text)
    except (ValueError, RecursionError):
        return Refusal(400, "body is not a well-formed Slack payload")
    if parsed is None:
        return Refusal(400, "body is not a well-formed Slack payload")
    return parsed


def _form(text: str) -> dict[str, Any] | None:
    pairs = parse_qsl(
        text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS, separator="&"
    )
    fields = dict(pairs)
    if not fields or len(fields) != len(pairs):
        return None  # empty, or a field given twice: Slack sends neither
    if "payload" in fields:
        return _json_object(fields["payload"])
    return fields


def _json_object(text: str) -> dict[str, Any] | None:
    value = json.loads(text)
    return value if isinstance(value, dict) else None
