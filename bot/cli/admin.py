"""``lanebot check``, ``db``, ``manifest``, ``serve``, ``socket``, ``playground``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bot.runtime.core import config_path, database_url
from lanes.config import LanesConfig, load_config
from lanes.policy import explain_lane


def load(args: argparse.Namespace) -> LanesConfig:
    return load_config(config_path(args.config, os.environ))


def cmd_check(args: argparse.Namespace) -> int:
    config = load(args)
    print(f"{config.source}: {len(config.lanes)} lanes, {len(config.models)} models — OK\n")
    for lane in config.lanes.values():
        rows = explain_lane(lane, config.models)
        print(f"{lane.command}  ({lane.name}: {lane.description})")
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"  {label.ljust(width)}  {value}")
        print()
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.migrate import current_revision, head_revision, upgrade

    engine = make_engine(database_url(args.database_url, os.environ))
    if args.action == "upgrade":
        upgrade(engine)
    print(f"schema revision: {current_revision(engine)} (head: {head_revision()})")
    engine.dispose()
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.slack.manifest import build_manifest

    manifest = build_manifest(
        load(args), request_url=args.request_url, socket_mode=args.request_url is None, name=args.name
    )
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.runtime.http_server import serve_http

    serve_http(_settings(args), port=args.port)
    return 0


def cmd_socket(args: argparse.Namespace) -> int:
    from bot.runtime.http_server import serve_socket

    serve_socket(_settings(args))
    return 0


def _settings(args: argparse.Namespace) -> Any:
    from bot.runtime.settings import load_settings

    overrides: dict[str, Any] = {}
    if args.config:
        overrides["lanebot_config"] = args.config
    if args.database_url:
        overrides["database_url"] = args.database_url
    if getattr(args, "offline", False):
        overrides["lanebot_offline"] = True
    return load_settings(**overrides)


def cmd_playground(args: argparse.Namespace) -> int:
    from bot.playground.server import run_playground

    run_playground(
        config_file=str(config_path(args.config, os.environ)),
        database=database_url(args.database_url, os.environ),
        port=args.port,
        open_browser=not args.no_browser and sys.stdout.isatty(),
        demo=args.demo,
    )
    return 0
