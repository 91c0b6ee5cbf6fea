"""``lanebot digest``: the weekly digest, printed (text or JSON) or posted to the digest channel.

Printing only reads the audit store. ``--post`` goes through ``bot.digest.post_digest``, the same
claim-then-post path as the bot's scheduler, so a digest posted from a terminal is never posted a
second time by a running bot (or by running the command twice): a week already posted to the
channel is reported and left alone. The Slack settings are checked before the database is
touched, and a post Slack refuses or cannot receive is reported in one paragraph with the fix.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.digest.weeks import IsoWeek, last_completed_week
from bot.runtime.core import config_path, database_url, open_store
from lanes.config import LanesConfig, load_config
from lanes.errors import LanebotError
from storage.store import AuditStore

_SLACK_FIXES = {
    "invalid_auth": "check SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-...)",
    "not_authed": "set SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-...)",
    "token_revoked": "the token was revoked: reinstall the app and update SLACK_BOT_TOKEN",
    "account_inactive": "the token was revoked: reinstall the app and update SLACK_BOT_TOKEN",
    "channel_not_found": "check [digest] channel in lanes.toml (a channel id such as C0123456789)",
    "not_in_channel": "invite the bot to the digest channel (/invite @lanebot)",
    "is_archived": "the digest channel is archived: unarchive it or set another [digest] channel",
    "missing_scope": "add the chat:write scope to the app and reinstall it",
}


class DigestPostError(LanebotError):
    """Slack refused the digest, or could not be reached; nothing was posted."""


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.digest import build_digest, render_json, render_text

    config = load_config(config_path(args.config, os.environ))
    poster = _Poster.from_settings(args, config) if args.post else None
    store = open_store(database_url(args.database_url, os.environ))
    try:
        if poster is not None:
            return poster.post(store, args.week, as_json=args.json)
        digest = build_digest(store, config, args.week)
    finally:
        store.engine.dispose()
    print(json.dumps(render_json(digest), indent=2) if args.json else render_text(digest))
    return 0


@dataclass
class _Poster:
    """Posts through ``post_digest`` and keeps the Web API error it swallows, to explain it."""

    config: LanesConfig
    channel: str
    timezone: str
    client: Any
    api_url: str
    instance: str
    errors: list[Exception] = field(default_factory=list)

    @classmethod
    def from_settings(cls, args: argparse.Namespace, config: LanesConfig) -> _Poster:
        from bot.digest.post import digest_channel
        from bot.runtime.settings import load_settings
        from bot.runtime.wiring import build_client

        digest = digest_channel(config)  # ConfigError names the missing [digest] channel
        overrides: dict[str, Any] = {"lanebot_config": str(config.source)}
        if args.database_url:
            overrides["database_url"] = args.database_url
        settings = load_settings(**overrides)
        client = build_client(settings)  # ConfigError when SLACK_BOT_TOKEN is not set
        return cls(
            config, digest.channel, digest.timezone, client, settings.slack_api_url, settings.instance_id
        )

    def post(self, store: AuditStore, week: IsoWeek | None, *, as_json: bool) -> int:
        from bot.digest.post import post_digest

        now = datetime.now(UTC)
        week = week or last_completed_week(now, self.timezone)
        claim = store.digest_claim(self.channel, week.label)
        if claim is not None and claim.posted_at is not None:
            return self._say(as_json, week, "already_posted", f"at {claim.posted_at:%Y-%m-%d %H:%M} UTC")
        if post_digest(store, self, self.config, week, self.instance, now):
            return self._say(as_json, week, "posted", "")
        if self.errors:
            raise DigestPostError(self._explain(self.errors[-1], week))
        return self._say(as_json, week, "being_posted", "by another lanebot instance")

    def _say(self, as_json: bool, week: IsoWeek, outcome: str, detail: str) -> int:
        if as_json:
            print(json.dumps({"week": week.label, "channel": self.channel, "outcome": outcome}))
            return 0
        verb = {
            "posted": "was posted",
            "already_posted": "was already posted",
            "being_posted": "is being posted",
        }
        done = "" if outcome == "posted" else "; nothing to do"
        print(f"the digest of {week} {verb[outcome]} to channel {self.channel} {detail}".rstrip() + done)
        return 0

    def _explain(self, error: Exception, week: IsoWeek) -> str:
        code = slack_error_code(error)
        if code is not None:
            fix = _SLACK_FIXES.get(
                code, "see https://api.slack.com/methods/chat.postMessage for what it means"
            )
            return f"Slack refused the digest of {week} for channel {self.channel} ({code}); {fix}"
        reason = getattr(error, "reason", None) or error
        return (
            f"could not reach Slack at {self.api_url} to post the digest of {week} ({reason}); check "
            "the network, and SLACK_API_URL if you use a proxy"
        )

    # --- the two Web API calls post_digest makes (bot.digest.post.SlackClient) -----------------

    def chat_postMessage(self, **kwargs: Any) -> Any:
        return self._recorded(self.client.chat_postMessage, kwargs)

    def files_upload_v2(self, **kwargs: Any) -> Any:
        return self._recorded(self.client.files_upload_v2, kwargs)

    def _recorded(self, call: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return call(**kwargs)
        except Exception as exc:
            self.errors.append(exc)
            raise


def slack_error_code(error: Exception) -> str | None:
    """The Web API error of a refused call (``channel_not_found``...); None when Slack was not reached."""
    response = getattr(error, "response", None)
    data: Any = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return None
