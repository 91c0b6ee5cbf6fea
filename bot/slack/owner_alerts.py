"""Telling a lane's owners, in Slack, that a model tier's key or account needs fixing.

A rejected key or an exhausted quota (``RunObserver.config_fault``) is not a blip the fallback
hides: every run on that tier fails or pays for the fallback until a person fixes the setting.
So the lane's owners get a direct message at once, naming the lane, the tier, what the provider
said and what to fix. They get it once per fault (``lanes.faults.FaultGate``: again only after
the tier answered a call since, or after the cool-down), not once per run.

Owners are Slack user ids (a DM each, ``chat.postMessage`` to the user id) or user groups
(``S...``: a DM to each member, looked up with ``members``). Posting never raises into the run
that met the fault: a Slack error is logged and the run goes on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Protocol

from slack_sdk import WebClient

from lanes.config import LaneConfig
from lanes.faults import FaultGate

log = logging.getLogger(__name__)

_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_WHAT = {
    "auth": "its API key is missing or was refused",
    "quota": "its account is out of quota or credit",
}


class _AttemptFacts(Protocol):
    """What the alerts read of a recorded attempt (``lanes.values.Attempt`` has it)."""

    @property
    def tier(self) -> str: ...

    @property
    def outcome(self) -> str: ...


def fault_text(lane: str, tier: str, reason_code: str, message: str) -> str:
    """The DM: what failed, what it means for the lane, and what to do, in one paragraph."""
    what = _WHAT.get(reason_code, f"it has a configuration fault ({reason_code})")
    return (
        f":warning: Lane *{_escape(lane)}*: model tier *{_escape(tier)}* cannot be used: {what}. "
        f"The provider said: {_escape(message)} Until this is fixed, runs on {_escape(tier)} fail or "
        "use the lane's fallback. Fix the key or the billing named above (or the tier in "
        "lanes.toml); you will not get this message again for every run."
    )


class OwnerAlerts:
    """A ``lanes.observe.RunObserver`` that DMs a lane's owners about configuration faults."""

    def __init__(
        self,
        client: WebClient,
        lanes: Mapping[str, LaneConfig],
        *,
        members: Callable[[str], frozenset[str]] = lambda group: frozenset(),
        gate: FaultGate | None = None,
    ) -> None:
        """``members`` expands a user group into user ids (``bot.slack.user_groups.SlackGroupDirectory``)."""
        self._client = client
        self._lanes = lanes
        self._members = members
        self._gate = gate or FaultGate()

    def attempt_finished(self, lane: str, attempt: _AttemptFacts) -> None:
        if attempt.outcome != "failed":  # the tier answered: its faults are over
            self._gate.cleared(attempt.tier)

    def run_finished(self, result: object) -> None:
        return None

    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None:
        if not self._gate.is_news(lane, tier, reason_code):
            return
        recipients = self._recipients(lane)
        if not recipients:
            log.warning(
                "config fault with no owner to tell; set owners for the lane",
                extra={"lane": lane, "tier": tier, "reason_code": reason_code},
            )
            return
        text = fault_text(lane, tier, reason_code, message)
        for user in recipients:
            self._post(user, text, lane)

    def _recipients(self, lane: str) -> list[str]:
        config = self._lanes.get(lane)
        users: list[str] = []
        for owner in config.owners if config is not None else ():
            found = sorted(self._members(owner)) if _GROUP_ID.match(owner) else [owner]
            users += [user for user in found if user not in users]
        return users

    def _post(self, user: str, text: str, lane: str) -> None:
        try:
            self._client.chat_postMessage(channel=user, text=text, unfurl_links=False)
        except Exception as exc:  # Slack being down must not fail the run that met the fault
            log.warning(
                "could not tell a lane owner about a config fault",
                extra={"lane": lane, "owner": user, "error": type(exc).__name__},
            )


def _escape(text: str) -> str:
    """Slack's three control characters as entities (as ``bot.slack.slack_io.escape``), so a provider's
    message renders as sent and pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
