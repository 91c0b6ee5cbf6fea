"""How long an audit search takes on a large store, filter by filter, before and after the indexes.

    .venv/bin/python -m bench.search_bench                      # 1,000,000 runs, SQLite and PostgreSQL
    .venv/bin/python -m bench.search_bench --runs 100000 --skip-postgres
    .venv/bin/python -m bench.search_bench --write-readme       # also record the numbers in bench/README.md

The data (``bench.datagen`` with texts and attempts) is loaded into a fresh SQLite file and into a
private PostgreSQL schema (dropped afterwards) migrated to ``0002_digest_index`` only, the schema
before the search indexes. Every case (``CASES``: each filter alone, a few combinations, text at
several limits) is timed there (*before*), then the database is upgraded to head with the real
migration (which builds the indexes and backfills the text index; its time is reported) and every
case is timed again (*after*). A case's time is the median of ``--repeat`` warm runs after one
untimed run; each database also times ``SELECT 1`` the same way, a baseline for the machine's speed
at that moment. After the timings, each case's plan (``EXPLAIN``) is reduced to the indexes it reads
and whether it reads a whole table.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from bench.datagen import History, generate, load
from bench.digest_bench import machine, postgres_engine, sqlite_engine
from storage import text_index
from storage.migrate import upgrade
from storage.search import AuditQuery, build_statement, search, uses_text_index

README = Path(__file__).parent / "README.md"
END = datetime(2026, 11, 23, tzinfo=UTC)
WEEKS = 8
BEFORE = "0002_digest_index"
TARGET_MS = 100.0
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Case:
    name: str
    query: AuditQuery


def cases(needle_one_run: str) -> list[Case]:
    """Each filter alone (a value matching many runs, few, and none), then combinations.

    ``needle_one_run`` is an order number that occurs in exactly one generated request."""
    start = END - timedelta(weeks=WEEKS)
    q = AuditQuery
    return [
        Case("no filter (newest 100)", q()),
        Case("lane: busy (support, 40 %)", q(lane="support")),
        Case("lane: small (translation, 7 %)", q(lane="translation")),
        Case("lane: none", q(lane="nobody")),
        Case("status: common (approved)", q(status="approved")),
        Case("status: rare (needs_human, 1 %)", q(status="needs_human")),
        Case("status: none (queued)", q(status="queued")),
        Case("model: requested name (gpt-5-mini, 90 %)", q(model="gpt-5-mini")),
        Case("model: answered id (claude-…-20260115)", q(model="claude-sonnet-4-6-20260115")),
        Case("model: rare (llama3.1:8b, 7 %)", q(model="llama3.1:8b")),
        Case("model: tier name (strong)", q(model="strong")),
        Case("model: none (gpt-3)", q(model="gpt-3")),
        Case("reviewer: one of 40", q(reviewer="U00007")),
        Case("reviewer: none", q(reviewer="U09999")),
        Case("requester: one of 400", q(requester="U00042")),
        Case("requester: none", q(requester="U09999")),
        Case("since: last 24 h", q(since=END - DAY)),
        Case("until: first week only", q(until=start + timedelta(weeks=1))),
        Case("since + until: one day, 4 weeks ago", q(since=END - 28 * DAY, until=END - 27 * DAY)),
        Case("text: no match (kangaroo)", q(text="kangaroo")),
        Case("text: no match, limit 80", q(text="kangaroo", limit=80)),
        Case("text: no match, limit 500", q(text="kangaroo", limit=500)),
        Case("text: one run (an order number)", q(text=needle_one_run)),
        Case("text: common word (refund, ~10 %)", q(text="refund")),
        Case("text: common word, limit 500", q(text="refund", limit=500)),
        Case("text: rare phrase (lawyer chargeback)", q(text="lawyer chargeback")),
        Case("text: common words, rarely together", q(text="refund login")),
        Case("text: 2 characters (q4)", q(text="q4")),
        Case("text: no match + lane (Slack asks per lane)", q(text="kangaroo", lane="translation")),
        Case("text: common + lane + since 7 days", q(text="refund", lane="support", since=END - 7 * DAY)),
        Case("lane + status + since 7 days", q(lane="code", status="rejected", since=END - 7 * DAY)),
        Case("model + reviewer", q(model="claude-sonnet-4-6", reviewer="U00007")),
        Case("requester + status: none", q(requester="U00042", status="needs_human")),
        Case("page 10 of lane (offset 900)", q(lane="support", offset=900)),
    ]


def one_run_needle(history: History) -> str:
    """An order number that occurs in exactly one request of ``history``."""
    counts: dict[str, int] = {}
    for run in history.runs:
        for number in re.findall(r"order (\d{7})", run[-2]):
            counts[number] = counts.get(number, 0) + 1
    return next(number for number, seen in counts.items() if seen == 1)


@dataclass(frozen=True)
class Timing:
    median_ms: float
    rows: int


def timed(engine: Engine, query: AuditQuery, repeat: int) -> Timing:
    with engine.connect() as connection:
        rows = len(search(connection, query))  # untimed: warms caches and the statement cache
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            search(connection, query)
            times.append((time.perf_counter() - started) * 1000)
    return Timing(statistics.median(times), rows)


def baseline(engine: Engine, repeat: int) -> float:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        times = []
        for _ in range(max(repeat, 20)):
            started = time.perf_counter()
            connection.execute(text("SELECT 1")).all()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def plan(connection: Connection, query: AuditQuery) -> str:
    """The plan reduced to what matters here: the indexes read, and any whole-table scan."""
    statement = build_statement(query, index=text_index.kind(connection) if uses_text_index(query) else None)
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "sqlite":
        lines = [str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
        found = {m for line in lines for m in re.findall(r"USING (?:COVERING )?INDEX (\w+)", line)}
        found |= {f"{m} (FTS5)" for line in lines for m in re.findall(r"^SCAN (\w+) VIRTUAL TABLE", line)}
        full = {m for line in lines for m in re.findall(r"^SCAN (runs|attempts|decisions)$", line)}
    else:
        lines = [str(row[0]) for row in connection.exec_driver_sql(f"EXPLAIN {compiled}")]
        found = {
            m
            for line in lines
            for m in re.findall(r"Index (?:Only )?Scan(?: Backward)? (?:using|on) (\w+)", line)
        }
        full = {m for line in lines for m in re.findall(r"Seq Scan on (\w+)", line)}
    parts = sorted(found) + [f"FULL SCAN of {table}" for table in sorted(full)]
    return ", ".join(parts) or "-"


@dataclass
class DatabaseResult:
    database: str
    runs: int
    load_s: float
    migrate_s: float
    baseline_before_ms: float
    baseline_after_ms: float
    before: dict[str, Timing]
    after: dict[str, Timing]
    plans: dict[str, str]
    load_average: float


def run_bench(name: str, engine: Engine, history: History, repeat: int, needle: str) -> DatabaseResult:
    upgrade(engine, BEFORE)
    load_s = _seconds(lambda: load(engine, history))
    print(f"[{name}] loaded {len(history.runs):,} runs at {BEFORE} in {load_s:.1f} s", flush=True)
    all_cases = cases(needle)
    base_before = baseline(engine, repeat)
    before = {
        case.name: _report(name, "before", case, timed(engine, case.query, repeat)) for case in all_cases
    }
    migrate_s = _seconds(lambda: upgrade(engine))
    _analyze(engine)
    print(f"[{name}] upgraded to head (indexes + text index backfill) in {migrate_s:.1f} s", flush=True)
    base_after = baseline(engine, repeat)
    after = {case.name: _report(name, "after", case, timed(engine, case.query, repeat)) for case in all_cases}
    for case in all_cases:
        if before[case.name].rows != after[case.name].rows:
            raise SystemExit(
                f"{case.name}: {before[case.name].rows} rows before, {after[case.name].rows} after"
            )
    with engine.connect() as connection:
        plans = {case.name: plan(connection, case.query) for case in all_cases}
    return DatabaseResult(
        name, len(history.runs), load_s, migrate_s, base_before, base_after, before, after, plans,
        os.getloadavg()[0],
    )  # fmt: skip


def _report(database: str, phase: str, case: Case, timing: Timing) -> Timing:
    print(
        f"[{database}] {phase:>6} {timing.median_ms:9.1f} ms {timing.rows:>5} rows  {case.name}", flush=True
    )
    return timing


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _analyze(engine: Engine) -> None:
    """Planner statistics for the new indexes, as after ``datagen.load`` (which analyses at 0002)."""
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


METHOD = (
    "`python -m bench.search_bench`: `bench/datagen.py` generates {runs:,} runs over {weeks} weeks with "
    "their final decisions, attempts (two for a fallback) and texts (a request of ~170 and a draft of "
    "~260 characters, Zipf-distributed words, 30 % with an order number), bulk-loads them into a fresh "
    "SQLite file and a private PostgreSQL schema migrated to `{before}` (the schema before the search "
    "indexes), runs ANALYZE and times every case (*before*); then `storage.migrate.upgrade` brings the "
    "database to head (revision 0004 builds the indexes and backfills the text index; *upgrade* is "
    "its time), ANALYZE again, and every case is timed again (*after*). A time is the median of "
    "{repeat} warm `AuditStore.search`-equivalent calls (`storage.search.search` on one connection) after"
    " one untimed call; *ratio* is before ÷ after. `SELECT 1` timed the same way is the machine's "
    "baseline at that moment. Page size 100 unless the case says otherwise. Plans are `EXPLAIN` after the"
    " upgrade, reduced to the indexes read."
)


def report(results: list[DatabaseResult], repeat: int, history: History) -> str:
    lines = [
        METHOD.format(runs=results[0].runs, weeks=WEEKS, before=BEFORE, repeat=repeat),
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d} on {machine()}; SQLite {_sqlite_version()}, {_pg_version()}.",
        "",
    ]
    for r in results:
        lines += [
            f"**{r.database}**: load {r.load_s:.0f} s, upgrade to head {r.migrate_s:.0f} s, `SELECT 1` "
            f"{r.baseline_before_ms * 1000:.0f} µs before / {r.baseline_after_ms * 1000:.0f} µs after, "
            f"load average {r.load_average:.1f}.",
            "",
            "| case | rows | before | after | ratio | plan after |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for name, after in r.after.items():
            before = r.before[name]
            ratio = before.median_ms / after.median_ms if after.median_ms else float("inf")
            mark = "" if after.median_ms < TARGET_MS else " ⚠"
            lines.append(
                f"| {name} | {after.rows} | {before.median_ms:,.1f} ms | **{after.median_ms:,.1f} ms**{mark} "
                f"| {ratio:,.0f}× | {r.plans[name]} |"
            )
        worst = max(r.after.items(), key=lambda item: item[1].median_ms)
        verdict = "within" if worst[1].median_ms < TARGET_MS else "NOT within"
        lines += [
            "",
            f"- {r.database}: slowest case after, {worst[0]!r}, {worst[1].median_ms:.1f} ms: every case "
            f"{verdict} the {TARGET_MS:.0f} ms target.",
            "",
        ]
    return "\n".join(lines).rstrip()


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _pg_version() -> str:
    from bench.digest_bench import _pg_version as version

    return version()


RESULTS_START = "<!-- search_bench results: start -->"
RESULTS_END = "<!-- search_bench results: end -->"


def write_readme(section: str) -> None:
    """Replace the generated block of bench/README.md's search section (the analysis around it is
    written by hand)."""
    current = README.read_text()
    head, start, rest = current.partition(RESULTS_START)
    _, end, tail = rest.partition(RESULTS_END)
    if not start or not end:
        raise SystemExit(f"{README}: markers {RESULTS_START!r} … {RESULTS_END!r} not found; add them")
    README.write_text(f"{head}{RESULTS_START}\n{section.strip()}\n{RESULTS_END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--write-readme", action="store_true", help="record the results in bench/README.md")
    args = parser.parse_args()
    print(f"generating {args.runs:,} runs with texts and attempts …", flush=True)
    history = generate(
        args.runs, (END - timedelta(weeks=WEEKS)).replace(tzinfo=None), END.replace(tzinfo=None), details=True
    )
    needle = one_run_needle(history)
    results = []
    if not args.skip_sqlite:
        with sqlite_engine() as engine:
            results.append(run_bench("SQLite", engine, history, args.repeat, needle))
    if not args.skip_postgres:
        with postgres_engine() as engine:
            results.append(run_bench("PostgreSQL", engine, history, args.repeat, needle))
    section = report(results, args.repeat, history)
    print("\n" + section)
    if args.write_readme:
        write_readme(section)


if __name__ == "__main__":
    main()
