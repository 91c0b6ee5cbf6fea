"""User-group membership from Slack, looked up when someone clicks (``GroupDirectory``).

Lanes may name user groups (``S...``) as owners or reviewers. Membership is read with
``usergroups.users.list`` at decision time, because who is in "@support-leads" today is what
counts, not who was in it when the draft was posted. A few seconds of caching absorbs a burst of
clicks without making a removal take effect late. A lookup that fails counts as "not a member":
authorization fails closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackGroupDirectory:
    """``lanes.decisions.GroupDirectory`` backed by the Slack Web API."""

    def __init__(
        self, client: WebClient, *, ttl_s: float = 5.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    def groups_of(self, actor: str, candidate_groups: frozenset[str]) -> frozenset[str]:
        return frozenset(group for group in candidate_groups if actor in self.members(group))

    def members(self, group: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(group)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            users = frozenset(self._client.usergroups_users_list(usergroup=group).get("users") or ())
        except SlackApiError as exc:
            log.warning(
                "user group lookup failed; treating as no members",
                extra={"group": group, "error": exc.response.get("error")},
            )
            return frozenset()
        with self._lock:
            self._cache[group] = (now, users)
        return users
