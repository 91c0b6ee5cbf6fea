"""What lanebot itself adds to a model call: one ``Engine.run`` against one direct SDK call.

    .venv/bin/python bench/overhead_bench.py                        # SQLite file + local PostgreSQL
    .venv/bin/python bench/overhead_bench.py --runs 1000 --database-url sqlite:////tmp/audit.db
    .venv/bin/python bench/overhead_bench.py --profile              # where lanebot's time goes

Both sides talk to the same loopback ``ModelServer`` (real OpenAI wire protocol, instant answers),
through the same ``openai`` SDK client settings, with the same system prompt and user message, so
the difference between them is lanebot's own work: validation, the budget read, routing, prompt
rendering, redaction of the input and of the draft, the draft checks, pricing and the three audit
writes (run, attempt, outcome) that must succeed before a draft is returned.

The two sides alternate (and swap order every iteration) so drift in the machine affects both.
Each lanebot run is also split by wrapping the engine's collaborators in timers: the model call,
the redactor, the audit store, and the rest (routing, prompts, checks, pricing). The wrappers cost
a few microseconds per run.

PostgreSQL runs in a private schema that is dropped afterwards; a SQLite file given with
``--database-url`` is used as is.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.runtime.core import Core, build_core
from lanes.config import LanesConfig, load_config
from lanes.prompts import render
from lanes.providers.registry import build_providers
from lanes.values import RunRequest
from storage.db import normalise_url
from storage.redaction import Redactor
from tests.fakes.model_servers import TEST_OPENAI_KEY, ModelServer, Ok

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("LANEBOT_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LANE, TIER, MODEL = "support", "fast", "gpt-5-mini"
TARGET_MS = 5.0
REQUEST = (
    "Hi, I was charged twice for order 48213 on 3 November, once on my card and once by PayPal. "
    "Could you check and reverse one of them? You can reach me at dana.kowalski@example.com. "
    "Thanks, Dana"
)
DRAFT = (
    "Hi Dana, thank you for letting us know, and sorry for the trouble. I can see why two charges "
    "for order 48213 would be worrying. I have passed this to our billing team, who will check both "
    "payments and contact you at the address on your account within two working days. If one of "
    "them turns out to be a duplicate, they will explain the next steps. Best regards, Support"
)


# --- timing helpers ----------------------------------------------------------------------------------
def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


@dataclass
class Split:
    """Time spent inside each wrapped collaborator during the current run, in seconds."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def take(self) -> dict[str, float]:
        taken = dict(self.seconds)
        self.seconds.clear()
        return taken


class Timed:
    """A transparent proxy that adds the time of every method call to ``split`` under ``label``."""

    def __init__(self, target: Any, label: str, split: Split) -> None:
        self._target, self._label, self._split = target, label, split

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self._split.seconds[self._label] += time.perf_counter() - started

        return timed


@dataclass(frozen=True)
class Side:
    """Per-run wall-clock and CPU (bench thread only) milliseconds of one side."""

    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def time(self, action: Callable[[], None]) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        action()
        self.cpu_ms.append((time.thread_time() - cpu) * 1000)
        self.wall_ms.append((time.perf_counter() - wall) * 1000)


@dataclass(frozen=True)
class Result:
    database: str
    direct: Side
    lanebot: Side
    parts_ms: dict[str, list[float]]

    @property
    def added_median_ms(self) -> float:
        return statistics.median(self.lanebot.wall_ms) - statistics.median(self.direct.wall_ms)

    def row(self) -> str:
        d50, d90 = statistics.median(self.direct.wall_ms), percentile(self.direct.wall_ms, 90)
        l50, l90 = statistics.median(self.lanebot.wall_ms), percentile(self.lanebot.wall_ms, 90)
        cpu = statistics.median(self.lanebot.cpu_ms) - statistics.median(self.direct.cpu_ms)
        return (
            f"| {self.database} | {d50:.2f} | {d90:.2f} | {l50:.2f} | {l90:.2f} | "
            f"**{l50 - d50:.2f}** | {l90 - d90:.2f} | {l50 / d50:.1f}× | {cpu:.2f} |"
        )

    def split_row(self) -> str:
        medians = {name: statistics.median(values) for name, values in self.parts_ms.items()}
        return (
            f"| {self.database} | {medians['model call']:.2f} | {medians['redaction']:.2f} | "
            f"{medians['audit store']:.2f} | {medians['rest']:.2f} |"
        )


# --- the two sides -----------------------------------------------------------------------------------
def bench_config(server: ModelServer) -> LanesConfig:
    return server.retarget(load_config(ROOT / "lanes.toml"))


def direct_call(config: LanesConfig, server: ModelServer) -> Callable[[], None]:
    """The same request as lanebot sends, straight through an SDK client configured like its adapter."""
    lane, spec = config.lanes[LANE], config.models[TIER]
    prompt = render(lane, TIER, REQUEST)
    client = openai.OpenAI(
        api_key=TEST_OPENAI_KEY, base_url=server.openai_base_url, max_retries=0, timeout=spec.timeout_s
    )
    messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.prompt}]

    def call() -> None:
        response = client.chat.completions.create(
            model=spec.model,
            messages=messages,  # type: ignore[arg-type]
            max_completion_tokens=lane.max_output_tokens,
            timeout=spec.timeout_s,
        )
        assert response.choices[0].message.content == DRAFT

    return call


