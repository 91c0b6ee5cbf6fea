"""``lanebot shadow report``: what a lane's shadow tier drafted, next to the live run and the decision.

The step between ``routes diff`` and switching a lane's model: the shadow tier answered sampled
live requests (``lanes.shadow_routes``) and nobody saw it. For each lane this prints how often it
answered and passed the lane's checks, what it cost against the live runs, how fast it was, and
how close each side came to the text people approved (rapidfuzz similarity, 0..100 %).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from bot.cli.windows import since
from bot.runtime.core import database_url, open_store
from lanes.audit import ShadowRecord


@dataclass(frozen=True)
class LaneShadows:
    """One lane's shadow attempts, summed up."""

    lane: str
    tiers: tuple[str, ...]
    shadowed: int
    answered: int
    passed_checks: int
    skipped: int
    failed: int
    shadow_cost_usd: float
    live_cost_usd: float
    shadow_p50_ms: float | None
    live_p50_ms: float | None
    decided: int
    shadow_similarity: float | None
    """Mean similarity (0..1) of the shadow draft to the approved text, over approved runs."""
    live_similarity: float | None


def summarise(records: Sequence[ShadowRecord]) -> list[LaneShadows]:
    by_lane: dict[str, list[ShadowRecord]] = defaultdict(list)
    for record in records:
        by_lane[record.lane].append(record)
    return [_lane(lane, rows) for lane, rows in sorted(by_lane.items())]


def _lane(lane: str, rows: list[ShadowRecord]) -> LaneShadows:
    answered = [r for r in rows if r.status in ("ok", "check_failed")]
    approved = [r for r in answered if r.approved_text is not None]
    return LaneShadows(
        lane=lane,
        tiers=tuple(sorted({r.tier for r in rows})),
        shadowed=len(rows),
        answered=len(answered),
        passed_checks=sum(r.status == "ok" for r in rows),
        skipped=sum(r.status == "skipped" for r in rows),
        failed=sum(r.status == "failed" for r in rows),
        shadow_cost_usd=sum(r.cost_usd or 0.0 for r in rows),
        live_cost_usd=sum(r.live_cost_usd or 0.0 for r in rows if r.status != "skipped"),
        shadow_p50_ms=_median([r.latency_ms for r in answered]),
        live_p50_ms=_median([r.live_latency_ms for r in answered]),
        decided=len(approved),
        shadow_similarity=_mean(
            [Indel.normalized_similarity(r.draft_text or "", r.approved_text or "") for r in approved]
        ),
        live_similarity=_mean(
            [Indel.normalized_similarity(r.live_draft_text or "", r.approved_text or "") for r in approved]
        ),
    )


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def cmd_shadow_report(args: argparse.Namespace) -> int:
    args.since = args.since or since("7d")
    store = open_store(database_url(args.database_url, os.environ))
    try:
        lanes = summarise(store.shadow_records(args.since, lane=args.lane))
    finally:
        store.engine.dispose()
    if args.json:
        print(
            json.dumps({"since": args.since.isoformat(), "lanes": [vars(lane) for lane in lanes]}, indent=2)
        )
    else:
        print(render(lanes, args.since.strftime("%Y-%m-%d %H:%M UTC")))
    return 0


def render(lanes: Sequence[LaneShadows], since_text: str) -> str:
    if not lanes:
        return (
            f"no shadow attempts since {since_text}: give a lane a [lanes.LANE.shadow] tier and serve "
            "the bot (lanebot serve) to collect some"
        )
    header = (
        f"{'lane':<12} {'tier':<10} {'shadowed':>8} {'answered':>8} {'checks ok':>9} {'skipped':>7} "
        f"{'shadow $':>9} {'live $':>9} {'p50 ms':>13} {'like approved':>15}"
    )
    lines = [f"shadow attempts since {since_text} (never shown to anyone)", "", header]
    for lane in lanes:
        latency = f"{_ms(lane.shadow_p50_ms)}/{_ms(lane.live_p50_ms)}"
        alike = f"{_pct(lane.shadow_similarity)}/{_pct(lane.live_similarity)}"
        lines.append(
            f"{lane.lane:<12} {','.join(lane.tiers):<10} {lane.shadowed:>8} {lane.answered:>8} "
            f"{lane.passed_checks:>9} {lane.skipped:>7} {lane.shadow_cost_usd:>9.4f} "
            f"{lane.live_cost_usd:>9.4f} {latency:>13} {alike:>15}"
        )
    lines += [
        "",
        "p50 ms and like approved: shadow/live. Like approved is the mean similarity to the text people",
        "approved (or their edit), over the shadowed runs that were approved.",
    ]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
