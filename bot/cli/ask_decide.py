"""``lanebot ask`` and ``lanebot decide``: the engine and the decision path, from a terminal."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from bot.cli.exits import BY_STATUS, Exit
from bot.runtime.core import build_core, config_path
from lanes.choices import check_choice
from lanes.config import load_config
from lanes.estimates import cost_text, offline_line
from lanes.values import AWAITING_REVIEW, RunRequest, RunResult

OFFLINE_VALUES = ("1", "true", "yes", "on")


def _offline(args: argparse.Namespace) -> bool:
    return bool(args.offline) or os.environ.get("LANEBOT_OFFLINE", "").strip().lower() in OFFLINE_VALUES


def cmd_ask(args: argparse.Namespace) -> int:
    config = load_config(config_path(args.config, os.environ))
    check_choice("lane", args.lane, sorted(config.lanes))
    text = args.text if args.text is not None else sys.stdin.read()
    core = build_core(config=config, database=args.database_url, offline=_offline(args))
    try:
        request = RunRequest(lane=args.lane, text=text, requester=args.actor or f"cli:{getpass.getuser()}")
        result = core.engine.run(request)
    finally:
        core.close()
    if args.json:
        print(json.dumps(result_json(result), indent=2))
    elif result.status == "failed":
        print(f"lanebot: {failure_paragraph(result)}", file=sys.stderr)
    else:
        print(render_result(result))
    return int(BY_STATUS.get(result.status, Exit.FAILED))


def result_json(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "lane": result.lane,
        "status": result.status,
        "route": result.route_kind,
        "route_reasons": [reason.text for reason in result.route.reasons],
        "tier": result.tier,
        "model": result.model_answered,
        "provider": result.provider,
        "draft": result.draft,
        "message": result.message,
        "failed_check": result.failed_check,
        "fallback_reason": result.fallback_reason,
        "escalation_reason": result.escalation_reason,
        "review_rule": result.review_rule,
        "cost_usd": result.cost_usd,
        "cost_known": result.cost_known,
        "cost_estimated": result.cost_estimated,
        "latency_ms": round(result.latency_ms, 1),
        "prompt_id": result.prompt_id,
        "prompt_version": result.prompt_version,
        "policy_version": result.policy_version,
        "attempts": [
            {
                "kind": a.kind,
                "tier": a.tier,
                "model": a.model_answered or a.model_requested,
                "outcome": a.outcome,
                "reason_code": a.reason_code,
                "latency_ms": round(a.latency_ms, 1),
            }
            for a in result.attempts
        ],
    }


def render_result(result: RunResult) -> str:
    cost = cost_text(result.cost_usd, result.cost_known, estimated=result.cost_estimated)
    lines = [
        f"run      {result.run_id}",
        f"lane     {result.lane}",
        f"status   {result.status}" + (f" — {result.message}" if result.status != "drafted" else ""),
        f"route    {result.route_kind} → {result.tier or '-'}: {result.route.explain()}",
    ]
    if result.fallback_reason:
        lines.append(f"fallback {result.fallback_reason}")
    if result.escalation_reason:
        lines.append(f"escalate {result.escalation_reason}")
    if result.failed_check:
        lines.append(f"check    {result.failed_check}")
    if result.cost_estimated:
        lines.append(f"model    {offline_line(result.model_answered, result.cost_usd, result.cost_known)}")
    else:
        lines.append(f"model    {result.model_answered or '-'} ({result.provider or '-'})")
    lines.append(
        f"cost     {cost} · {result.latency_ms:,.0f} ms · prompt {result.prompt_id}@{result.prompt_version}"
    )
    lines.append(f"review   {result.review_rule}")
    if result.draft is not None:
        lines += ["", "--- draft " + "-" * 60, result.draft, "-" * 70]
    for index, alternative in enumerate(result.alternatives[1:], start=2):
        lines += [f"--- alternative {index} " + "-" * 50, alternative]
    if result.status in AWAITING_REVIEW:
        lines.append(f"\nDecide with: lanebot decide {result.run_id} approve|edit|reject --as <user id>")
    elif result.status == "needs_confirmation":
        lines.append(
            "\nNo model was called. Ask in Slack, where an owner can run it anyway, or raise the budget."
        )
    return "\n".join(lines)


def failure_paragraph(result: RunResult) -> str:
    """A failed run, as one paragraph: what failed, on which models, and where the record is."""
    tried = [
        f"{a.tier} ({a.provider} {a.model_requested}): {a.reason_code or a.outcome}" for a in result.attempts
    ]
    on = f" Tried {'; '.join(tried)}." if tried else ""
    message = result.message.rstrip(".")
    return (
        f"the {result.lane} run failed: {message}.{on} "
        f"It is recorded as run {result.run_id} (lanebot audit show {result.run_id})."
    )


def cmd_decide(args: argparse.Namespace) -> int:
    edited = args.text_file.read_text(encoding="utf-8") if args.text_file else None
    core = build_core(config_file=args.config, database=args.database_url)
    try:
        result = core.decisions.decide(
            args.run_id, args.actor, args.action, reason=args.reason, note=args.note, edited_text=edited
        )
    finally:
        core.close()
    if not result.applied:
        print(f"not recorded: run {result.run_id} is {result.message}")
        return 1
    extra = f" (edit distance {result.edit_distance})" if result.edit_distance is not None else ""
    print(f"{result.action} recorded for run {result.run_id}: {result.status} — {result.message}{extra}")
    return 0
