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
        "## Digest",
        "",
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
    lines += ["", NOTES, ""]
    return "\n".join(lines)


NOTES = """**Before this change** (the code before revision `0002_digest_index`, same bench): recorded at load
average 2.2, SQLite warm 3.75 s (CPU 3.70 s) and PostgreSQL warm 1.63 s; re-run in the same session as the
table above, at load average 4.7-5.4: SQLite cold 5.82 s, warm 5.64 s (CPU 3.60 s), PostgreSQL cold
2.21 s, warm 2.39 s. Every figure is unchanged: the 1M-run digests before and after were compared field
by field, identical on SQLite; on PostgreSQL float sums differ by at most ~6e-15 relative, as they do
between two runs of the old code, because a SQL sum has no fixed order.

**What changed.** Revision `0002_digest_index` adds `ix_runs_digest` on runs (lane, created_at,
route_kind, model, tier, status, cost_usd, cost_known, drafted_at, decided_at, fallback_reason,
escalation_reason, id): every column the digest reads. Each query asks for its week lane by lane
(`lane IN (...)` over the lanes found by a loose index scan, one seek per lane), so a lane's week is one
slice of that index, read without touching the table, and the groups arrive in lane order: SQLite sums
the chart's six older weeks per lane without a sort (it has no hash aggregate), PostgreSQL reads them
with index-only scans instead of scanning 750k table rows. The plans no longer depend on planner
statistics: without ANALYZE (the usual state of a SQLite store) SQLite used to read the percentiles' rows
through `ix_runs_status`, i.e. every approved run of every week. SQLite's percentiles come from one read
of the week's values (lane, route and two numbers per approved run), each group sorted once in Python,
instead of a TEMP table with three indexes and `ORDER BY value LIMIT 2 OFFSET k` lookups. A covering
index led by created_at was tried first: the week became a covering range, but SQLite still sorted
every GROUP BY and the digest stayed at ~2.8 s CPU.

Where the time goes now (SQLite, per digest, CPU, quiet machine): the week's counters and last week's
(~0.33 s each: the index slices and the GROUP BY sort over route and model ~0.16 s, thirteen conditional
sums the rest), spend and rework of the six older weeks (~0.4 s, no sort), the percentiles (~0.55 s, of
which ~0.35 s is SQLite computing request-to-draft times and looking up 20k edit distances), top reasons
(~0.17 s). The same SQLite file without ANALYZE statistics gets the same plans (~2.1 s CPU).
PostgreSQL, after VACUUM: counters ~0.14 s each, older weeks ~0.5 s, percentiles ~0.36 s, reasons
~0.14 s; in this bench the table is freshly COPYed and autovacuum has not yet set the visibility map, so
its index-only scans still visit the heap. PostgreSQL runs with `jit = off` (JIT compilation alone cost
~0.4 s per query). The machine is a shared 2-vCPU VM; the load average column shows how busy it was
(other test suites ran at the same time), which is why the CPU seconds of the bench process are given
for SQLite (it runs in-process)."""


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


def write_readme(section: str) -> None:
    """Replace (or add) the ``## Digest`` section of bench/README.md, leaving other sections alone."""
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    head, marker, rest = current.partition("## Digest")
    tail = ""
    if marker:
        following = rest.find("\n## ")
        tail = rest[following + 1 :] if following >= 0 else ""
    README.write_text(
        head.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
    )


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
