"""Slash-command ack latency while 200 model calls are in flight (each taking 5 s).

    .venv/bin/python -m bench.ack_bench                     # 40 commands/s for 30 s, 5 s model calls
    .venv/bin/python -m bench.ack_bench --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.ack_bench --rate 10 --model-delay 20 --duration 45   # 200 in flight, 10 runs/s

Three processes, as in production where Slack and the model APIs are elsewhere:

- **fakes**: the Slack stand-in (``bot.playground.slackstub``) and the model wire-protocol server
  (``tests.fakes.ModelServer``), every model call answering after ``--model-delay`` seconds;
- **bot**: the real app, built by ``bot.runtime.wiring.build_runtime`` and served by
``bot.runtime.http_server.HttpServer``
  (waitress) exactly as ``lanebot serve`` runs it, with ``[runtime] workers = 200``;
- **load** (this process): sends signed slash commands open-loop at ``--rate`` per second (each on
  a new connection, as Slack does) and times each request until its HTTP response (the ack).

By Little's law, 40 commands/s × 5 s keeps ~200 model calls in flight. Every command is a real
run: the worker posts a root message, calls the model, writes the audit store and posts the draft.
Only acks sent while the bot reported ≥ 190 runs in flight (its ``/healthz``) are counted.
The bot process also reports its CPU time from the start of the load until every run admitted
has finished, divided by the commands sent: the CPU one run costs the process that acks.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

SECRET = "bench-signing-secret"
STEADY_SHARE = 0.95
"""Acks count once the bot reports at least 95% of the expected runs in flight (190 of 200)."""
TARGET_P99_MS = 100.0


# --- the fakes process --------------------------------------------------------------------------


def fakes_main(conn: Connection, model_delay: float) -> None:
    from bot.playground.slackstub import SlackStubServer, demo_workspace
    from tests.fakes import ANY, Delay, ModelServer, Ok

    with SlackStubServer(demo_workspace()) as stub, ModelServer() as models:
        models.always(ANY, Delay(model_delay, Ok("Thanks for writing in; a colleague will follow up today.")))
        conn.send(
            {
                "api_url": stub.api_url,
                "base_url": stub.base_url,
                "token": stub.workspace.bot_token,
                "env": models.env(),
                "openai_base_url": models.openai_base_url,
            }
        )
        conn.recv()  # stop
        conn.send(
            {
                "model_requests": len(models.requests),
                "chat_posts": len(stub.workspace.calls("chat.postMessage")),
            }
        )


# --- the bot process ----------------------------------------------------------------------------


def bot_main(
    conn: Connection,
    fakes: dict[str, Any],
    database_url: str,
    workers: int,
    instance: str,
    switch: float | None,
) -> None:
    import logging
    import sys

    if switch is not None:
        sys.setswitchinterval(switch)

    from bot.runtime.http_server import HttpServer, wsgi_app
    from bot.runtime.settings import load_settings
    from bot.runtime.wiring import build_runtime

    logging.basicConfig(level=logging.WARNING)
    config = _bench_config(fakes["openai_base_url"], workers)
    settings = load_settings(
        env_file=None,
        slack_bot_token=fakes["token"],
        slack_signing_secret=SECRET,
        slack_api_url=fakes["api_url"],
        database_url=database_url,
        instance_id=instance,
        http_threads=16,
    )
    runtime = build_runtime(settings, config=config, env=fakes["env"])
    server = HttpServer(wsgi_app(runtime), port=0, threads=settings.http_threads).start()
    conn.send({"url": server.url})
    cpu_at_mark = time.process_time()
    while conn.recv() == "mark":  # the load starts now; "stop" ends the loop
        cpu_at_mark = time.process_time()
    server.stop()
    runtime.close()  # lets admitted runs finish
    conn.send({"stopped": True, "cpu_s": time.process_time() - cpu_at_mark})


def _bench_config(openai_base_url: str, workers: int) -> Any:
    import tomllib

    from lanes.config import parse_config

    raw = tomllib.loads((Path(__file__).parent.parent / "lanes.toml").read_text(encoding="utf-8"))
    raw["models"]["local"]["base_url"] = openai_base_url
    for tier, (inp, out) in {"fast": (0.25, 2.0), "strong": (3.0, 15.0)}.items():
        raw["models"][tier]["price"] = {"input_per_mtok": inp, "output_per_mtok": out}
    raw["lanes"]["support"]["budget_daily_usd"] = 1000.0
    raw["runtime"] = {
        "workers": workers,
        "queue_limit": 1000,
        "breaker_failures": 3,
        "breaker_cooldown_s": 60,
    }
    return parse_config(raw)


def _statuses(database: str) -> dict[str, int]:
    """Runs by status once every instance has drained (read from the shared audit store)."""
    from storage.db import make_engine
    from storage.search import AuditQuery
    from storage.store import AuditStore

    engine = make_engine(database)
    try:
        counts: dict[str, int] = {}
        for row in AuditStore(engine).search(AuditQuery(limit=10_000)):
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts
    finally:
        engine.dispose()


# --- the load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    sent_at: float
    latency_ms: float
    status: int
    started: bool
    in_flight: int
    answer: str = ""


class Load:
    """Open-loop slash commands, round-robin over the bot instances, with their in-flight counts
    (``/healthz``) sampled alongside."""

    def __init__(self, bot_urls: list[str], slack_base_url: str) -> None:
        self.bots = [tuple(url.removeprefix("http://").split(":")) for url in bot_urls]
        self.slack_base_url = slack_base_url
        self.in_flight = 0
        self.samples: list[Sample] = []
        self.idle: list[Sample] = []
        self.load_before = os.getloadavg()[0]
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def command(self, i: int) -> None:
        host, port = self.bots[i % len(self.bots)]
        body = urlencode(
            {
                "token": "bench",
                "team_id": "T0LANEBOT",
                "team_domain": "lanebot",
                "channel_id": "C0LANES",
                "channel_name": "ai-lanes",
                "user_id": "U0ASKER",
                "user_name": "ada",
                "command": "/support",
                "text": f"Bench request {i}: my parcel has not arrived, where is it?",
                "api_app_id": "A0LANEBOT",
                "response_url": f"{self.slack_base_url}/response/bench-{i}",
                "trigger_id": f"bench.{i}.{uuid.uuid4().hex}",
            }
        )
        headers = _signed_headers(body)
        in_flight = self.in_flight
        started = time.perf_counter()
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            status = response.status
        finally:
            connection.close()
        latency = (time.perf_counter() - started) * 1000
        answer = json.loads(text).get("text", "") if status == 200 else text
        ok = answer.startswith("Working on")
        with self._lock:
            self.samples.append(Sample(started, latency, status, ok, in_flight, "" if ok else answer[:80]))

    def watch(self) -> None:
        while not self._stop.is_set():
            self.in_flight = sum(_in_flight(host, port) for host, port in self.bots)
            self._stop.wait(0.2)

    def run(self, rate: float, duration: float, light_probes: int, mark: Callable[[], None]) -> None:
        for i in range(10 * len(self.bots)):  # warm-up: first requests pay for lazy imports and connections
            self.command(-1000 - i)
        time.sleep(1)
        watcher = threading.Thread(target=self.watch, daemon=True)
        watcher.start()
        self.samples = []
        for i in range(light_probes):  # the same command under light load, for comparison
            self.command(-1 - i)
            time.sleep(0.5)
        self.idle, self.samples = self.samples, []
        total = int(rate * duration)
        mark()
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=128) as senders:
            for i in range(total):
                _sleep_until(start + i / rate)
                senders.submit(self.command, i)
        self._stop.set()
        watcher.join()


def _in_flight(host: str, port: str) -> int:
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/healthz")
        return int(json.loads(connection.getresponse().read())["runs_in_flight"])
    except (OSError, ValueError):
        return 0
    finally:
        connection.close()


def _signed_headers(body: str) -> dict[str, str]:
    from bot.playground.slackstub.signing import signature

    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature(SECRET, timestamp, body),
    }


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- orchestration ------------------------------------------------------------------------------


@contextmanager
def _database(url: str | None, tmp: str) -> Iterator[str]:
    """A fresh SQLite file, or a private PostgreSQL schema dropped afterwards (never ``public``)."""
    if url is None or not url.startswith("postgres"):
        yield url or f"sqlite:///{tmp}/bench.db"
        return
    from sqlalchemy import text

    from storage.db import make_engine

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _answer(conn: Connection, timeout: float) -> dict[str, Any]:
    """The other process's final report, or {} if it did not come in time (the run still counts)."""
    return dict(conn.recv()) if conn.poll(timeout) else {}


