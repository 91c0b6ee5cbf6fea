"""Talking to Slack safely: escaping, splitting long text, posting, and reading errors.

Three rules live here so no listener has to remember them:

- **Nothing pings by accident.** Request text and model output are untrusted: ``<!channel>``,
  ``<@U123>`` or ``<!subteam^S1>`` inside them would notify people. ``escape`` turns ``&``, ``<``
  and ``>`` into entities (Slack's own escaping), so they render as typed and ping nobody. Only
  the mentions the bot builds itself (``mention``) are live.
- **Nothing is lost to a limit.** A section holds 3,000 characters and a message 50 blocks, so
  long drafts are split (``split_text``) on paragraph, line or word boundaries, never inside an
  entity such as ``&amp;``, a surrogate pair or a combining sequence (an emoji with its
  modifiers stays whole); joining the pieces gives back the text exactly. What does not fit in
  a few thread messages is uploaded as a file.
- **Slack errors are data.** ``slack_error`` reads the error code off an exception so callers
  can branch on ``not_in_channel`` without importing SDK exceptions everywhere.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from lanes.audit.text import storable_text

log = logging.getLogger(__name__)

SECTION_LIMIT = 2_900
"""Under Slack's 3,000 per section, counted in UTF-16 units (what Slack counts), with margin."""
SECTIONS_PER_MESSAGE = 4
MAX_THREAD_MESSAGES = 5
"""A draft needing more thread messages than this is uploaded as a file instead."""
NOT_IN_CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_ZWJ = "\u200d"


def escape(text: str) -> str:
    """Slack's control characters as entities, so untrusted text renders as typed and pings no one;
    text no Slack message can carry (NUL, lone surrogates, C0 controls) is repaired first."""
    text = storable_text(text)[0]
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mention(slack_id: str) -> str:
    """A live mention for an id the bot chose (lane owners); anything else is shown as text."""
    if _USER_ID.match(slack_id):
        return f"<@{slack_id}>"
    if _GROUP_ID.match(slack_id):
        return f"<!subteam^{slack_id}>"
    return escape(slack_id)


def slack_len(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units: an emoji outside the BMP counts two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def excerpt(text: str, limit: int = 280) -> str:
    """The first ``limit`` characters of ``text`` on one line, with an ellipsis if cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = _safe_cut(flat, limit - 1)
    return flat[:cut].rstrip() + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` Slack characters whose concatenation is exactly ``text``."""
    if limit < 16:
        raise ValueError("limit must be at least 16")
    pieces: list[str] = []
    rest = text
    while slack_len(rest) > limit:
        cut = _fit(rest, limit)
        cut = _boundary(rest, cut)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _fit(text: str, limit: int) -> int:
    """The largest prefix length (in code points) whose Slack length is within ``limit``."""
    cut = min(len(text), limit)
    while slack_len(text[:cut]) > limit:
        cut -= slack_len(text[:cut]) - limit
    return cut


def _boundary(text: str, cut: int) -> int:
    """Move ``cut`` back to a paragraph, line or word end in the window's last third if possible."""
    floor = max(1, cut - cut // 3)
    for separator in ("\n\n", "\n", " "):
        found = text.rfind(separator, floor, cut)
        if found != -1:
            return found + len(separator)
    return _safe_cut(text, cut)


def _safe_cut(text: str, cut: int) -> int:
    """Back off so the cut is not inside ``&amp;``-style entities or a grapheme cluster."""
    amp = text.rfind("&", max(0, cut - 5), cut)
    if amp > 0 and ";" not in text[amp:cut]:
        cut = amp
    while cut > 1 and _joins(text, cut):
        cut -= 1
    return cut


def _joins(text: str, cut: int) -> bool:
    """Would cutting before ``text[cut]`` split a character from its modifiers or a flag's pair?"""
    before, after = text[cut - 1], text[cut]
    if _regional(before) and _regional(after):
        run = 0
        while cut - 1 - run >= 0 and _regional(text[cut - 1 - run]):
            run += 1
        return run % 2 == 1
    return (
        before == _ZWJ
        or after == _ZWJ
        or unicodedata.combining(after) != 0
        or 0xFE00 <= ord(after) <= 0xFE0F
        or 0x1F3FB <= ord(after) <= 0x1F3FF
        or 0xE0020 <= ord(after) <= 0xE007F
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


@dataclass(frozen=True)
class DraftLayout:
    """How a draft is spread: sections per message (first one carries the buttons), maybe a file."""

    messages: tuple[tuple[str, ...], ...]
    as_file: bool

    @property
    def continued(self) -> bool:
        return len(self.messages) > 1 or self.as_file


def layout_draft(escaped: str) -> DraftLayout:
    """Spread escaped draft text over thread messages; beyond ``MAX_THREAD_MESSAGES``, a file."""
    sections = split_text(escaped)
    messages = tuple(
        tuple(sections[i : i + SECTIONS_PER_MESSAGE]) for i in range(0, len(sections), SECTIONS_PER_MESSAGE)
    )
    if len(messages) > MAX_THREAD_MESSAGES:
        return DraftLayout(messages[:1], as_file=True)
    return DraftLayout(messages, as_file=False)


def slack_error(exc: BaseException) -> str | None:
    """Slack's error code (``not_in_channel``, ``ratelimited``...) if ``exc`` is a Web API error."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    return None


def post(
    client: WebClient,
    channel: str,
    text: str,
    blocks: Sequence[dict[str, Any]] | None = None,
    *,
    thread_ts: str | None = None,
) -> str:
    """Post a message; returns its ``ts``. ``text`` is the notification fallback (already escaped)."""
    response = client.chat_postMessage(
        channel=channel,
        text=text,
        blocks=list(blocks) if blocks else None,
        thread_ts=thread_ts,
        unfurl_links=False,
        unfurl_media=False,
        link_names=False,
    )
    return str(response["ts"])


def update(client: WebClient, channel: str, ts: str, text: str, blocks: Sequence[dict[str, Any]]) -> None:
    client.chat_update(channel=channel, ts=ts, text=text, blocks=list(blocks), link_names=False)


def ephemeral(client: WebClient, channel: str, user: str, text: str, *, thread_ts: str | None = None) -> None:
    """Tell one person something; failures are logged, since the message is a courtesy."""
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("ephemeral message not delivered", extra={"channel": channel, "error": slack_error(exc)})


def upload_text(
    client: WebClient, channel: str, thread_ts: str, filename: str, content: str, title: str, comment: str
) -> None:
    """Attach ``content`` as a file in the thread (files upload v2)."""
    client.files_upload_v2(
        channel=channel,
        thread_ts=thread_ts,
        filename=filename,
        content=content,
        title=title,
        initial_comment=comment,
    )


def respond(response_url: str | None, text: str) -> None:
    """An ephemeral reply through a command's or a click's response_url (works even where the
    bot is not a channel member). Failures are logged: the audit already holds the outcome."""
    if not response_url:
        return
    try:
        result = WebhookClient(response_url, timeout=10).send(
            text=text, response_type="ephemeral", replace_original=False
        )
    except (SlackRequestError, OSError) as exc:
        log.warning("response_url reply failed", extra={"error": type(exc).__name__})
        return
    if result.status_code != 200:
        log.warning(
            "response_url reply refused", extra={"status": result.status_code, "body": result.body[:200]}
        )
