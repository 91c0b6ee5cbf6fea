"""``/lanebot audit <filters>``: the audit search, for lane owners, as an ephemeral answer.

Filters are ``key:value`` words (quotes for spaces): ``lane``, ``status``, ``model``,
``requester``, ``reviewer`` (``<@U...>`` mentions or ids), ``since``/``until``, ``text`` and
``limit``. Values are read by ``storage.audit_filters``, the grammar ``lanebot audit`` uses too
(times: ``30m``/``12h``/``7d``/``2w`` ago, a date, an ISO time), so both accept and refuse the
same things with the same words. An unknown lane, status or model is refused with the valid
names and a "did you mean". Owners see the runs of the lanes they own (user id or user-group
membership, checked now); asking for another lane is refused.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.slack import messages, views
from bot.slack.flows.services import Services
from bot.slack.slack_io import escape, mention
from lanes.choices import model_names
from lanes.errors import InvalidRequestError
from lanes.permissions import may_search_audit
from storage.audit_filters import check_lane, check_model, parse_time
from storage.search import AuditQuery, RunSummary

FILTER_KEYS = ("lane", "status", "model", "requester", "reviewer", "since", "until", "text", "limit")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


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
        try:
            return parse_time(value, now)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"{key}: {exc}") from None
    if key == "limit":
        if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
            raise InvalidRequestError(f"limit must be a number from 1 to {MAX_LIMIT}")
        return int(value)
    return value


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
        _check_names(services, query)
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


def _check_names(services: Services, query: AuditQuery) -> None:
    """Unknown lanes and models are refused (with a "did you mean"), as in ``lanebot audit``."""
    config, engine = services.config, services.store.engine
    if query.lane is not None:
        check_lane(query.lane, config.lanes, engine)
    if query.model is not None:
        check_model(query.model, model_names(config), engine)


def _with_lane(query: AuditQuery, lane: str) -> AuditQuery:
    fields = {name: getattr(query, name) for name in AuditQuery.__dataclass_fields__}
    return AuditQuery(**{**fields, "lane": lane})


def summary_line(row: RunSummary) -> str:
    cost = "-" if row.cost_usd is None else f"${row.cost_usd:.4f}"
    model = escape(row.model or "-")
    if row.cost_estimated:
        model, cost = f"offline sample · would have used {model}", f"est. {cost}"
    reviewer = f" → {mention(row.reviewer)}" if row.reviewer else ""
    why = f" ({escape(row.rejection_reason)})" if row.rejection_reason else ""
    when = row.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return (
        f"`{row.id[:12]}` {escape(row.lane)} · *{escape(row.status)}*{why} · {model} · "
        f"{cost} · {mention(row.requester)}{reviewer} · {when} UTC"
    )
