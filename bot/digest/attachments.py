"""What the digest puts in its own thread: the chart, and the route tables as a text file.

Why files: a Slack thread shows an image about 600 px wide and a section's code block wraps at
roughly 60 characters, so a 13-column route table cannot be read inline. The message keeps a
one-line summary per route (``render.route_summary``); the full tables travel as a text file
that Slack opens as a snippet. Both uploads are best effort: a digest without its attachments is
still the digest, and it has already been marked posted when they go up.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_sdk.errors import SlackClientError

from bot.digest import wording
from bot.digest.chart import render_chart
from bot.digest.render import render_tables
from bot.digest.report import Digest

log = logging.getLogger(__name__)


class FileUploader(Protocol):
    """``slack_sdk.WebClient.files_upload_v2``, the one call made here."""

    def files_upload_v2(self, **kwargs: Any) -> Any: ...


def upload_attachments(client: FileUploader, channel: str, thread_ts: str, digest: Digest) -> None:
    """The chart, then the route tables (if any lane has routes), into the digest's thread."""
    _upload(
        client,
        digest,
        "chart",
        channel=channel,
        thread_ts=thread_ts,
        file=render_chart(digest),
        filename=wording.chart_filename(digest.week),
        title=wording.chart_file_title(digest.week),
        alt_txt=wording.CHART_ALT,
    )
    tables = render_tables(digest)
    if tables:
        _upload(
            client,
            digest,
            "route tables",
            channel=channel,
            thread_ts=thread_ts,
            file=tables.encode(),
            filename=wording.tables_filename(digest.week),
            title=wording.tables_file_title(digest.week),
        )


def _upload(client: FileUploader, digest: Digest, what: str, **kwargs: Any) -> None:
    try:
        client.files_upload_v2(**kwargs)
    except (SlackClientError, OSError) as exc:
        log.warning(
            "digest attachment upload failed; the digest itself is posted",
            extra={"week": digest.week, "attachment": what, "error": type(exc).__name__},
        )