def _spawn(target: Callable[..., None], *args: Any) -> tuple[Any, Connection]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    return process, parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0, help="slash commands per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--model-delay", type=float, default=5.0, help="seconds each model call takes")
    parser.add_argument("--workers", type=int, default=200, help="[runtime] workers, per instance")
    parser.add_argument(
        "--instances", type=int, default=1, help="bot processes sharing the load and the database"
    )
    parser.add_argument("--database-url", help="audit store (default: a fresh SQLite file)")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for admitted runs to finish after the load",
    )
    parser.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval in the bot (default 0.005)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, _database(args.database_url, tmp) as database:
        fakes_proc, fakes = _spawn(fakes_main, args.model_delay)
        bots: list[tuple[Any, Connection]] = []
        try:
            fake_urls = fakes.recv()
            for n in range(args.instances):
                bots.append(
                    _spawn(bot_main, fake_urls, database, args.workers, f"bench-{n}", args.switch_interval)
                )
            load = Load([conn.recv()["url"] for _, conn in bots], fake_urls["base_url"])
            load.run(
                args.rate, args.duration, light_probes=20, mark=lambda: [c.send("mark") for _, c in bots]
            )
            time.sleep(args.model_delay + 2)
            for _, conn in bots:
                conn.send("stop")
            cpu_s = sum(_answer(conn, args.drain_timeout).get("cpu_s", float("nan")) for _, conn in bots)
            statuses = _statuses(database)
            fakes.send("stop")
            served = _answer(fakes, 30) or {"model_requests": -1, "chat_posts": -1}
        finally:
            for process in [fakes_proc, *(proc for proc, _ in bots)]:
                process.join(5)
                if process.is_alive():
                    process.terminate()
    report = summarise(load, args, statuses, served, database, cpu_s)
    print(report)


