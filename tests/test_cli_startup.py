"""``lanebot`` starts light: a command imports what it uses, and ``--help`` nothing heavy.

Each command runs as ``python -m bot.cli ...`` in its own process (as the ``lanebot`` console
script runs ``bot.cli:main``), with a small wrapper that prints the top-level packages in
``sys.modules`` when the process exits. No time is measured here (``bench/startup_bench.py`` does
that); what is held is which libraries a command loads, which is what its start-up time is made of.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.command_table import COMMANDS
from storage.db import make_engine
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlalchemy", "slack_bolt", "slack_sdk", "openai", "anthropic", "matplotlib", "psycopg")
"""What no ``--help`` may load: the database, Slack and model libraries, and the chart's."""
ALSO_NOT_FOR_HELP = ("alembic", "pydantic", "apscheduler", "phonenumbers", "genai_prices", "jsonschema")
ASK_MUST_NOT_LOAD = (
    *("slack_bolt", "slack_sdk", "matplotlib", "psycopg", "openai", "anthropic", "apscheduler"),
    *("alembic", "jsonschema"),
)
"""``ask support --offline`` on a SQLite store already at head: no Slack, no chart, no PostgreSQL
driver, no model SDK (the offline model answers), no scheduler; no Alembic (``storage.migrate``
tells that the store is at head without it) and no JSON Schema validator (the support lane has no
schema). The price catalogue is loaded: an offline run shows what the configured model would have
cost for the sample's tokens (issue 12, point 4)."""

WRAPPER = """
import atexit, json, runpy, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})),
                              file=sys.stderr))
sys.argv = ["lanebot", *sys.argv[1:]]
runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
"""


def loaded(*argv: str, expect_exit: int = 0) -> set[str]:
    """Top-level packages imported by ``lanebot ARGV`` run in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == expect_exit, done.stderr[-2000:]
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def test_top_level_help_and_version_load_no_heavy_library() -> None:
    for argv in (["--help"], ["--version"]):
        found = loaded(*argv) & {*HEAVY, *ALSO_NOT_FOR_HELP}
        assert found == set(), f"lanebot {' '.join(argv)} imported {sorted(found)}"


@pytest.mark.parametrize("command", [command.name for command in COMMANDS])
def test_every_command_help_loads_no_heavy_library(command: str) -> None:
    found = loaded(command, "--help") & {*HEAVY, *ALSO_NOT_FOR_HELP}
    assert found == set(), f"lanebot {command} --help imported {sorted(found)}"


def test_a_usage_error_loads_no_heavy_library() -> None:
    found = loaded("audti", expect_exit=2) & {*HEAVY, *ALSO_NOT_FOR_HELP}
    assert found == set(), f"a mistyped command imported {sorted(found)}"


def test_ask_offline_json_loads_only_what_it_uses(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = make_engine(database)
    upgrade(engine)
    engine.dispose()

    modules = loaded(
        "--database-url", database, "ask", "support", "Where is my parcel?", "--offline", "--json"
    )

    assert modules & set(ASK_MUST_NOT_LOAD) == set()
    assert "sqlalchemy" in modules  # the audit record is written: the store is used


def test_ask_on_a_fresh_store_migrates_it_with_alembic(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'audit.db'}"
    modules = loaded("--database-url", database, "ask", "support", "Where is my parcel?", "--offline")
    assert "alembic" in modules


def test_check_loads_no_database_slack_or_model_library() -> None:
    found = loaded("check") & {*HEAVY, "alembic"}
    assert found == set(), f"lanebot check imported {sorted(found)}"
