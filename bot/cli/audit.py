"""``lanebot audit``: search the audit trail, or show one run's whole lineage."""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime
from typing import Any

from bot.runtime.core import config_path, database_url, open_store
from lanes.audit.records import RunRecord
from lanes.choices import model_names
from lanes.config import load_config
from lanes.errors import ConfigError, InvalidRequestError
from lanes.estimates import cost_text, offline_line
from storage.audit_filters import check_lane, check_model
from storage.search import AuditQuery, to_csv


def _configured_names(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Lane names and model names/tiers of lanes.toml, or none if it cannot be read: the audit trail
    outlives the config, so a search works without one (names are then checked against the store)."""
    try:
        config = load_config(config_path(args.config, os.environ))
    except ConfigError:
        return [], []
    return sorted(config.lanes), model_names(config)


def cmd_audit(args: argparse.Namespace) -> int:
    if args.show is not None and (args.show != "show" or not args.run_id):
        raise InvalidRequestError("use `lanebot audit show RUN_ID`, or filters such as --lane support")
    query = AuditQuery(
        lane=args.lane,
        model=args.model,
        status=args.status,
        reviewer=args.reviewer,
        requester=args.requester,
        text=args.text,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    store = open_store(database_url(args.database_url, os.environ))
    try:
        if args.show is not None:
            record = store.get_run(args.run_id)
            print(json.dumps(lineage_json(record), indent=2) if args.json else render_lineage(record))
            return 0
        lanes, models = _configured_names(args)
        if query.lane is not None:
            check_lane(query.lane, lanes, store.engine)
        if query.model is not None:
            check_model(query.model, models, store.engine)
        rows = store.search(query)
    finally:
        store.engine.dispose()
    if args.json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
    elif args.csv:
        print(to_csv(rows), end="")
    else:
        print(render_table(rows))
    return 0


def render_table(rows: list[Any]) -> str:
    if not rows:
        return "no runs match"
    lines = [
        f"{'created (UTC)':<17} {'run id':<32} {'lane':<10} {'status':<18} {'route':<10} {'model':<24} cost"
    ]
    for row in rows:
        data = row.as_json()
        cost = "?" if data["cost_usd"] is None else f"${data['cost_usd']:.4f}"
        cost = f"est. {cost}" if data["cost_estimated"] else cost
        lines.append(
            f"{data['created_at'][:16]:<17} {data['id']:<32} {data['lane']:<10} {data['status']:<18} "
            f"{data['route'] or '-':<10} {(data['model'] or '-')[:24]:<24} {cost}"
        )
    return "\n".join(lines)


def lineage_json(record: RunRecord) -> dict[str, Any]:
    from dataclasses import asdict

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    data = {k: plain(v) for k, v in asdict(record).items() if k not in ("attempts", "decisions")}
    data["attempts"] = [{k: plain(v) for k, v in asdict(a).items()} for a in record.attempts]
    data["decisions"] = [{k: plain(v) for k, v in asdict(d).items()} for d in record.decisions]
    return data


def render_lineage(record: RunRecord) -> str:
    cost = cost_text(record.cost_usd, record.cost_known)
    answered = (
        offline_line(record.model, record.cost_usd, record.cost_known)
        if record.cost_estimated
        else f"{record.model or '-'} ({record.provider or '-'}), {cost}"
    )
    lines = [
        f"run {record.id} — lane {record.lane}, {record.status}",
        f"  requested by {record.requester} at {record.created_at:%Y-%m-%d %H:%M:%S} UTC via {record.source}",
        f"  route: {record.route_kind or '-'} — " + "; ".join(record.route_reasons),
        f"  prompt {record.prompt_id}@{record.prompt_version}, policy {record.policy_version}, "
        f"review {record.review_rule}",
        f"  answered by {answered}",
    ]
    for label, value in (
        ("fallback", record.fallback_reason),
        ("escalation", record.escalation_reason),
        ("failed check", record.failed_check),
        ("error", record.error),
    ):
        if value:
            lines.append(f"  {label}: {value}")
    lines.append("attempts:")
    for a in record.attempts:
        lines.append(
            f"  {a.seq}. {a.kind:<11} {a.tier:<8} {a.model_requested} → {a.model_answered or '-'}: "
            f"{a.outcome}" + (f" ({a.reason_code})" if a.reason_code else "") + f", {a.latency_ms:,.0f} ms"
        )
    lines.append("decisions:" if record.decisions else "decisions: none yet")
    for d in record.decisions:
        detail = ", ".join(
            x
            for x in (
                d.reason,
                d.note,
                f"edit distance {d.edit_distance}" if d.edit_distance is not None else None,
            )
            if x
        )
        lines.append(
            f"  {d.created_at:%Y-%m-%d %H:%M} {d.kind}{' (final)' if d.final else ''} by {d.actor}"
            + (f": {detail}" if detail else "")
        )
    return "\n".join(lines)
