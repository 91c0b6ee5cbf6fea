"""Which response_urls the bot may POST to: Slack's, and the configured Web API's own host.

A response_url arrives inside the request body. Slack's are always ``https://hooks.slack.com/…``;
the Slack stand-in (tests, the playground) and a proxy set ``SLACK_API_URL`` and serve them from
that host. Anything else is refused even in a verified request: the bot must never become a
client that sends requests wherever a body tells it to (issue 10: with a forged body, lanebot
POSTed an error message to an address of the sender's choosing). A refused URL is dropped, so
the request still runs; the person is told through Slack's Web API instead where that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

SLACK_HOOKS = ("https", "hooks.slack.com", 443)
Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL with a host and no credentials, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    return scheme, host, port if port is not None else (443 if scheme == "https" else 80)


@dataclass(frozen=True)
class ResponseOrigins:
    """The origins a response_url may have: Slack's hooks host, plus ``SLACK_API_URL``'s."""

    allowed: frozenset[Origin] = frozenset({SLACK_HOOKS})

    @classmethod
    def for_api_url(cls, api_url: str) -> ResponseOrigins:
        extra = origin_of(api_url)
        return cls(frozenset({SLACK_HOOKS} | ({extra} if extra else set())))

    def allows(self, url: str) -> bool:
        return origin_of(url) in self.allowed
