"""What redaction costs, before and after presidio was dropped: build, per run, start-up, install.

    python bench/redaction_bench.py --before /tmp/v_old/bin/python --after /tmp/v_new/bin/python
    python bench/redaction_bench.py --before /tmp/v_old/bin/python --after /tmp/v_new/bin/python \\
        --write-readme
    python bench/redaction_bench.py --after .venv/bin/python --after-tree .   # this checkout only, quick

Each side is a Python interpreter with lanebot installed (``python3 -m venv /tmp/v_new &&
/tmp/v_new/bin/pip install .``, and the same from a checkout of the old code), or ``--*-tree`` for
a source tree on top of an interpreter. Every measurement runs in a fresh process of that side,
outside the repository, so each side imports its own code. The sides alternate, round after
round, so a burst of load on this shared machine hits both; besides each median the report gives
the after/before ratio of the medians, which is what stays comparable between noisy runs.

- *import* / *build*: ``import storage.redaction``, then ``Redactor()``, in a bare interpreter;
  *build in lanebot*: ``Redactor()`` after what ``lanebot ask`` has done when it builds one
  (imported the CLI, loaded ``lanes.toml``, opened the SQLite store);
- *per run*: ``redact_or_withhold`` of the engine-overhead benchmark's request and then its draft
  (``bench/overhead_bench.py``), median and p90 of ``--pairs`` pairs after 100 untimed ones;
- *lanebot ask*: the whole ``lanebot ask support "<request>" --offline`` process, wall clock, on a
  migrated SQLite file of its own;
- *installed*: the bytes of every file that pip recorded for each installed distribution of the
  side's environment except pip, setuptools and lanebot itself: the runtime dependency closure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).parent / "README.md"
RESULTS_START = "<!-- redaction_bench results: start -->"
RESULTS_END = "<!-- redaction_bench results: end -->"
TARGETS = {"build_ms": 50.0, "pair_us": 300.0}
NOT_RUNTIME = {"pip", "setuptools", "wheel", "lanebot"}

# Runs inside a side's interpreter: stdlib and that side's lanebot only.
PROBE = r"""
import json, os, statistics, sys, time
request, draft, pairs, context = json.loads(os.environ["REDACTION_BENCH_INPUT"])
if context:  # what ``lanebot ask`` has done when it builds the redactor: CLI, config, store
    import bot.cli
    from bot.runtime.core import config_path, load_config, open_store
    load_config(config_path(context["config"], {}))
    open_store(context["database"])
started = time.perf_counter()
import storage.redaction
imported = time.perf_counter()
redactor = storage.redaction.Redactor()
built = time.perf_counter()
for _ in range(100):
    redactor.redact_or_withhold(request); redactor.redact_or_withhold(draft)
times = []
for _ in range(pairs):
    t = time.perf_counter()
    redactor.redact_or_withhold(request); redactor.redact_or_withhold(draft)
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({
    "import_ms": (imported - started) * 1e3, "build_ms": (built - imported) * 1e3,
    "pair_us": statistics.median(times) * 1e6, "pair_p90_us": times[int(len(times) * 0.9)] * 1e6,
    "redacted": redactor.redact_or_withhold(request)[0],
}))
"""

SIZES = r"""
import json, importlib.metadata as md
sizes = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    total = 0
    for file in dist.files or ():
        try:
            total += dist.locate_file(file).stat().st_size
        except OSError:
            pass
    sizes[name] = total
