"""``lanebot manifest``: the Slack app manifest, generated from lanes.toml.

One slash command per lane plus ``/lanes`` and ``/lanebot``, interactivity (the draft buttons and
modals), the ``app_mention`` event, and only the bot scopes the app uses:

- ``commands``: the slash commands;
- ``chat:write``: root messages, drafts, updates after decisions, ephemeral answers;
- ``usergroups:read``: user-group owners are checked at click time (``usergroups.users.list``);
- ``files:write``: drafts too long for messages are attached as a file, never cut;
- ``app_mentions:read``: the ``app_mention`` event.

``chat:write.public`` is deliberately absent: the bot posts only where it was invited, and tells
people to invite it otherwise. Socket Mode needs no URLs; HTTP mode needs ``request_url`` (every
command, interactivity and events use the same ``.../slack/events`` URL).
"""

from __future__ import annotations

from typing import Any

from lanes.config import LanesConfig

BOT_SCOPES: tuple[str, ...] = (
    "app_mentions:read",
    "chat:write",
    "commands",
    "files:write",
    "usergroups:read",
)
BOT_EVENTS: tuple[str, ...] = ("app_mention",)
DESCRIPTION = "Puts your team's AI work on explicit, auditable routes, with a human approving every draft."


def build_manifest(
    config: LanesConfig,
    *,
    request_url: str | None = None,
    socket_mode: bool | None = None,
    name: str = "lanebot",
) -> dict[str, Any]:
    """The manifest as a dict (print it as JSON). ``socket_mode`` defaults to "no request_url given"."""
    socket = request_url is None if socket_mode is None else socket_mode
    if not socket and not request_url:
        raise ValueError("HTTP mode needs the public URL of /slack/events: pass request_url (--request-url)")
    settings: dict[str, Any] = {
        "interactivity": {"is_enabled": True, **_url(request_url)},
        "event_subscriptions": {"bot_events": list(BOT_EVENTS), **_url(request_url)},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket,
        "token_rotation_enabled": False,
    }
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": DESCRIPTION[:140],
            "background_color": "#1d3b53",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": _commands(config, request_url),
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": settings,
    }


def _url(request_url: str | None) -> dict[str, str]:
    return {"request_url": request_url} if request_url else {}


def _commands(config: LanesConfig, request_url: str | None) -> list[dict[str, Any]]:
    commands = [
        _command(
            lane.command, lane.description or f"Run the {lane.name} lane", "<text>", request_url, escape=False
        )
        for lane in config.lanes.values()
    ]
    commands.append(_command("/lanes", "Show the lanes and their policy in plain language", "", request_url))
    commands.append(
        _command(
            "/lanebot",
            "Help, or search the audit trail (lane owners)",
            "audit lane:support status:approved since:7d",
            request_url,
            escape=True,
        )
    )
    return commands


def _command(
    command: str, description: str, hint: str, request_url: str | None, *, escape: bool = False
) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": command, "description": description[:100], "should_escape": escape}
    if hint:
        entry["usage_hint"] = hint
    if request_url:
        entry["url"] = request_url
    return entry
