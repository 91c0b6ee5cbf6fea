"""A real ``lanebot serve`` process for the multi-process tests.

It runs the production path (``bot.runtime.wiring.build_runtime`` +
``bot.runtime.http_server.serve_http``: waitress,
Bolt, the worker pool, the scheduler and crash recovery) with the test's knobs, read as JSON
from ``LANEBOT_PROC_SPEC``: where Slack (the stand-in) and the models (the loopback model server)
are, the database URL, the instance id, lane overrides and short scheduler/recovery periods. It
writes its HTTP port to ``port_file`` once it serves, logs JSON lines on stderr, and stops on
SIGTERM like the real thing (or dies on SIGKILL, which is the point of some tests).

    python -m tests.procs.serve_bot      # with LANEBOT_PROC_SPEC='{"database_url": ...}'
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.digest.scheduler import ScheduleSettings
from bot.runtime.http_server import HttpServer, serve_http
from bot.runtime.logs import configure_logging
from bot.runtime.recovery import RecoverySettings
from bot.runtime.settings import load_settings
from bot.runtime.wiring import build_runtime
from lanes.config import LanesConfig, parse_config

REPO = Path(__file__).resolve().parents[2]
TEST_PRICES = {"fast": (0.25, 2.0), "strong": (3.0, 15.0), "local": (0.1, 0.1)}


def lanes_from_spec(spec: dict[str, Any]) -> LanesConfig:
    """The repository's lanes.toml with test prices, the local tier at the model server, overrides."""
    raw = tomllib.loads((REPO / "lanes.toml").read_text(encoding="utf-8"))
    for tier, (inp, out) in TEST_PRICES.items():
        raw["models"][tier]["price"] = {"input_per_mtok": inp, "output_per_mtok": out}
    raw["models"]["local"]["base_url"] = spec["openai_base_url"]
    for name, changes in spec.get("lanes", {}).items():
        raw["lanes"][name].update(changes)
    raw["runtime"] = {
        "workers": spec.get("workers", 4),
        "queue_limit": spec.get("queue_limit", 50),
        "breaker_failures": 3,
        "breaker_cooldown_s": 60,
    }
    return parse_config(raw)


def _seconds(spec: dict[str, Any], key: str, default: float) -> timedelta:
    return timedelta(seconds=float(spec.get(key, default)))


def main() -> int:
    spec = json.loads(os.environ["LANEBOT_PROC_SPEC"])
    configure_logging(logging.INFO)
    settings = load_settings(
        env_file=None,
        slack_bot_token=spec["bot_token"],
        slack_signing_secret=spec["signing_secret"],
        slack_api_url=spec["slack_api_url"],
        database_url=spec["database_url"],
        instance_id=spec["instance"],
        http_threads=8,
    )
    runtime = build_runtime(settings, config=lanes_from_spec(spec), env=spec["model_env"])
    schedule = ScheduleSettings(
        reminder_every=_seconds(spec, "reminder_every_s", 900),
        sweep_every=_seconds(spec, "sweep_every_s", 300),
        catch_up_every=_seconds(spec, "catch_up_every_s", 600),
    )
    max_run = spec.get("max_run_s")
    recovery = RecoverySettings(
        beat_every=_seconds(spec, "beat_every_s", 10),
        stale_after=_seconds(spec, "stale_after_s", 60),
        max_run=timedelta(seconds=max_run) if max_run is not None else None,
    )
    port_file = Path(spec["port_file"])

    def ready(server: HttpServer) -> None:
        partial = port_file.with_suffix(".partial")
        partial.write_text(str(server.port))
        partial.rename(port_file)

    return serve_http(
        settings,
        port=0,
        host="127.0.0.1",
        runtime=runtime,
        on_ready=ready,
        schedule=spec.get("schedule", True),
        schedule_settings=schedule,
        recovery_settings=recovery,
    )


if __name__ == "__main__":
    sys.exit(main())
