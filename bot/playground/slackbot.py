"""What Slack itself does with what people type, and what Slackbot says back.

Slack never hands an app raw keystrokes: ``&``, ``<`` and ``>`` arrive as entities (the bot
unescapes command text and escapes model output on that assumption), and ``@name`` becomes a
``<@U...>`` mention in messages and in the text of commands whose manifest entry sets
``should_escape``. The playground's composer applies the same rules, so the bot sees the bytes
Slack would send. The strings below are Slack's own answers (not the bot's, whose strings live in
``bot.slack.messages``); they are shown as ephemeral messages from Slackbot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

INVITE_COMMAND = {
    "command": "/invite",
    "description": "Add the bot to this channel",
    "usage_hint": "@lanebot",
}
"""Slack's own ``/invite``, the one built-in command the playground implements (see ``joined``)."""

_AT_NAME = re.compile(r"(?<![\w<@])@([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)
_SPECIAL = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>"}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_sent(text: str, users_by_name: Mapping[str, str], *, mentions: bool, with_names: bool = False) -> str:
    """``text`` as Slack delivers it: entities escaped, then (if ``mentions``) ``@name`` linked."""
    escaped = escape(text)
    if not mentions:
        return escaped

    def link(match: re.Match[str]) -> str:
        name = match.group(1).rstrip(".")
        tail = match.group(1)[len(name) :]
        if name.lower() in _SPECIAL:
            return _SPECIAL[name.lower()] + tail
        user = users_by_name.get(name.lower())
        if user is None:
            return match.group(0)
        return (f"<@{user}|{name}>" if with_names else f"<@{user}>") + tail

    return _AT_NAME.sub(link, escaped)


def not_a_command(command: str) -> str:
    return (
        f"`{escape(command)}` is not a valid command. In Slack, all messages that start with the "
        '"/" character are interpreted as commands. Try one of the commands the composer suggests.'
    )


def command_failed(command: str, error: str) -> str:
    return f'`{escape(command)}` failed with the error "{escape(error)}"'


def joined(channel: str, inviter: str) -> str:
    """The channel-join line Slack shows, posted under the bot's name after ``/invite``."""
    return f"joined #{channel}. Added by <@{inviter}>."


def invite_usage() -> str:
    return "Usage: `/invite @lanebot` adds the bot to this channel."


def not_in_channel(bot: str) -> str:
    return f"You mentioned <@{bot}>, but they're not in this channel. Add them with `/invite @lanebot`."