def summarise(
    load: Load,
    args: argparse.Namespace,
    statuses: dict[str, int],
    served: dict[str, int],
    database: str,
    cpu_s: float,
) -> str:
    expected = min(args.rate * args.model_delay, args.workers * args.instances)
    steady = [s for s in load.samples if s.in_flight >= STEADY_SHARE * expected]
    latencies = [s.latency_ms for s in steady]
    idle = [s.latency_ms for s in load.idle]
    light_flight = [s.in_flight for s in load.idle]
    flight = [s.in_flight for s in steady]
    db = "PostgreSQL" if database.startswith("postgres") else "SQLite"
    rows = [
        ("commands sent", f"{len(load.samples):,} at {args.rate:g}/s for {args.duration:g} s"),
        ("model call duration", f"{args.model_delay:g} s"),
        (
            "runs in flight while measured",
            f"{min(flight, default=0)}–{max(flight, default=0)} "
            f"(median {statistics.median(flight) if flight else 0:g})",
        ),
        ("acks measured (steady state)", f"{len(steady):,}"),
        ("ack p50 / p90 / p99 / max", _ms(latencies)),
        (
            f"ack p50 / p99 under light load (2/s, ≤ {max(light_flight, default=0)} runs in flight)",
            _ms(idle, short=True),
        ),
        ("acks: run started / queued (all workers busy) / refused / other", _kinds(load.samples)),
        ("runs by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
        (
            "bot process CPU per command (load start to drain)",
            f"{cpu_s * 1000 / max(len(load.samples), 1):.1f} ms",
        ),
        (
            "model requests / chat.postMessage calls",
            f"{served['model_requests']:,} / {served['chat_posts']:,}",
        ),
        ("audit store", db),
        ("machine", f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"),
        ("load average (1 min) before / after", f"{load.load_before:.1f} / {os.getloadavg()[0]:.1f}"),
    ]
    verdict = "met" if latencies and percentile(latencies, 99) < TARGET_P99_MS else "NOT met"
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"| measure | result |\n|---|---|\n{table}\n\nTarget p99 < {TARGET_P99_MS:g} ms: **{verdict}**."


def _kinds(samples: list[Sample]) -> str:
    queued = sum(1 for s in samples if "is queued" in s.answer)
    refused = sum(1 for s in samples if s.answer.startswith("lanebot is at capacity"))
    started = sum(1 for s in samples if s.started)
    return f"{started} / {queued} / {refused} / {len(samples) - started - queued - refused}"


def _ms(values: list[float], short: bool = False) -> str:
    if not values:
        return "n/a"
    if short:
        return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f} ms"
    return " / ".join(f"{percentile(values, p):.1f}" for p in (50, 90, 99)) + f" / {max(values):.1f} ms"


if __name__ == "__main__":
    main()
