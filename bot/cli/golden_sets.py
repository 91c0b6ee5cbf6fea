"""``lanebot golden harvest|check|retire``: lanes' golden sets, from decisions and by hand.

``harvest`` appends to ``evals/<lane>.jsonl`` the runs people approved, edited or rejected since
``--since`` that the file does not have yet (``lanes.evals.harvest``); ``check`` validates every
golden set like ``lanebot check`` validates lanes.toml; ``retire`` keeps an example in the file
but stops ``lanebot eval`` from running it. The format is in ``docs/golden-sets.md``.
"""

from __future__ import annotations

import argparse
import os

from bot.cli.windows import since
from bot.runtime.core import config_path, database_url, open_store
from lanes.clock import utcnow
from lanes.config import LanesConfig, load_config
from lanes.errors import GoldenSetError, InvalidRequestError
from lanes.evals.golden import GoldenSet, golden_path, read_golden_set, write_golden_set
from lanes.evals.harvest import harvest


def cmd_golden(args: argparse.Namespace) -> int:
    config = load_config(config_path(args.config, os.environ))
    if args.action == "check":
        return _check(config, args)
    if not args.lane:
        raise InvalidRequestError(
            f"`lanebot golden {args.action}` needs --lane; lanes: {', '.join(config.lanes)}"
        )
    lane = config.lane(args.lane)
    path = golden_path(args.dir, lane.name, lane.eval.golden_file if lane.eval else None)
    if args.action == "retire":
        return _retire(read_golden_set(path, lane.name), args)
    existing = read_golden_set(path, lane.name, missing_ok=True)
    store = open_store(database_url(args.database_url, os.environ))
    try:
        found = harvest(lane, store, existing, since=args.since or since("30d"), now=utcnow())
    finally:
        store.engine.dispose()
    if not args.dry_run and found.added:
        write_golden_set(path, (*existing.examples, *found.added))
    verb = "would add" if args.dry_run else "harvested"
    print(f"{path}: {verb} for lane {lane.name}: {found.summary()}")
    if found.added:
        print(f"Review the new lines, then run `lanebot eval --lane {lane.name}`.")
    return 0


def _check(config: LanesConfig, args: argparse.Namespace) -> int:
    lanes = [config.lane(args.lane)] if args.lane else list(config.lanes.values())
    problems: list[str] = []
    for lane in lanes:
        path = golden_path(args.dir, lane.name, lane.eval.golden_file if lane.eval else None)
        try:
            golden = read_golden_set(path, lane.name, missing_ok=not args.lane)
        except GoldenSetError as exc:
            problems += exc.problems
            continue
        print(_describe(golden) if golden.examples or args.lane else f"{path}: none yet (lane {lane.name})")
    if problems:
        raise GoldenSetError(problems)
    return 0


def _describe(golden: GoldenSet) -> str:
    active = golden.active
    negative = sum(e.kind == "negative" for e in active)
    retired = len(golden.examples) - len(active)
    count = f"{len(golden.examples)} example{'' if len(golden.examples) == 1 else 's'}"
    return (
        f"{golden.path}: {count} ({len(active)} active: "
        f"{len(active) - negative} positive, {negative} negative; {retired} retired) — OK"
    )


def _retire(golden: GoldenSet, args: argparse.Namespace) -> int:
    if not args.example:
        raise InvalidRequestError("`lanebot golden retire` needs the example id, e.g. run-3f2a…")
    if args.example not in golden.ids():
        raise InvalidRequestError(
            f"{golden.path} has no example {args.example!r}; see `lanebot golden check`"
        )
    examples = [
        e.model_copy(update={"status": "retired", "retired_reason": args.reason})
        if e.id == args.example
        else e
        for e in golden.examples
    ]
    write_golden_set(golden.path, examples)
    print(f"{golden.path}: {args.example} retired; `lanebot eval` no longer runs it")
    return 0