print(json.dumps(sizes))
"""


@dataclass(frozen=True)
class Side:
    name: str
    python: str
    tree: str | None

    def env(self) -> dict[str, str]:
        drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")  # code runs from .pyc, as installed
        env = {k: v for k, v in os.environ.items() if k not in drop}
        if self.tree:
            env["PYTHONPATH"] = str(Path(self.tree).resolve())
        return env

    def lanebot(self) -> list[str]:
        if self.tree:
            return [self.python, "-m", "bot.cli"]
        return [str(Path(self.python).parent / "lanebot")]


@dataclass
class Samples:
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        return statistics.median(self.values[key])


def probe(side: Side, workdir: Path, pairs: int, database: Path | None = None) -> dict[str, float]:
    """``database``: measure the build as ``lanebot ask`` does it, after opening that store."""
    from bench.overhead_bench import DRAFT, REQUEST

    context = {"config": str(ROOT / "lanes.toml"), "database": f"sqlite:///{database}"} if database else None
    env = side.env() | {"REDACTION_BENCH_INPUT": json.dumps([REQUEST, DRAFT, pairs, context])}
    out = subprocess.run(
        [side.python, "-c", PROBE], cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"{side.name}: the probe failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def ask(side: Side, workdir: Path, database: Path) -> float:
    from bench.overhead_bench import REQUEST

    command = [*side.lanebot(), "ask", "support", REQUEST, "--offline"]
    command += ["--config", str(ROOT / "lanes.toml"), "--database-url", f"sqlite:///{database}"]
    started = time.perf_counter()
    out = subprocess.run(command, cwd=workdir, env=side.env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{side.name}: lanebot ask failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return elapsed * 1e3


def installed(side: Side, workdir: Path) -> dict[str, int]:
    out = subprocess.run(
        [side.python, "-c", SIZES], cwd=workdir, env=side.env(), capture_output=True, text=True, check=True
    )
    sizes: dict[str, int] = json.loads(out.stdout)
    return {name: size for name, size in sizes.items() if name.lower() not in NOT_RUNTIME}


def measure(sides: list[Side], rounds: int, pairs: int, asks: int) -> dict[str, Samples]:
    samples = {side.name: Samples() for side in sides}
    with tempfile.TemporaryDirectory(prefix="redaction-bench-") as folder:
        workdir = Path(folder)
        databases = {side.name: workdir / f"{side.name}.db" for side in sides}
        for side in sides:  # migrate each side's file once, outside the timing
            ask(side, workdir, databases[side.name])
        for index in range(rounds):
            order = sides if index % 2 == 0 else sides[::-1]
            for side in order:
                bare = probe(side, workdir, pairs)
                for key in ("import_ms", "build_ms", "pair_us", "pair_p90_us"):
                    samples[side.name].add(key, bare[key])
                in_lanebot = probe(side, workdir, 10, databases[side.name])
                samples[side.name].add("context_build_ms", in_lanebot["build_ms"])
            for _ in range(asks):
                for side in order:
                    samples[side.name].add("ask_ms", ask(side, workdir, databases[side.name]))
            print(f"round {index + 1}/{rounds} done", file=sys.stderr)
    return samples


def mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB"


def report(sides: list[Side], samples: dict[str, Samples], sizes: dict[str, dict[str, int]]) -> str:
    rows = [
        ("import storage.redaction (bare interpreter)", "import_ms", "ms"),
        ("Redactor() (bare interpreter)", "build_ms", "ms"),
        ("Redactor() (after what `lanebot ask` has imported)", "context_build_ms", "ms"),
        ("request + draft, median", "pair_us", "µs"),
        ("request + draft, p90", "pair_p90_us", "µs"),
        ("`lanebot ask support … --offline`, whole process", "ask_ms", "ms"),
    ]
    names = [side.name for side in sides]
    head = "| measure | " + " | ".join(names) + (" | after / before |" if len(names) == 2 else " |")
    lines = [head, "|---" * (len(names) + 1 + (len(names) == 2)) + "|"]
    for label, key, unit in rows:
        values = [samples[name].median(key) for name in names]
        cells = [f"{value:,.1f} {unit}" if unit == "ms" else f"{value:,.0f} {unit}" for value in values]
        ratio = [f"{values[1] / values[0]:.2f}×"] if len(values) == 2 else []
        lines.append(f"| {label} | " + " | ".join(cells + ratio) + " |")
    totals = [sum(sizes[name].values()) for name in names]
    ratio = [f"{totals[1] / totals[0]:.2f}×"] if len(totals) == 2 else []
    lines.append("| runtime dependencies installed | " + " | ".join([mb(t) for t in totals] + ratio) + " |")
    lines.append("")
    if len(names) == 2:
        before, after = sizes[names[0]], sizes[names[1]]
        gone = sorted(set(before) - set(after), key=lambda n: -before[n])
        new = sorted(set(after) - set(before), key=lambda n: -after[n])
        lines.append(
            f"Distributions only before ({len(gone)}, {mb(sum(before[n] for n in gone))}): "
            + ", ".join(f"{n} {mb(before[n])}" for n in gone)
            + "."
        )
        lines.append("")
        lines.append(
            f"Only after ({len(new)}, {mb(sum(after[n] for n in new))}): "
            + ", ".join(f"{n} {mb(after[n])}" for n in new)
            + "."
        )
        lines.append("")
    for name in names:
        build, pair = samples[name].median("build_ms"), samples[name].median("pair_us")
        lines.append(
            f"- {name}: build {build:.1f} ms ({_versus(build, TARGETS['build_ms'], 'ms')}), "
            f"request + draft {pair:.0f} µs ({_versus(pair, TARGETS['pair_us'], 'µs')})."
        )
    return "\n".join(lines)


def _versus(value: float, target: float, unit: str) -> str:
    return f"target < {target:.0f} {unit}: {'met' if value < target else 'NOT met'}"


def write_readme(section: str) -> None:
    """Replace the generated block of bench/README.md's redaction section (the analysis around it
    is written by hand)."""
    current = README.read_text()
    head, start, rest = current.partition(RESULTS_START)
    _, end, tail = rest.partition(RESULTS_END)
    if not start or not end:
        raise SystemExit(f"{README}: markers {RESULTS_START!r} … {RESULTS_END!r} not found; add them")
    README.write_text(f"{head}{RESULTS_START}\n{section.strip()}\n{RESULTS_END}{tail}")


def cpu() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    return names[0] if names else platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="interpreter of the old code (with presidio)")
    parser.add_argument("--before-tree", help="source tree to put on the before interpreter's path")
    parser.add_argument("--after", default=sys.executable, help="interpreter of the new code")
    parser.add_argument("--after-tree", help="source tree to put on the after interpreter's path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=2000, help="timed request + draft pairs per probe")
    parser.add_argument("--asks", type=int, default=2, help="lanebot ask processes per side and round")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 500 pairs, 1 ask")
    parser.add_argument("--write-readme", action="store_true", help="record the results in bench/README.md")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.pairs, args.asks = 2, 500, 1
    sides = [Side("after", args.after, args.after_tree)]
    if args.before:
        sides.insert(0, Side("before", args.before, args.before_tree))
    samples = measure(sides, args.rounds, args.pairs, args.asks)
    with tempfile.TemporaryDirectory() as folder:
        sizes = {side.name: installed(side, Path(folder)) for side in sides}
    load = os.getloadavg()
    section = (
        f"Run {time.strftime('%Y-%m-%d')} on {cpu()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {args.rounds} alternating rounds "
        f"({args.pairs} pairs per probe, {args.asks} `lanebot ask` per side per round); load average "
        f"{load[0]:.1f} at the end.\n\n" + report(sides, samples, sizes)
    )
    print(section)
    if args.write_readme:
        write_readme(section)


if __name__ == "__main__":
    if __package__ in (None, ""):  # run as a script: the driver imports bench.overhead_bench
        sys.path.insert(0, str(ROOT))
    main()
