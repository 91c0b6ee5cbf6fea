"""Soak: thousands of requests through the real HTTP app while the models, the database and Slack
misbehave at random; afterwards the books must balance.

Faults, all random (seeded, so a failure can be replayed with the same ``LANEBOT_SOAK_SEED``):

- models: 500s, 429s, connection resets, and answers that fail the lane's check (escalation);
- the database: another connection takes SQLite's write lock for up to 0.2 s, again and again,
  so the bot's writes queue behind it (lock contention; outright outages are in
  ``test_reliability_faults``, where no run can be written at all);
- Slack: 500/503s on ``chat.postMessage`` and whole outages of up to 1.5 s, ridden out by the
  Web API client's retries or, when they outlast them, delivered late by ``bot.runtime.recovery``.

Reconciliation: every request has exactly one run, every run ends in a terminal status (drafts are
decided by clicks or expire), and every request has exactly one visible outcome in Slack.

The default suite runs 1,000 requests; ``LANEBOT_SOAK_RUNS=10000`` runs the full soak (minutes).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from bot.runtime.recovery import Recovery, RecoverySettings
from bot.runtime.review_deadlines import expire_due
from bot.slack import ids
from lanes.audit.records import RunRecord
from lanes.values import TERMINAL_STATUSES
from storage.search import AuditQuery, RunSummary
from tests.fakes import Dynamic, Ok, RecordedRequest, Reset, Status
from tests.fakes.model_servers import Behaviour
from tests.procs.harness import wait_until
from tests.slack_harness import Bot, lanes_config, running_bot, slack_and_models

RUNS = int(os.environ.get("LANEBOT_SOAK_RUNS", "1000"))
SEED = int(os.environ.get("LANEBOT_SOAK_SEED", "20260105"))
GOOD = "Thanks for your message; a colleague will follow up today."


def model_faults(rng: random.Random, lock: threading.Lock) -> Dynamic:
    choices: list[tuple[float, Behaviour]] = [
        (0.80, Ok(GOOD)),
        (0.06, Status(500)),
        (0.04, Status(429, retry_after="0")),
        (0.04, Reset()),
        (0.06, Ok("Good news: I have refunded your order.")),  # fails the support lane's check
    ]

    def choose(request: RecordedRequest) -> Behaviour:
        if request.model != "gpt-5-mini":
            return Ok(GOOD)  # fallback and escalation tiers answer
        with lock:
            roll = rng.random()
        for weight, behaviour in choices:
            if roll < weight:
                return behaviour
            roll -= weight
        return Ok(GOOD)

    return Dynamic(choose)


@contextmanager
def chaos(bot: Bot, db_path: str, rng: random.Random) -> Iterator[Counter[str]]:
    """Database lock contention and Slack outages on background threads, until the block ends."""
    stop, injected = threading.Event(), Counter[str]()

    def lock_database() -> None:
        locker = sqlite3.connect(db_path, isolation_level=None, timeout=60)
        while not stop.wait(rng.uniform(0.2, 1.0)):
            locker.execute("BEGIN EXCLUSIVE")
            time.sleep(rng.uniform(0.01, 0.2))
            locker.execute("ROLLBACK")
            injected["database locked"] += 1
        locker.close()

    def break_slack() -> None:
        while not stop.wait(rng.uniform(0.5, 2.0)):
            if rng.random() < 0.3:
                bot.stub.set_down(True)
                time.sleep(rng.uniform(0.2, 1.5))
                bot.stub.set_down(False)
                injected["slack outage"] += 1
            else:
                bot.stub.fail_next("chat.postMessage", status=rng.choice([500, 503]), times=rng.randint(1, 3))
                injected["slack 5xx"] += 1

    threads = [threading.Thread(target=f, daemon=True) for f in (lock_database, break_slack)]
    for thread in threads:
        thread.start()
    try:
        yield injected
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        bot.stub.set_down(False)
        bot.stub.clear_faults()


@pytest.mark.parametrize(
    "runs", [pytest.param(RUNS, marks=[pytest.mark.slow] if RUNS >= 10_000 else [], id=f"{RUNS}-requests")]
)
@pytest.mark.timeout(max(300, RUNS // 5))
def test_soak_every_request_reconciles(sqlite_url: str, runs: int) -> None:
    soak(sqlite_url, runs)


def soak(db_url: str, runs: int) -> None:
    rng, rng_lock = random.Random(SEED), threading.Lock()
    with slack_and_models() as (stub, models):
        models.always("*", model_faults(rng, rng_lock))
        config = lanes_config(models, workers=8, queue_limit=runs)
        with running_bot(db_url, models, stub, config) as bot:
            recovery = Recovery(
                bot.store,
                bot.runtime.client,
                config,
                "bot-1",
                clock=bot.clock,
                settings=RecoverySettings(beat_every=timedelta(seconds=0.5)),
            )
            recovery.start()
            started = time.monotonic()
            with chaos(bot, db_url.removeprefix("sqlite:///"), random.Random(SEED + 1)) as injected:
                keys = {}
                for i in range(runs):
                    delivery = bot.command("U0ASKER", f"soak request #{i}: where is my parcel?")
                    assert delivery.response.status == 200
                    keys[f"slack:{bot.ws.team_id}:{delivery.payload.trigger_id}"] = i
                bot.settle(timeout=max(120.0, runs / 5))
            wait_until(lambda: not bot.store.undelivered_runs(), timeout=60)
            recovery.stop()
            elapsed = time.monotonic() - started
            decide_and_expire(bot, rng)
            report = reconcile(bot, keys)
            print(f"\nsoak: {runs} requests in {elapsed:.0f} s; faults {dict(injected)}; outcomes {report}")


def summaries(bot: Bot) -> list[RunSummary]:
    rows: list[RunSummary] = []
    while page := bot.store.search(AuditQuery(limit=5000, offset=len(rows))):
        rows += page
    return rows


def decide_and_expire(bot: Bot, rng: random.Random) -> None:
    """A person approves some drafts; the rest expire, so every run ends terminal."""
    waiting = [bot.store.get_run(r.id) for r in summaries(bot) if r.status in ("drafted", "needs_human")]
    for run in rng.sample(waiting, min(20, len(waiting))):
        if run.slack_draft_ts:
            bot.click("U0OWNER", run, ids.APPROVE)
    bot.settle()
    now = bot.clock.advance(hours=25)
    while expire_due(bot.store, bot.runtime.client, bot.runtime.core.config, now, limit=1000):
        pass


def reconcile(bot: Bot, keys: dict[str, int]) -> Counter[str]:
    """Requests are matched to runs by their Slack delivery key (the run's idempotency key)."""
    runs = len(keys)
    records = [bot.store.get_run(r.id) for r in summaries(bot)]
    numbers = Counter(keys.get(r.idempotency_key or "", -1) for r in records)
    assert sorted(numbers) == list(range(runs)), "a request without a run, or a run without a request"
    assert set(numbers.values()) == {1}, "a request with more than one run"
    assert all(r.status in TERMINAL_STATUSES for r in records), Counter(r.status for r in records)
    messages = bot.ws.messages("C0LANES")
    roots = {m.ts for m in messages if not m.is_reply}
    replies = Counter(m.thread_ts for m in messages if m.is_reply)
    for run in records:
        assert outcomes_of(run, messages, replies) == 1, run
    assert len(roots) == runs  # one thread root, or one channel notice when Slack refused the root
    late = sum(1 for m in messages if "Posted late" in str(m.blocks) or "posted late" in m.text)
    routes = Counter(f"route {r.route_kind}" for r in records)
    return Counter(r.status for r in records) + routes + Counter({"delivered late": late})


def outcomes_of(run: RunRecord, messages: list, replies: Counter[str | None]) -> int:  # type: ignore[type-arg]
    """Visible outcomes: the one reply in the run's thread, or (no thread) the channel notice."""
    if run.slack_root_ts is not None:
        return replies[run.slack_root_ts]
    return sum(1 for m in messages if run.id in m.text)
