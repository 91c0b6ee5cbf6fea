"""``lanebot eval``: run lanes' golden sets through a policy and gate on the result.

    lanebot eval                                   # every lane with a golden set, current lanes.toml
    lanebot eval --config candidate.toml --baseline lanes.toml --max-usd 2 --junit eval.xml

Each example is a real engine run (``lanes.evals.runner``) on a scratch audit store; live model
calls are capped by ``--max-usd`` (default $1.00), ``--offline`` uses the built-in sample model for
every tier. The exit code is 1 when a lane's pass rate is below its ``min_pass_rate``, so the
command works as a CI gate; ``--junit`` writes one test case per example for CI dashboards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.eval_report import junit_xml, render_diff, render_report, report_json
from bot.runtime.core import config_path
from lanes.clock import utcnow
from lanes.config import LanesConfig, load_config
from lanes.engine import Engine
from lanes.errors import GoldenSetError, InvalidRequestError
from lanes.evals.golden import GoldenSet, golden_path, read_golden_set
from lanes.evals.runner import EvalReport, FreshDayLog, SpendCap, capped, compare, evaluate
from lanes.providers.registry import build_providers


def cmd_eval(args: argparse.Namespace) -> int:
    if args.max_usd is not None and args.max_usd < 0:
        raise InvalidRequestError("--max-usd must be zero or more")
    candidate = load_config(config_path(args.config, os.environ))
    sets = golden_sets(candidate, args.lane, args.dir)
    cap = SpendCap(None if args.offline else args.max_usd)
    report = run_policy(candidate, sets, cap, offline=args.offline)
    baseline = None
    if args.baseline is not None:
        baseline = run_policy(load_config(args.baseline), sets, cap, offline=args.offline)
    diffs = compare(baseline, report) if baseline is not None else ()
    if args.junit is not None:
        args.junit.write_text(junit_xml(report), encoding="utf-8")
    if args.json:
        print(json.dumps(report_json(report, baseline), indent=2))
    else:
        print(render_report(report))
        if baseline is not None:
            print("\n" + render_diff(baseline, report, diffs))
    if not report.passed:
        failing = [lane.lane for lane in report.lanes if not lane.meets_threshold]
        print(f"lanebot: eval failed for lane(s) {', '.join(failing)}: below min_pass_rate", file=sys.stderr)
        return 1
    return 0


def golden_sets(config: LanesConfig, lanes: Sequence[str] | None, directory: Path) -> list[GoldenSet]:
    """The golden sets to run: the lanes asked for (each must have one), or every lane that has one."""
    names = list(lanes) if lanes else list(config.lanes)
    sets, problems = [], []
    for name in names:
        lane = config.lane(name)
        path = golden_path(directory, name, lane.eval.golden_file if lane.eval else None)
        try:
            golden = read_golden_set(path, name, missing_ok=not lanes)
        except GoldenSetError as exc:
            problems += exc.problems
            continue
        if golden.examples:
            sets.append(golden)
    if problems:
        raise GoldenSetError(problems)
    if not sets:
        raise InvalidRequestError(
            f"no golden sets under {directory}/; harvest one with `lanebot golden harvest --lane support`"
        )
    return sets


def run_policy(config: LanesConfig, sets: Sequence[GoldenSet], cap: SpendCap, *, offline: bool) -> EvalReport:
    """Every example of ``sets`` through ``config`` on a scratch store; model calls under ``cap``."""
    from storage.redaction import Redactor
    from storage.scratch import scratch_store

    providers = capped(build_providers(config, os.environ, offline=offline), config.models, cap)
    with scratch_store("lanebot-eval-") as store:
        log = FreshDayLog(store)
        engine = Engine(config, log, providers, redactor=Redactor(), clock=utcnow, instance="eval")
        return evaluate(config, sets, engine.run, cap, label=config.source)
