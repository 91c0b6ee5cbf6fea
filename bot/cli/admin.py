"""``lanebot check``, ``db``, ``manifest``, ``serve``, ``socket``, ``playground``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bot.cli.parser import examples
from bot.runtime.core import config_path, database_url
from lanes.config import LanesConfig, load_config
from lanes.policy import explain_lane


def register(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="validate lanes.toml and explain each lane's policy",
        description="Validate lanes.toml and print each lane's policy in plain language.",
        epilog=examples("lanebot check", "lanebot check --config lanes.toml"),
    )
    check.set_defaults(handler=cmd_check)

    db = commands.add_parser(
        "db",
        help="audit store schema: apply migrations or show the revision",
        description="Apply the audit store's migrations (also done on every start), or show its revision.",
        epilog=examples("lanebot db upgrade", "lanebot db current"),
    )
    db.add_argument(
        "action",
        choices=["upgrade", "current"],
        help="upgrade: apply every migration; current: print the schema revision",
    )
    db.set_defaults(handler=cmd_db)

    manifest = commands.add_parser(
        "manifest",
        help="print a Slack app manifest generated from lanes.toml",
        description="Print a Slack app manifest (JSON) with one slash command per lane.",
        epilog=examples(
            "lanebot manifest", "lanebot manifest --request-url https://example.com/slack/events"
        ),
    )
    manifest.add_argument(
        "--request-url", help="public https URL of /slack/events (HTTP mode); omit for Socket Mode"
    )
    manifest.add_argument("--name", default="lanebot", help="the app's and the bot's display name")
    manifest.set_defaults(handler=cmd_manifest)

    serve = commands.add_parser(
        "serve",
        help="run the Slack app over HTTP (/slack/events, /healthz)",
        description="Run the Slack app over HTTP until Ctrl-C or SIGTERM; logs are JSON lines on stderr.",
        epilog=examples("lanebot serve --port 3000", "lanebot serve --port 3000 --offline"),
    )
    serve.add_argument(
        "--port", type=int, default=None, help="port to listen on (default: $LANEBOT_PORT or 3000)"
    )
    serve.add_argument(
        "--offline", action="store_true", help="serve every tier with the offline sample model"
    )
    serve.set_defaults(handler=cmd_serve, service=True)

    socket = commands.add_parser(
        "socket",
        help="run the Slack app in Socket Mode (needs SLACK_APP_TOKEN)",
        description="Run the Slack app in Socket Mode until Ctrl-C or SIGTERM; no public URL needed.",
        epilog=examples("lanebot socket", "lanebot socket --offline"),
    )
    socket.add_argument(
        "--offline", action="store_true", help="serve every tier with the offline sample model"
    )
    socket.set_defaults(handler=cmd_socket, service=True)

    playground = commands.add_parser(
        "playground",
        help="try every lane and button in a browser, no Slack needed",
        description="The bot against a local Slack stand-in, in your browser, until Ctrl-C.",
        epilog=examples("lanebot playground", "lanebot playground --port 8766 --no-browser"),
    )
    playground.add_argument("--port", type=int, default=8765, help="port of the page (default: 8765)")
    playground.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    playground.add_argument(
        "--demo",
        action="store_true",
        help="open a separate demo store (lanebot-demo.db beside the audit store) seeded with eight "
        "weeks of sample runs, so the digest and the audit have something to show",
    )
    playground.set_defaults(handler=cmd_playground)


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
