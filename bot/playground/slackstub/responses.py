"""response_urls: where Bolt's ``respond()`` posts, and what Slack does with each post.

A response_url belongs to one interaction: a slash command (its original is its ack) or a click on
a message, possibly an ephemeral one. Slack's rules, kept here: ``delete_original`` removes the clicked
message, ``replace_original`` replaces it (text *and* blocks), anything else is a new message,
ephemeral unless ``response_type`` is ``in_channel``. A slash command's original is its ephemeral
ack ("Searching…" replaced by the results); its place is reserved when the command is sent, so an
app that answers through the url before its ack has been shown still replaces, never duplicates.
A url works five times within 30 minutes; after that Slack answers 404 ``used_url`` /
``expired_url``, which a slow lane run can really hit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.playground.slackstub.models import ResponsePost, ResponseUrl, StubError

if TYPE_CHECKING:
    from bot.playground.slackstub.workspace import Workspace


class ResponseBook:
    """The part of a workspace that issues response_urls and applies posts to them."""

    def __init__(self, workspace: Workspace, *, ttl: float = 1800.0, max_uses: int = 5) -> None:
        self._ws = workspace
        self.ttl = ttl
        self.max_uses = max_uses
        self._urls: dict[str, ResponseUrl] = {}
        self._posts: list[ResponsePost] = []
        self._gone: set[str] = set()

    def issue(
        self,
        *,
        channel: str,
        user: str,
        origin_ts: str | None = None,
        origin_ephemeral: bool = False,
        thread_ts: str | None = None,
    ) -> ResponseUrl:
        """Reserve a response_url id; the web server serves it as ``<base>/response/<id>``."""
        ws = self._ws
        with ws.lock:
            url = ResponseUrl(
                ws.new_id("R"),
                ws.channel(channel).id,
                user,
                ws.clock(),
                origin_ts,
                origin_ephemeral,
                thread_ts,
            )
            self._urls[url.id] = url
            return url

    def respond(self, url_id: str, payload: Mapping[str, Any]) -> ResponsePost:
        """Apply one POST to a response_url (payload already validated by the web layer)."""
        with self._ws.transaction() as emit:
            url = self._use(url_id)
            outcome = self._apply(url, payload)
            post = ResponsePost(url_id, dict(payload), self._ws.clock(), outcome)
            self._posts.append(post)
            emit("response_posted", channel=url.channel, ref=url_id, extra={"outcome": outcome})
        return post

    def ack_answered(self, ack_ts: str) -> bool:
        """Whether a command's ack was already replaced or deleted through its url (then not shown)."""
        with self._ws.lock:
            return ack_ts in self._gone or self._ws.ephemeral(ack_ts) is not None

    def posts(self, url_id: str | None = None) -> list[ResponsePost]:
        with self._ws.lock:
            return [p for p in self._posts if url_id is None or p.url_id == url_id]

    def get(self, url_id: str) -> ResponseUrl | None:
        with self._ws.lock:
            return self._urls.get(url_id)

    def _use(self, url_id: str) -> ResponseUrl:
        url = self._urls.get(url_id)
        if url is None:
            raise StubError("no_such_url", status=404)
        if self._ws.clock() - url.issued_at > self.ttl:
            raise StubError("expired_url", status=404)
        if url.uses >= self.max_uses:
            raise StubError("used_url", f"a response_url works at most {self.max_uses} times", status=404)
        self._urls[url_id] = dataclasses.replace(url, uses=url.uses + 1)
        return url

    def _apply(self, url: ResponseUrl, payload: Mapping[str, Any]) -> str:
        ws = self._ws
        text, blocks = str(payload.get("text") or ""), payload.get("blocks") or ()
        origin = url.origin_ts
        if origin is not None and _truthy(payload.get("delete_original")):
            if url.origin_ephemeral:
                self._gone.add(origin)
                if ws.ephemeral(origin) is not None:
                    ws.delete_ephemeral(origin)
            else:
                ws.delete_message(url.channel, origin)
            return "deleted"
        if origin is not None and _truthy(payload.get("replace_original")):
            if url.origin_ephemeral and ws.ephemeral(origin) is None:
                ws.post_ephemeral(
                    url.channel, url.user, text=text, blocks=blocks, source="respond", ts=origin
                )
            elif url.origin_ephemeral:
                ws.replace_ephemeral(origin, text=text, blocks=blocks)
            else:
                ws.update_message(url.channel, origin, text=text, blocks=blocks)
            return "replaced"
        thread_ts = payload.get("thread_ts") or url.thread_ts
        if payload.get("response_type") == "in_channel":
            ws.post_message(url.channel, text=text, blocks=blocks, thread_ts=thread_ts)
            return "posted"
        ws.post_ephemeral(
            url.channel, url.user, text=text, blocks=blocks, thread_ts=thread_ts, source="respond"
        )
        return "ephemeral"


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
