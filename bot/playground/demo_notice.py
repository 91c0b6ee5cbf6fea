"""The playground's side of ``--demo``: seed the demo store, and say on the page that it is demo data.

The demo store is seeded before the bot starts (``bot.playground.demo``), with a line saying
how many runs it holds and where; then a message from lanebot opens the lanes channel, so
whoever looks at the page, not only at the terminal, knows the runs, the digest and the audit
are sample data from a separate file, and how to get back to their own store.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from bot.playground.demo import demo_database_url, demo_file, seed_demo_history
from bot.playground.slackstub import StubError, Workspace
from bot.runtime.core import config_path
from lanes.clock import utcnow
from lanes.config import load_config

NOTICE_CHANNEL = "C0LANES"

__all__ = ["demo_file", "post_demo_notice", "seed_for_playground"]


def seed_for_playground(database: str, config_file: str | None, out: TextIO) -> str:
    """Seed (if needed) the demo store beside ``database``; returns the demo store's URL."""
    demo = demo_database_url(database)
    config = load_config(config_path(config_file, os.environ))
    print(f"Demo data: seeding {demo_file(demo)} with eight weeks of sample runs...", file=out, flush=True)
    started = time.monotonic()
    report = seed_demo_history(demo, config, now=utcnow())
    took = time.monotonic() - started
    if report.seeded:
        line = f"Demo data: {report.runs} runs and {report.decisions} decisions recorded in {took:.1f} s."
    else:
        line = f"Demo data: {demo_file(demo)} already holds {report.runs} runs from this week; left as is."
    print(line, file=out, flush=True)
    return demo


def post_demo_notice(workspace: Workspace, database: str) -> None:
    """lanebot's first message in the lanes channel: this is demo data, and where it lives."""
    try:
        workspace.channel(NOTICE_CHANNEL)
    except StubError:
        return  # a workspace without the demo channels (tests): the terminal line says it
    workspace.post_message(
        NOTICE_CHANNEL,
        text=(
            f":test_tube: *Demo data.* This playground runs on `{demo_file(database)}`, a separate store "
            "seeded with eight weeks of sample runs made by lanebot's engine on the offline sample "
            "model (estimated costs, scripted faults). Your own audit store is untouched; run "
            "`lanebot playground` without `--demo` to use it."
        ),
    )
