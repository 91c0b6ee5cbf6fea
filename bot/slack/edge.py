"""Bolt's first two middlewares: the request is Slack's, and its payload is one lanebot accepts.

``VerifiedRequests`` runs before anything else in the app (Bolt's ``before_authorize`` slot, with
Bolt's own ``RequestVerification`` turned off; see ``bot.slack.verification`` for why). In HTTP
mode it checks the signature over the raw body, reads the body strictly, drops a response_url
whose host is not Slack's (``bot.slack.response_urls``) and only then marks the request verified
(``VERIFIED`` in the context). Socket Mode requests arrive over the app-token connection Slack
opened, so they are verified by construction. The error handler answers only verified requests.

``PayloadGate`` (a global middleware after Bolt's authorization) validates the verified payload
against ``bot.slack.payloads``: a misfit gets a 400 and one log line with its reason, and no
listener runs (no run, no claim, no Slack call). Kinds lanebot does not act on (other events, a
closed modal) get an empty 200 and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.context import BoltContext
from slack_bolt.middleware import Middleware
from slack_bolt.request.internals import build_context

from bot.slack import payloads
from bot.slack.response_urls import ResponseOrigins, origin_of
from bot.slack.verification import Refusal, SignatureCheck, parse_body

log = logging.getLogger(__name__)

VERIFIED = "lanebot_verified"
_CONTEXT_FROM_BODY = (
    "is_enterprise_install",
    "enterprise_id",
    "team_id",
    "user_id",
    "actor_enterprise_id",
    "actor_team_id",
    "actor_user_id",
    "channel_id",
    "thread_ts",
    "response_url",
)


def is_verified(context: BoltContext | dict[str, Any] | None) -> bool:
    return bool(context is not None and context.get(VERIFIED) is True)


def refused(refusal: Refusal) -> BoltResponse:
    """The whole answer to a refused request: a status and fixed words."""
    error = "invalid request" if refusal.status == 401 else "malformed request"
    return BoltResponse(status=refusal.status, body={"error": error})


class VerifiedRequests(Middleware):
    """Signature, strict body, allowed response_url: then ``context[VERIFIED] = True``."""

    def __init__(self, check: SignatureCheck | None, origins: ResponseOrigins) -> None:
        self._check = check
        self._origins = origins

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if req.mode != "socket_mode":
            outcome = self._read(req)
            if isinstance(outcome, Refusal):
                log.warning(
                    "Slack request refused", extra={"status": outcome.status, "reason": outcome.reason}
                )
                return refused(outcome)
            _replace_body(req, outcome)
        self._drop_foreign_response_urls(req)
        req.context[VERIFIED] = True
        return next()

    def _read(self, req: BoltRequest) -> dict[str, Any] | Refusal:
        if self._check is None:
            return Refusal(401, "HTTP requests are not accepted: no signing secret is configured")
        raw = req.raw_body.encode("utf-8", "surrogatepass")
        refusal = self._check.refusal(
            raw, _header(req, "x-slack-request-timestamp"), _header(req, "x-slack-signature")
        )
        return refusal or parse_body(raw, _header(req, "content-type"))

    def _drop_foreign_response_urls(self, req: BoltRequest) -> None:
        """Only a response_url on Slack's (or the configured API's) host is ever used: the context
        (what the error handler reads) keeps no other; a well-formed URL off those hosts is dropped
        from the body too, while anything that is not a URL at all stays for ``PayloadGate`` to refuse."""
        body, context = req.body, req.context
        url = body.get("response_url")
        if not (isinstance(url, str) and self._origins.allows(url)):
            context.pop("response_url", None)
        if isinstance(url, str) and origin_of(url) is not None and not self._origins.allows(url):
            body.pop("response_url", None)
            log.warning("response_url outside Slack's hosts dropped from a verified request")
        if body.get("response_urls"):
            body.pop("response_urls", None)  # lanebot's modals never ask for one
            context.pop("response_url", None)


class PayloadGate(Middleware):
    """Lets through only payloads that fit ``bot.slack.payloads``; see the module docstring."""

    def __init__(self, commands: Collection[str]) -> None:
        self._commands = frozenset(commands)

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        reason = payloads.refusal(req.body, self._commands)
        if reason is None:
            return next()
        if reason == payloads.IGNORED:
            return BoltResponse(status=200, body="")
        log.warning("Slack payload refused", extra={"payload_kind": payload_kind(req.body), "reason": reason})
        return refused(Refusal(400, reason))


def payload_kind(body: dict[str, Any]) -> str:
    """The payload's kind in fixed words (a ``type`` value from the body is never echoed)."""
    if "command" in body:
        return "slash_command"
    kind = body.get("type")
    known = ("block_actions", "view_submission", "view_closed", "event_callback", "shortcut")
    return kind if isinstance(kind, str) and kind in known else "other"


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name) or []
    return values[0] if len(values) == 1 else None


def _replace_body(req: BoltRequest, body: dict[str, Any]) -> None:
    """Bolt parsed the body before any check (and misreads some); use the strict reading."""
    req.body = body
    for key in _CONTEXT_FROM_BODY:
        req.context.pop(key, None)
    build_context(req.context, body)
