"""A ready-made workspace whose people and channels match the example lanes.toml.

The playground and end-to-end tests both want "a team": owners and reviewers with the user ids the
example lanes name (U0OWNER, U0REVIEW, ...), a reviewers user group, a channel the bot is in, one it
is not in (to exercise ``not_in_channel``) and the digest channel C0DIGEST.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.playground.slackstub.workspace import Workspace

_PEOPLE = (
    ("U0OWNER", "olivia", "Olivia Owner"),
    ("U0REVIEW", "ravi", "Ravi Reviewer"),
    ("U0LEGAL", "lena", "Lena Legal"),
    ("U0COUNSEL", "carl", "Carl Counsel"),
    ("U0LEAD", "leo", "Leo Lead"),
    ("U0DEV1", "dana", "Dana Dev"),
    ("U0DEV2", "dev", "Devin Dev"),
    ("U0ASKER", "ada", "Ada Asker"),
    ("U0MANAGER", "max", "Max Manager"),
)


def demo_workspace(
    *, clock: Callable[[], float] = time.time, bot_token: str = "xoxb-lanebot-stub-token"
) -> Workspace:
    """Channels: #ai-lanes (C0LANES, bot in), #random (C0RANDOM, bot not in), #lane-digest (C0DIGEST)."""
    ws = Workspace(clock=clock, bot_token=bot_token)
    people = [
        ws.add_user(name, real, user_id=uid, email=f"{name}@example.com") for uid, name, real in _PEOPLE
    ]
    everyone = [p.id for p in people]
    ws.add_channel("ai-lanes", members=everyone, channel_id="C0LANES")
    ws.add_channel("random", members=everyone, bot_member=False, channel_id="C0RANDOM")
    ws.add_channel("lane-digest", members=["U0MANAGER", "U0OWNER", "U0LEAD"], channel_id="C0DIGEST")
    ws.add_usergroup("support-reviewers", ["U0REVIEW", "U0OWNER"], usergroup_id="S0SUPPORT")
    ws.add_usergroup("legal", ["U0LEGAL", "U0COUNSEL"], usergroup_id="S0LEGAL")
    ws.add_usergroup("dev-reviewers", ["U0DEV1", "U0DEV2", "U0LEAD"], usergroup_id="S0DEV")
    return ws
