"""The app "installed" in the playground's workspace, and the people who try it.

Slack decides from the app's manifest which slash commands exist, whether their text has
mentions escaped, and which events the app hears. The playground reads the same manifest
(``bot.slack.manifest.build_manifest``), so a command missing from the manifest is "not a valid
command" here too, and only the subscribed events (``app_mention``) reach the bot.

The demo workspace has the people the example lanes.toml names; a lanes file naming other user
ids gets those people added (``fit_workspace``) so every owner and reviewer can be acted as.
``personas`` picks the four people a newcomer needs to see authorization at work: someone who
asks, an owner, a reviewer, and an outsider whose clicks are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.playground.slackstub import Workspace
from bot.slack.manifest import build_manifest
from lanes.config import LaneConfig, LanesConfig

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
PREFERRED_REQUESTER = "U0ASKER"


@dataclass(frozen=True)
class SlashCommand:
    command: str
    description: str
    usage_hint: str
    should_escape: bool


@dataclass(frozen=True)
class InstalledApp:
    """What Slack knows about the app from its manifest."""

    name: str
    commands: Mapping[str, SlashCommand]
    bot_events: frozenset[str]

    @classmethod
    def from_config(cls, config: LanesConfig, request_url: str) -> InstalledApp:
        manifest = build_manifest(config, request_url=request_url, socket_mode=False)
        features = manifest["features"]
        commands = {
            entry["command"]: SlashCommand(
                entry["command"],
                str(entry.get("description", "")),
                str(entry.get("usage_hint", "")),
                bool(entry.get("should_escape")),
            )
            for entry in features["slash_commands"]
        }
        events = frozenset(manifest["settings"]["event_subscriptions"]["bot_events"])
        return cls(str(features["bot_user"]["display_name"]), commands, events)


@dataclass(frozen=True)
class Persona:
    key: str
    user: str
    label: str


def fit_workspace(workspace: Workspace, config: LanesConfig) -> None:
    """Add people lanes.toml names but the demo workspace lacks, and the digest channel."""
    known = {user.id for user in workspace.users()}
    for lane in config.lanes.values():
        for person in (*lane.owners, *lane.reviewers):
            if _USER_ID.match(person) and person not in known:
                workspace.add_user(person.lower(), person, user_id=person)
                workspace.join_channel("C0LANES", person)
                known.add(person)
    channel = config.digest.channel if config.digest else ""
    if channel and channel not in {c.id for c in workspace.channels()}:
        workspace.add_channel("lane-digest", members=sorted(known), channel_id=channel)


def roles(workspace: Workspace, config: LanesConfig) -> dict[str, list[str]]:
    """user id -> ["owner of /support", "reviewer of /code", ...] (user groups expanded)."""
    found: dict[str, list[str]] = {user.id: [] for user in workspace.users() if not user.is_bot}
    for lane in config.lanes.values():
        for role, ids in (("owner", lane.owners), ("reviewer", lane.reviewers)):
            for user in _expand(workspace, ids):
                if user in found:
                    found[user].append(f"{role} of {lane.command}")
    return found


def personas(workspace: Workspace, config: LanesConfig) -> list[Persona]:
    """Requester, owner, reviewer and outsider for the first lane (the one newcomers try first)."""
    lane = next(iter(config.lanes.values()), None)
    if lane is None:
        return []
    people = roles(workspace, config)
    owners = _expand(workspace, lane.owners)
    reviewers = [u for u in _expand(workspace, lane.reviewers) if u not in owners]
    roleless = [u for u, r in people.items() if not r]
    requester = PREFERRED_REQUESTER if PREFERRED_REQUESTER in roleless else next(iter(roleless), None)
    outsider = next((u for u in roleless if u != requester), None) or _outsider_of(people, lane, workspace)
    picks = [
        ("requester", requester, f"asks {lane.command}"),
        ("owner", next(iter(owners), None), f"owner of {lane.command}"),
        ("reviewer", next(iter(reviewers), None), f"reviewer of {lane.command}"),
        ("outsider", outsider, f"not on {lane.command}"),
    ]
    return [Persona(key, user, label) for key, user, label in picks if user]


def _outsider_of(people: Mapping[str, list[str]], lane: LaneConfig, workspace: Workspace) -> str | None:
    members = set(_expand(workspace, (*lane.owners, *lane.reviewers)))
    return next((u for u in people if u not in members), None)


def _expand(workspace: Workspace, ids: Iterable[str]) -> list[str]:
    """User ids, with user groups (``S...``) replaced by their members, in order, without repeats."""
    groups = {group.id: group.members for group in workspace.usergroups()}
    out: list[str] = []
    for ref in ids:
        for user in groups.get(ref, (ref,)):
            if user not in out:
                out.append(user)
    return out
