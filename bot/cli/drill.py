"""``lanebot drill``: fire drills for every lane's fallback paths, against the real lanes.toml.

Faults are injected at the provider and audit-store seams (``lanes.drills``) on a scratch store,
so no model is called and the team's audit trail is untouched. Prints a pass/fail table per
lane, exits 1 on any failure (CI runs it on the shipped lanes.toml), and with ``--post CHANNEL``
posts the table to Slack with the bot's token.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bot.runtime.core import config_path
from lanes.config import load_config
from lanes.drills import PATHS, PathResult, run_drill
from lanes.errors import LanebotError

MARK = {"pass": "PASS", "fail": "FAIL", "n/a": "n/a"}


def cmd_drill(args: argparse.Namespace) -> int:
    from storage.redaction import Redactor
    from storage.scratch import scratch_store

    config = load_config(config_path(args.config, os.environ))
    if args.lane:
        config = config.model_copy(update={"lanes": {name: config.lane(name) for name in args.lane}})
    with scratch_store("lanebot-drill-") as store, _expected_failures_quiet(args.verbose):
        results = run_drill(config, store, Redactor())
    table = render_table(results, config.source)
    print(json.dumps([_json(r) for r in results], indent=2) if args.json else table)
    if args.post:
        post_table(args.post, table)
    return 1 if any(r.outcome == "fail" for r in results) else 0


@contextmanager
def _expected_failures_quiet(verbose: bool) -> Iterator[None]:
    """The drill's injected timeouts and store failures would each log a warning or an error;
    they are the point of the drill, so they stay quiet unless ``-v`` asks for them."""
    logger = logging.getLogger("lanes")
    level = logger.level
    if not verbose:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def render_table(results: Sequence[PathResult], source: str) -> str:
    lanes = list(dict.fromkeys(r.lane for r in results))
    by = {(r.lane, r.path): r for r in results}
    width = max((len(lane) for lane in lanes), default=4) + 2
    header = "lane".ljust(width) + "".join(f"{i + 1}".ljust(6) for i in range(len(PATHS)))
    lines = [f"fire drill of {source}", "", header.rstrip()]
    for lane in lanes:
        cells = "  ".join(
            MARK[by[(lane, path)].outcome].ljust(4) if (lane, path) in by else "-   " for path, _ in PATHS
        )
        lines.append(lane.ljust(width) + cells)
    lines += ["", *(f"{i + 1} = {label}" for i, (_, label) in enumerate(PATHS))]
    failed = [r for r in results if r.outcome == "fail"]
    if failed:
        lines += ["", "failed:"]
        lines += [f"  {r.lane}: {r.label}: {r.detail}" for r in failed]
    verdict = f"{len(failed)} path(s) failed" if failed else "every path behaved as lanes.toml says"
    lines += ["", verdict]
    return "\n".join(lines)


class DrillPostError(LanebotError):
    """Slack refused the drill's table, or could not be reached; the drill itself ran."""


def post_table(channel: str, table: str) -> None:
    from bot.cli.digest import slack_error_code
    from bot.runtime.settings import load_settings
    from bot.runtime.wiring import build_client

    settings = load_settings()
    client = build_client(settings)  # ConfigError when SLACK_BOT_TOKEN is not set
    try:
        client.chat_postMessage(channel=channel, text=f"```\n{table}\n```", mrkdwn=True)
    except Exception as exc:
        code = slack_error_code(exc)
        if code is not None:
            raise DrillPostError(
                f"the drill ran (table above) but Slack refused to post it to {channel} ({code}); "
                "check the channel id (such as C0123456789) and that the bot is in that channel"
            ) from exc
        reason = getattr(exc, "reason", None) or exc
        raise DrillPostError(
            f"the drill ran (table above) but Slack at {settings.slack_api_url} could not be reached "
            f"({reason}); check the network, and SLACK_API_URL if you use a proxy"
        ) from exc


def _json(result: PathResult) -> dict[str, Any]:
    return {
        "lane": result.lane,
        "path": result.path,
        "label": result.label,
        "outcome": result.outcome,
        "detail": result.detail,
    }
