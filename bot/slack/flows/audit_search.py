"""``/lanebot audit <filters>``: the audit search, for lane owners, as an ephemeral answer.

Filters are ``key:value`` words (quotes for spaces): ``lane``, ``status``, ``model``,
``requester``, ``reviewer`` (``<@U...>`` mentions or ids), ``since``/``until`` (a date, an ISO time,
or ``7d``/``12h`` ago), ``text`` and ``limit``. Owners see the runs of the lanes they own (user id
or user-group membership, checked now); asking for another lane is refused.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack import messages, views
from bot.slack.flows.services import Services
from bot.slack.slack_io import escape, mention
from lanes.errors import InvalidRequestError
from lanes.permissions import may_search_audit
from storage.search import AuditQuery, RunSummary

FILTER_KEYS = ("lane", "status", "model", "requester", "reviewer", "since", "until", "text", "limit")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_RELATIVE = re.compile(r"^(\d+)([dh])$")


def parse_filters(text: str, now: datetime) -> AuditQuery:
    """``lane:support since:7d`` to an ``AuditQuery``; ``InvalidRequestError`` names the problem."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InvalidRequestError(f"could not read the filters ({exc}); close your quotes") from None
    values: dict[str, Any] = {"limit": DEFAULT_LIMIT}
    for word in words:
        key, sep, value = word.partition(":")
        if not sep or key not in FILTER_KEYS or not value:
            raise InvalidRequestError(
                f"`{word}` is not a filter; use key:value with keys {', '.join(FILTER_KEYS)}"
            )
        values[key] = _parse_value(key, value, now)
    return AuditQuery(**values)


def _parse_value(key: str, value: str, now: datetime) -> Any:
    if key in ("requester", "reviewer"):
        match = _MENTION.match(value)
        return match.group(1) if match else value.lstrip("@")
    if key in ("since", "until"):
        return _parse_time(value, now)
    if key == "limit":
        if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
            raise InvalidRequestError(f"limit must be a number from 1 to {MAX_LIMIT}")
        return int(value)
    return value


def _parse_time(value: str, now: datetime) -> datetime:
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(
            f"`{value}` is not a time; use 2026-01-31, 2026-01-31T09:00Z, 7d or 12h"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def owned_lanes(services: Services, actor: str) -> list[str]:
    groups_of: Callable[[str, frozenset[str]], frozenset[str]] = services.decisions.groups.groups_of
    owned = []
    for lane in services.config.lanes.values():
        groups = groups_of(actor, frozenset(g for g in lane.owners if g.startswith("S")))
        if may_search_audit(lane, actor, groups):
            owned.append(lane.name)
    return owned


def audit_search(services: Services, actor: str, text: str) -> list[dict[str, Any]]:
    """The ephemeral answer's blocks: results, or why there are none for this person."""
    owned = owned_lanes(services, actor)
    if not owned:
        return views.plain_message(messages.AUDIT_OWNERS_ONLY)
    try:
        query = parse_filters(text, services.clock())
    except InvalidRequestError as exc:
        return views.plain_message(messages.audit_bad_filters(str(exc)))
    if query.lane is not None and query.lane not in owned:
        return views.plain_message(messages.audit_not_owner_of(query.lane))
    lanes = [query.lane] if query.lane else owned
    rows: list[RunSummary] = []
    for lane in lanes:
        rows += services.store.search(_with_lane(query, lane))
    rows = sorted(rows, key=lambda row: row.created_at, reverse=True)[: query.limit]
    return views.audit_blocks(messages.audit_header(len(rows), text.strip()), [summary_line(r) for r in rows])


def _with_lane(query: AuditQuery, lane: str) -> AuditQuery:
    fields = {name: getattr(query, name) for name in AuditQuery.__dataclass_fields__}
    return AuditQuery(**{**fields, "lane": lane})


def summary_line(row: RunSummary) -> str:
    cost = "-" if row.cost_usd is None else f"${row.cost_usd:.4f}"
    reviewer = f" → {mention(row.reviewer)}" if row.reviewer else ""
    why = f" ({escape(row.rejection_reason)})" if row.rejection_reason else ""
    when = row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"`{row.id[:12]}` {escape(row.lane)} · *{escape(row.status)}*{why} · {escape(row.model or '-')} · "
        f"{cost} · {mention(row.requester)}{reviewer} · {when} UTC"
    )
