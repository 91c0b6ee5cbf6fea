"""``lanebot ask`` and ``lanebot decide``: the engine and the decision path, from a terminal."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from bot.runtime.core import Core, build_core
from lanes.decisions import REJECT_REASONS
from lanes.values import RunRequest, RunResult

EXIT_BY_STATUS = {"drafted": 0, "needs_human": 3, "needs_confirmation": 4, "failed": 1}


def register(commands: Any) -> None:
    ask = commands.add_parser(
        "ask", help="run a lane exactly as the bot does and print route, draft and run id"
    )
    ask.add_argument("lane")
    ask.add_argument("text", nargs="?", help="the request (default: read standard input)")
    ask.add_argument("--as", dest="actor", help="requester id recorded in the audit (default: cli:$USER)")
    ask.add_argument(
        "--offline", action="store_true", help="serve every tier with the built-in offline sample model"
    )
    ask.add_argument("--json", action="store_true", help="print the result as JSON")
    ask.set_defaults(handler=cmd_ask)

    decide = commands.add_parser(
        "decide", help="approve, edit or reject a draft (same rules as the Slack buttons)"
    )
    decide.add_argument("run_id")
    decide.add_argument("action", choices=["approve", "reject", "edit"])
    decide.add_argument("--as", dest="actor", required=True, help="Slack user id of the person deciding")
    decide.add_argument(
        "--reason", choices=REJECT_REASONS, help="why a draft is rejected (required for reject)"
    )
    decide.add_argument("--note", help="optional free text kept with the decision")
    decide.add_argument("--text-file", type=Path, help="the edited text (required for edit)")
    decide.set_defaults(handler=cmd_decide)


def _core(args: argparse.Namespace, *, offline: bool = False) -> Core:
    return build_core(config_file=args.config, database=args.database_url, offline=offline)


def cmd_ask(args: argparse.Namespace) -> int:
    text = args.text if args.text is not None else sys.stdin.read()
    core = _core(args, offline=args.offline)
    try:
        request = RunRequest(lane=args.lane, text=text, requester=args.actor or f"cli:{getpass.getuser()}")
        result = core.engine.run(request)
    finally:
        core.close()
    print(json.dumps(result_json(result), indent=2) if args.json else render_result(result))
    return EXIT_BY_STATUS.get(result.status, 1)


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
    cost = "unknown price" if not result.cost_known else f"${result.cost_usd or 0:.4f}"
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
    lines.append(f"model    {result.model_answered or '-'} ({result.provider or '-'})")
    lines.append(
        f"cost     {cost} · {result.latency_ms:,.0f} ms · prompt {result.prompt_id}@{result.prompt_version}"
    )
    lines.append(f"review   {result.review_rule}")
    if result.draft is not None:
        lines += ["", "--- draft " + "-" * 60, result.draft, "-" * 70]
    for index, alternative in enumerate(result.alternatives[1:], start=2):
        lines += [f"--- alternative {index} " + "-" * 50, alternative]
    lines.append(f"\nDecide with: lanebot decide {result.run_id} approve|edit|reject --as <user id>")
    return "\n".join(lines)


def cmd_decide(args: argparse.Namespace) -> int:
    edited = args.text_file.read_text(encoding="utf-8") if args.text_file else None
    core = _core(args)
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
