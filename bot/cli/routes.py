"""``lanebot routes diff``: which past runs a candidate lanes.toml would route differently.

Free and offline: it reads the route inputs every run recorded (``run_route_features``) and
replays them through the candidate's routing (``lanes.evals.replay``); no model is called.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from bot.cli.windows import since
from bot.runtime.core import config_path, database_url, open_store
from lanes.config import load_config
from lanes.evals.replay import LaneReplay, Replayed, ReplayReport, replay


def cmd_routes_diff(args: argparse.Namespace) -> int:
    candidate = load_config(config_path(args.config, os.environ))
    args.since = args.since or since("7d")
    store = open_store(database_url(args.database_url, os.environ))
    try:
        report = replay(candidate, store.recorded_routes(args.since, lane=args.lane), texts=store.input_texts)
    finally:
        store.engine.dispose()
    if args.json:
        print(json.dumps(report_json(report, candidate.source, args.since.isoformat()), indent=2))
    else:
        print(render_report(report, candidate.source, args.since.isoformat(), with_runs=args.runs))
    return 0


def render_report(report: ReplayReport, source: str, since_text: str, *, with_runs: bool = False) -> str:
    total = sum(lane.runs for lane in report.lanes)
    lines = [f"routes diff: {source} replayed over {total:,} runs recorded since {since_text}", ""]
    if not report.lanes:
        lines.append("no runs with recorded route inputs in that window (runs before this version have none)")
        return "\n".join(lines)
    lines.append(
        f"{'lane':<12} {'runs':>8} {'changed':>8} {'unknown':>8} {'est. now':>12} "
        f"{'est. candidate':>15} {'difference':>12}"
    )
    for lane in report.lanes:
        lines.append(_lane_line(lane))
    changes = [(lane.lane, key, n) for lane in report.lanes for key, n in lane.changes.most_common()]
    if changes:
        lines += ["", "would change:"]
        for name, (old, new, why), count in changes:
            lines.append(f"  {name:<12} {old} -> {new}: {why} ({count:,} run{'s' if count != 1 else ''})")
    unknown = [(lane.lane, why, n) for lane in report.lanes for why, n in lane.unknown_reasons.most_common()]
    if unknown:
        lines += ["", "cannot tell (replay needs what was not recorded):"]
        lines += [f"  {name:<12} {why} ({n:,} runs)" for name, why, n in unknown]
    if with_runs:
        lines += ["", "changed runs:"]
        lines += [
            f"  {one.run_id}  {one.lane:<10} {one.recorded} -> {one.candidate}: {one.why}"
            for one in _changed(report)
        ]
    lines += ["", "Estimates are routing's own (full output allowance); a confirmation stop costs nothing."]
    return "\n".join(lines)


def _lane_line(lane: LaneReplay) -> str:
    unpriced = f"  ({lane.unpriced:,} unpriced)" if lane.unpriced else ""
    return (
        f"{lane.lane:<12} {lane.runs:>8,} {lane.changed:>8,} {lane.unknown:>8,} "
        f"{_usd(lane.recorded_cost_usd):>12} {_usd(lane.candidate_cost_usd):>15} "
        f"{_signed(lane.cost_difference_usd):>12}{unpriced}"
    )


def _changed(report: ReplayReport) -> list[Replayed]:
    return [one for one in report.runs if one.changed]


def report_json(report: ReplayReport, source: str, since_text: str) -> dict[str, Any]:
    return {
        "candidate": source,
        "since": since_text,
        "lanes": [
            {
                "lane": lane.lane,
                "runs": lane.runs,
                "changed": lane.changed,
                "unknown": lane.unknown,
                "estimated_cost_usd": lane.recorded_cost_usd,
                "candidate_estimated_cost_usd": lane.candidate_cost_usd,
                "cost_difference_usd": lane.cost_difference_usd,
                "unpriced": lane.unpriced,
                "changes": [
                    {"from": old, "to": new, "why": why, "runs": n}
                    for (old, new, why), n in lane.changes.most_common()
                ],
                "unknown_reasons": dict(lane.unknown_reasons),
            }
            for lane in report.lanes
        ],
        "changed_runs": [
            {
                "run_id": one.run_id,
                "lane": one.lane,
                "from": one.recorded,
                "from_kind": one.recorded_kind,
                "to": one.candidate,
                "to_kind": one.candidate_kind,
                "why": one.why,
                "estimated_cost_usd": one.recorded_cost_usd,
                "candidate_estimated_cost_usd": one.candidate_cost_usd,
            }
            for one in _changed(report)
        ],
        "unknown_runs": [
            {"run_id": one.run_id, "lane": one.lane, "why": one.why} for one in report.runs if one.unknown
        ],
    }


def _usd(amount: float) -> str:
    return f"${amount:,.4f}"


def _signed(amount: float) -> str:
    return f"{'+' if amount >= 0 else '-'}${abs(amount):,.4f}"