def timed_core(config: LanesConfig, server: ModelServer, url: str, redactor: Redactor, split: Split) -> Core:
    """The production builder, with the store, redactor and providers wrapped in timers."""
    from bot.runtime.core import open_store

    providers = build_providers(config, server.env())
    return build_core(
        config=config,
        database=url,
        env=server.env(),
        store=Timed(open_store(url), "audit store", split),  # type: ignore[arg-type]
        redactor=Timed(redactor, "redaction", split),  # type: ignore[arg-type]
        providers={tier: Timed(p, "model call", split) for tier, p in providers.items()},  # type: ignore[misc]
    )


def lanebot_run(core: Core) -> Callable[[], None]:
    def run() -> None:
        result = core.engine.run(RunRequest(lane=LANE, text=REQUEST, requester="U0BENCH", source="bench"))
        assert result.status == "drafted" and result.route_kind == "default", result.message

    return run


def measure(
    name: str, core: Core, direct: Callable[[], None], split: Split, runs: int, warmup: int
) -> Result:
    run = lanebot_run(core)
    for _ in range(warmup):
        direct()
        run()
    split.take()
    direct_side, lanebot_side = Side(), Side()
    parts: dict[str, list[float]] = defaultdict(list)
    for index in range(runs):
        order = ((direct_side, direct), (lanebot_side, run))
        for side, action in order if index % 2 == 0 else reversed(order):
            side.time(action)
        inside = {label: seconds * 1000 for label, seconds in split.take().items()}
        for label in ("model call", "redaction", "audit store"):
            parts[label].append(inside.get(label, 0.0))
        parts["rest"].append(lanebot_side.wall_ms[-1] - sum(inside.values()))
    print(f"[{name}] {runs} runs after {warmup} warm-up: done", file=sys.stderr, flush=True)
    return Result(name, direct_side, lanebot_side, dict(parts))


def profile(core: Core, runs: int, top: int) -> None:
    run = lanebot_run(core)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        run()
    profiler.disable()
    print(f"\ncProfile of {runs} lanebot runs, top {top} by cumulative time:\n")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)


# --- databases ---------------------------------------------------------------------------------------
@contextmanager
def database(url: str | None) -> Iterator[tuple[str, str]]:
    """(label, URL): a temporary SQLite file, the given URL, or a private PostgreSQL schema."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="lanebot-bench-") as folder:
            yield "SQLite file", f"sqlite:///{folder}/audit.db"
        return
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "postgresql":
        yield "SQLite file" if url.startswith("sqlite") else make_url(url).get_backend_name(), url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield "PostgreSQL", f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pg_reachable(url: str) -> bool:
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def versions(urls: Mapping[str, str]) -> str:
    parts = [f"Python {platform.python_version()}", f"openai {openai.__version__}"]
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    for url in urls.values():
        if make_url(url).get_backend_name() == "postgresql":
            engine = create_engine(url)
            with engine.connect() as conn:
                parts.append(
                    f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar()}".split(" (")[0]
                )
            engine.dispose()
            break
    return ", ".join(parts)


def machine() -> str:
    cpu = platform.machine()
    with suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()}"


# --- report ------------------------------------------------------------------------------------------
def report(results: list[Result], runs: int, warmup: int, about: str, load: tuple[float, float]) -> str:
    lines = [
        f"{runs} runs per database after {warmup} warm-up; {machine()}; {about}; "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after.",
        "",
        "| audit store | direct SDK median | direct p90 | lanebot median | lanebot p90 "
        "| added median | added p90 | ratio (median) | added CPU median |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(result.row() for result in results),
        "",
        "Inside one lanebot run (median ms per run):",
        "",
        "| audit store | model call (SDK + HTTP) | redaction | audit store "
        "| rest: routing, prompts, checks, pricing |",
        "|---|---:|---:|---:|---:|",
        *(result.split_row() for result in results),
        "",
    ]
    for result in results:
        verdict = "holds" if result.added_median_ms < TARGET_MS else "DOES NOT hold"
        lines.append(
            f"Target under {TARGET_MS:g} ms median added on {result.database}: {verdict} "
            f"({result.added_median_ms:.2f} ms)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="timed runs per database (default 300)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed runs first (default 50)")
    parser.add_argument(
        "--database-url",
        action="append",
        help="audit store to use (repeatable); default: a temporary SQLite file and $LANEBOT_BENCH_PG",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile lanebot runs on the first store"
    )
    parser.add_argument("--profile-top", type=int, default=30)
    args = parser.parse_args(argv)
    urls: list[str | None] = list(args.database_url or [None])
    if not args.database_url:
        if pg_reachable(PG_URL):
            urls.append(PG_URL)
        else:
            print(f"PostgreSQL not reachable at {PG_URL}; SQLite only", file=sys.stderr)
    redactor = Redactor()
    load_before = os.getloadavg()[0]
    results: list[Result] = []
    used: dict[str, str] = {}
    with ModelServer() as server:
        server.always(MODEL, Ok(DRAFT, input_tokens=120, output_tokens=90))
        config = bench_config(server)
        direct = direct_call(config, server)
        for url in urls:
            with database(url) as (label, resolved):
                used[label] = resolved
                split = Split()
                core = timed_core(config, server, resolved, redactor, split)
                try:
                    results.append(measure(label, core, direct, split, args.runs, args.warmup))
                    if args.profile and len(results) == 1:
                        profile(core, args.runs, args.profile_top)
                finally:
                    core.close()
        about = versions(used)
    print()
    print(report(results, args.runs, args.warmup, about, (load_before, os.getloadavg()[0])))


if __name__ == "__main__":
    main()
