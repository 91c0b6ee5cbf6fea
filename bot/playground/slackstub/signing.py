"""Signs app requests the way Slack does and sends them over real HTTP.

Slack signs every request it sends an app: ``X-Slack-Signature = v0=HMAC-SHA256(secret,
"v0:{timestamp}:{body}")`` with ``X-Slack-Request-Timestamp``; Bolt rejects a bad signature or a
timestamp more than five minutes old with 401. The sender can also produce the requests a bot must
survive: a forged signature, a stale timestamp, a replay of an earlier delivery, and Slack's own
retries (``X-Slack-Retry-Num``/``X-Slack-Retry-Reason``) after the app was slow to answer.

``sign()`` returns the request without sending it, for ``app.dispatch(BoltRequest(body=r.body,
headers=r.headers))``; ``send()``/``deliver()`` POST it to the app's URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.playground.slackstub.payload_factory import Payload

STALE_AGE_S = 10 * 60  # Bolt refuses anything older than 5 minutes
SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def signature(signing_secret: str, timestamp: str, body: str) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``, as in Slack's docs."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignedRequest:
    """A request ready to send (or to dispatch into Bolt); keep it to replay it later."""

    body: str
    headers: Mapping[str, str]
    payload: Payload | None = None


@dataclass(frozen=True)
class HttpResult:
    """What the app answered: status, headers (lower-case names) and the body as text."""

    status: int
    headers: Mapping[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackSender:
    """Signs payloads with the app's signing secret and POSTs them to ``url`` (the app's /slack/events)."""

    def __init__(
        self,
        signing_secret: str,
        url: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self._secret = signing_secret
        self.url = url
        self.clock = clock
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy

    def sign(
        self,
        payload: Payload,
        *,
        timestamp: int | None = None,
        forge: bool = False,
        stale: bool = False,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> SignedRequest:
        """Headers Slack would send. ``forge`` signs with a wrong secret, ``stale`` backdates 10 min."""
        ts = str(timestamp if timestamp is not None else int(self.clock()) - (STALE_AGE_S if stale else 0))
        secret = f"forged-{self._secret}" if forge else self._secret
        headers = {
            "Content-Type": payload.content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(secret, ts, payload.body),
            "User-Agent": SLACK_USER_AGENT,
            "Accept": "application/json,*/*",
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return SignedRequest(payload.body, headers, payload)

    def send(self, request: SignedRequest, url: str | None = None) -> HttpResult:
        """POST a signed request (sending the same one twice is a replay)."""
        target = url or self.url
        if not target:
            raise ValueError("SlackSender has no url: pass url= to the constructor or to send()")
        req = urllib.request.Request(
            target, data=request.body.encode(), headers=dict(request.headers), method="POST"
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return _result(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            with e:
                return _result(e.code, e.headers, e.read())

    def deliver(self, payload: Payload, url: str | None = None, **sign_options: Any) -> HttpResult:
        """Sign and send in one step; ``sign_options`` are those of ``sign``."""
        return self.send(self.sign(payload, **sign_options), url)


def _result(status: int, headers: Any, body: bytes) -> HttpResult:
    return HttpResult(status, {k.lower(): v for k, v in headers.items()}, body.decode("utf-8", "replace"))
