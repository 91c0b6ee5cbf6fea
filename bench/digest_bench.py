"""How long the weekly digest takes on a large audit store, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.digest_bench                  # 1,000,000 runs over 8 weeks, both databases
    .venv/bin/python -m bench.digest_bench --runs 100000 --skip-postgres
    .venv/bin/python -m bench.digest_bench --write-readme   # also record the numbers in bench/README.md

The data (``bench.datagen``) is loaded into a fresh SQLite file and into a private PostgreSQL
schema (dropped afterwards), both migrated with the real Alembic revisions so the indexes are the
production ones. Then ``build_digest`` (every SQL aggregate plus assembly) is timed: once cold
(first query after loading and ANALYZE) and ``--repeat`` times warm. Rendering and the chart are
timed separately; they do not touch the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from bench.datagen import LANES, generate, load
from bot.digest import build_digest, render_blocks, render_chart, render_text
from bot.digest.weeks import IsoWeek, week_boundaries
from lanes.config import LanesConfig, parse_config
from storage.db import make_engine
from storage.migrate import upgrade

PG_URL = os.environ.get("LANEBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET = IsoWeek(2026, 47)
TIMEZONE = "Europe/Berlin"
README = Path(__file__).parent / "README.md"
BUDGET_S = 3.0


@dataclass(frozen=True)
class Result:
    database: str
    runs: int
    decisions: int
    load_s: float
    cold_s: float
    warm_s: list[float]
    warm_cpu_s: list[float]
    render_s: float
    chart_s: float
    load_average: float

    @property
    def warm_median_s(self) -> float:
        return statistics.median(self.warm_s)


def bench_config() -> LanesConfig:
    models = {
        "fast": {"provider": "openai", "model": "gpt-5-mini"},
        "strong": {"provider": "anthropic", "model": "claude-sonnet-4-6"},
        "local": {
            "provider": "openai_compatible",
            "model": "llama3.1:8b",
            "base_url": "http://127.0.0.1:9/v1",
        },
    }
    lanes = {
        name: {"command": f"/{name}"[:32], "default": "fast", "fallback": "local", "escalate_to": "strong",
               "budget_daily_usd": 25.0, "prompts": {"fast": {}, "strong": {}}}
        for name, _, _ in LANES
    }  # fmt: skip
    digest = {
        "channel": "C0DIGEST",
        "timezone": TIMEZONE,
        "premium_tiers": ["strong"],
        "premium_creep_pct": 10,
    }
    return parse_config({"models": models, "lanes": lanes, "digest": digest})


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def timed_cpu(action: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds (SQLite runs in-process; PostgreSQL does not)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_bench(name: str, engine: Engine, count: int, weeks: int, repeat: int) -> Result:
    edges = week_boundaries(TARGET, weeks, TIMEZONE)
    print(f"[{name}] generating {count:,} runs over {weeks} weeks …", flush=True)
    history = generate(count, edges[0].replace(tzinfo=None), edges[-1].replace(tzinfo=None))
    upgrade(engine)
    load_s = timed(lambda: load(engine, history))
    print(
        f"[{name}] loaded {len(history.runs):,} runs + {len(history.decisions):,} decisions in {load_s:.1f} s"
    )
    config, now = bench_config(), edges[-1] + timedelta(hours=9)
    holder: dict[str, object] = {}
    cold = timed(lambda: holder.update(digest=build_digest(engine, config, TARGET, now=now)))
    warm_runs = [timed_cpu(lambda: build_digest(engine, config, TARGET, now=now)) for _ in range(repeat)]
    warm, warm_cpu = [w for w, _ in warm_runs], [c for _, c in warm_runs]
    digest = holder["digest"]
    render_s = timed(lambda: (render_text(digest), render_blocks(digest)))  # type: ignore[arg-type]
    chart_s = timed(lambda: render_chart(digest))  # type: ignore[arg-type]
    total = digest.total.counters.runs  # type: ignore[attr-defined]
    load_average = os.getloadavg()[0]
    print(
        f"[{name}] digest of {total:,} runs in {TARGET.label}: cold {cold:.2f} s, warm {warm}, cpu {warm_cpu}"
    )
    return Result(
        name,
        len(history.runs),
        len(history.decisions),
        load_s,
        cold,
        warm,
        warm_cpu,
        render_s,
        chart_s,
        load_average,
    )


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="lanebot-bench-") as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine() -> Iterator[Engine]:
    """A private schema, so the bench never touches other tables; dropped however the bench ends."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


