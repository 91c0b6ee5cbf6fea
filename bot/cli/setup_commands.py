"""``lanebot init`` and ``lanebot doctor``: the first ten minutes of a new deployment.

``init`` writes a commented ``lanes.toml``, an ``.env.example`` and the Slack app manifest into the
current folder, so a tool install (``pipx``/``uv tool``) has everything the repository has; it never
overwrites a file. ``doctor`` checks what the deployment needs (``bot.runtime.doctor``) and says
what to fix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib.resources import files
from pathlib import Path

from bot.runtime.core import config_path, database_url

EXIT_DOCTOR_FAILED = 1
_MARK = {"ok": "ok  ", "todo": "todo", "fail": "FAIL"}


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    templates = files("bot.cli") / "templates"
    wanted = {
        "lanes.toml": templates.joinpath("lanes.toml").read_text(encoding="utf-8"),
        ".env.example": templates.joinpath("env.example").read_text(encoding="utf-8"),
    }
    existing = [name for name in (*wanted, "slack-manifest.json") if (target / name).exists()]
    if existing:
        print(
            f"lanebot: {', '.join(existing)} already exist in {target.resolve()}; nothing was written. "
            "Move them away or use --dir to write somewhere else.",
            file=sys.stderr,
        )
        return 1
    for name, text in wanted.items():
        (target / name).write_text(text, encoding="utf-8")
    (target / "slack-manifest.json").write_text(_manifest(target / "lanes.toml") + "\n", encoding="utf-8")
    print(f"Wrote lanes.toml, .env.example and slack-manifest.json to {target.resolve()}.")
    print("Next: copy .env.example to .env and fill it in, then run `lanebot doctor`.")
    return 0


def _manifest(lanes: Path) -> str:
    from bot.slack.manifest import build_manifest
    from lanes.config import load_config

    return json.dumps(build_manifest(load_config(lanes)), indent=2)


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.runtime.doctor import run_doctor

    env = dict(os.environ)
    findings = run_doctor(
        config_path(args.config, env), database_url(args.database_url, env), env, offline=args.offline
    )
    width = max(len(f.check) for f in findings)
    for finding in findings:
        print(f"{_MARK[finding.state]}  {finding.check.ljust(width)}  {finding.detail}")
        if finding.fix and finding.state != "ok":
            print(f"      {' ' * width}  → {finding.fix}")
    todo = sum(f.state == "todo" for f in findings)
    failed = sum(f.state == "fail" for f in findings)
    if failed:
        print(f"\n{failed} check(s) failed; fix them and run `lanebot doctor` again.")
        return EXIT_DOCTOR_FAILED
    print("\nReady." if not todo else f"\nNothing is broken; {todo} thing(s) still to set up (marked todo).")
    return 0
