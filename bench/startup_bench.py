"""How long lanebot's commands take as whole processes, against Python's own start-up.

    .venv/bin/python bench/startup_bench.py                 # 15 runs of each command
    .venv/bin/python bench/startup_bench.py --runs 30 --json

Each command runs as a fresh process, the way a person or a script runs it: ``lanebot --help``,
two commands' ``--help`` (``audit`` and ``digest``, whose code loads the store and the digest),
``lanebot check``, and ``lanebot ask support "…" --offline --json`` against a fresh SQLite file.
The baseline is ``python -c pass`` with the same interpreter, measured in the same loop (the
commands and the baseline alternate), so a busy machine slows both and the ratio stays readable.
Reported: median and p90 wall time per command, the median minus the baseline's median (what
lanebot's own imports and work cost) and the median as a multiple of the baseline's. Targets
(issue "the first hour"): ``--help`` ≤ 0.3 s, every command's ``--help`` as light, and
``ask --offline --json`` ≤ 0.8 s end to end. Which libraries each command loads is held by
``tests/test_cli_startup.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASK = "Hi, my invoice shows two charges for November. Can you check? Thanks, Dana"


def commands(database: str) -> dict[str, list[str]]:
    lanebot = [sys.executable, "-m", "bot.cli"]
    return {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "lanebot --help": [*lanebot, "--help"],
        "lanebot audit --help": [*lanebot, "audit", "--help"],
        "lanebot digest --help": [*lanebot, "digest", "--help"],
        "lanebot check": [*lanebot, "check"],
        "lanebot ask --offline --json": [
            *lanebot,
            "--database-url",
            database,
            "ask",
            "support",
            ASK,
            "--offline",
            "--json",
        ],
    }


def time_once(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/audit.db"
        upgrade = [sys.executable, "-m", "bot.cli", "--database-url", database, "db", "upgrade"]
        subprocess.run(
            upgrade, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, check=True
        )
        plan = commands(database)
        times: dict[str, list[float]] = {name: [] for name in plan}
        for argv in plan.values():  # one untimed warm-up each (page cache, .pyc files)
            time_once(argv)
        for _ in range(args.runs):
            for name, argv in plan.items():
                times[name].append(time_once(argv))
    baseline = statistics.median(times["python -c pass (baseline)"])
    rows = []
    for name, values in times.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        rows.append(
            {
                "command": name,
                "median_s": median,
                "p90_s": p90,
                "over_baseline_s": median - baseline,
                "x_baseline": median / baseline,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{args.runs} runs each, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    print("| command | median s | p90 s | median − baseline s | × baseline |\n|---|---:|---:|---:|---:|")
    for row in rows:
        figures = (
            f"{row['median_s']:.3f} | {row['p90_s']:.3f} | {row['over_baseline_s']:.3f} | "
            f"{row['x_baseline']:.1f}"
        )
        print(f"| {row['command']} | {figures} |")


if __name__ == "__main__":
    main()