METHOD = (
    "`python -m bench.digest_bench`: `bench/datagen.py` generates {runs:,} runs over {weeks} weeks (six "
    "lanes, office-hour peaks, 80/7/10/3 % default/fallback/escalation/human routes, 2 % unknown prices, "
    "inserted in request order as the append-only audit store grows) with their final decisions, bulk-"
    "loads them (executemany on SQLite, COPY on PostgreSQL) into freshly migrated databases, runs "
    "ANALYZE, then times `build_digest` for {week}: every SQL aggregate (counters of the week and the "
    "week before, spend and rework per lane for six older weeks, percentiles and top reasons per route, "
    "lane and overall) plus assembly. *Cold* is the first build after loading; *warm* the median of "
    "{repeat} more. Rendering and the chart use no database."
)


def report(results: list[Result], weeks: int, repeat: int) -> str:
    lines = [
        METHOD.format(runs=results[0].runs, weeks=weeks, week=TARGET.label, repeat=repeat),
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d} on {machine()}; SQLite {_sqlite_version()}, {_pg_version()}.",
        "",
        "| database | runs | decisions | load | digest cold | digest warm | warm, CPU of this process "
        "| text + blocks | chart PNG | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cpu = statistics.median(r.warm_cpu_s)
        lines.append(
            f"| {r.database} | {r.runs:,} | {r.decisions:,} | {r.load_s:.1f} s | {r.cold_s:.2f} s | "
            f"{r.warm_median_s:.2f} s | {cpu:.2f} s | {r.render_s * 1000:.0f} ms | {r.chart_s:.2f} s | "
            f"{r.load_average:.1f} |"
        )
    for r in results:
        verdict = "within" if r.warm_median_s < BUDGET_S else "NOT within"
        lines.append(
            f"- {r.database}: warm digest {r.warm_median_s:.2f} s, {verdict} the {BUDGET_S:.0f} s target."
        )
    return "\n".join(lines)


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _pg_version() -> str:
    try:
        with create_engine(PG_URL).connect() as conn:
            return (
                str(conn.execute(text("SHOW server_version")).scalar()).split()[0].join(("PostgreSQL ", ""))
            )
    except Exception:
        return "PostgreSQL unavailable"


RESULTS_START = "<!-- digest_bench results: start -->"
RESULTS_END = "<!-- digest_bench results: end -->"


def write_readme(section: str) -> None:
    """Replace the generated block of bench/README.md's digest section; the analysis around it is
    written by hand (it explains a particular measurement, so a script must not rewrite it)."""
    current = README.read_text()
    head, start, rest = current.partition(RESULTS_START)
    _, end, tail = rest.partition(RESULTS_END)
    if not start or not end:
        raise SystemExit(f"{README}: markers {RESULTS_START!r} … {RESULTS_END!r} not found; add them")
    README.write_text(f"{head}{RESULTS_START}\n{section.strip()}\n{RESULTS_END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--write-readme", action="store_true", help="record the results in bench/README.md")
    args = parser.parse_args()
    results = []
    with sqlite_engine() as engine:
        results.append(run_bench("SQLite", engine, args.runs, args.weeks, args.repeat))
    if not args.skip_postgres:
        with postgres_engine() as engine:
            results.append(run_bench("PostgreSQL", engine, args.runs, args.weeks, args.repeat))
    section = report(results, args.weeks, args.repeat)
    print("\n" + section)
    if args.write_readme:
        write_readme(section)


if __name__ == "__main__":
    main()
