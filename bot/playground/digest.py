"""The playground's "open the latest digest": this week so far, posted by the bot with its chart.

Why not ``bot.digest.post_digest``: that posts a *completed* week exactly once, claiming the
(channel, week) in the audit store so no other instance posts it again. Someone trying the
playground wants to see the runs they just made (the week in progress) and to look again after a
few more, and the playground often shares its audit database with the CLI (``./quickstart`` uses
``lanebot.db`` for both): a claim taken here would make the real bot skip that week's digest. So
this builds the same digest with the same builders (``build_digest``, ``render_blocks``,
``upload_attachments``) and posts it through the bot's own Web API client, claiming nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient

from bot.digest import build_digest, render_blocks, render_summary
from bot.digest.attachments import upload_attachments
from bot.digest.post import digest_channel
from bot.digest.weeks import week_of
from lanes.config import LanesConfig
from storage.store import AuditStore

log = logging.getLogger(__name__)


def post_week_so_far(
    store: AuditStore, client: WebClient, config: LanesConfig, clock: Callable[[], datetime]
) -> tuple[str, str]:
    """Post the current week's digest, its chart and route tables (in the thread); returns (channel, ts)."""
    settings = digest_channel(config)
    now = clock()
    digest = build_digest(store, config, week_of(now, settings.timezone), now=now)
    response = client.chat_postMessage(
        channel=settings.channel,
        text=render_summary(digest),
        blocks=render_blocks(digest),
        unfurl_links=False,
    )
    ts = str(response["ts"])
    upload_attachments(client, settings.channel, ts, digest)
    log.info("playground digest posted", extra={"week": digest.week, "channel": settings.channel})
    return settings.channel, ts
