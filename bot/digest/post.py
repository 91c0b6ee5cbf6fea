"""Posting a week's digest to Slack exactly once, whatever the number of bot instances.

The order matters:

1. **claim** the (channel, ISO week) by inserting its ``digest_claims`` row: one instance wins,
   every other one (a second bot, a restart, the catch-up job) sees the row and stops;
2. **post** the blocks with ``chat.postMessage``;
3. **mark** the claim posted (``posted_at``, ``message_ts``) *before* anything optional, so a
   later failure cannot cause a second post;
4. **upload** the chart and the route tables into the message's thread with ``files_upload_v2``
   (``bot.digest.attachments``; best effort: a digest without its attachments is still the digest).

If the post fails, the claim is released so the next catch-up tick retries; if the process dies
between claim and post, the claim goes stale (``DIGEST_CLAIM_STALE_AFTER``) and is taken over.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from slack_sdk.errors import SlackClientError

from bot.digest.attachments import upload_attachments
from bot.digest.build import build_digest
from bot.digest.render import render_blocks, render_summary
from bot.digest.weeks import IsoWeek, last_completed_week, parse_iso_week
from lanes.config import DigestConfig, LanesConfig
from lanes.errors import ConfigError
from storage.store import AuditStore

log = logging.getLogger(__name__)


class SlackClient(Protocol):
    """The two Web API calls the digest makes (``slack_sdk.WebClient`` has both)."""

    def chat_postMessage(
        self,
        *,
        channel: str,
        text: str | None = None,
        blocks: Sequence[dict[str, Any]] | None = None,
        unfurl_links: bool | None = None,
        **kwargs: Any,
    ) -> Any: ...

    def files_upload_v2(
        self,
        *,
        file: bytes | None = None,
        filename: str | None = None,
        title: str | None = None,
        alt_txt: str | None = None,
        channel: str | None = None,
        thread_ts: str | None = None,
        **kwargs: Any,
    ) -> Any: ...


def digest_channel(config: LanesConfig) -> DigestConfig:
    if config.digest is None or not config.digest.channel:
        fix = 'add [digest] channel = "C0123456789" (a channel id)'
        raise ConfigError([f"{config.source}: digest: no channel to post to; {fix}"])
    return config.digest


def post_digest(
    store: AuditStore,
    client: SlackClient,
    config: LanesConfig,
    week: IsoWeek | str | None,
    instance: str,
    now: datetime,
    *,
    late: bool = False,
    chart: bool = True,
) -> bool:
    """Post the digest of ``week`` (default: the last completed one); True if this call posted it."""
    settings = digest_channel(config)
    target = (
        parse_iso_week(week) if isinstance(week, str) else week or last_completed_week(now, settings.timezone)
    )
    if not store.claim_digest_week(settings.channel, target.label, instance, now, late):
        log.info("digest already claimed", extra={"week": target.label, "channel": settings.channel})
        return False
    try:
        digest = replace(build_digest(store, config, target, now=now), late=late)
        response = client.chat_postMessage(
            channel=settings.channel,
            text=render_summary(digest),
            blocks=render_blocks(digest),
            unfurl_links=False,
        )
    except (SlackClientError, OSError) as exc:
        store.release_digest_claim(settings.channel, target.label, instance)
        log.error(
            "digest post failed; released the claim so the next catch-up retries",
            extra={"week": target.label, "channel": settings.channel, "error": type(exc).__name__},
        )
        return False
    except Exception:
        store.release_digest_claim(settings.channel, target.label, instance)  # e.g. the audit store is down
        raise
    ts = response.get("ts")
    store.mark_digest_posted(settings.channel, target.label, instance, now, ts)
    log.info("digest posted", extra={"week": target.label, "channel": settings.channel, "late": late})
    if chart and ts:
        upload_attachments(client, settings.channel, ts, digest)
    return True
