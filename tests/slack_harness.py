"""End-to-end harness for the Slack app tests: the real bot, over real HTTP, against loopback fakes.

    Slack stand-in  <--Web API--  the bot (waitress + Bolt + pool)  --SDKs-->  ModelServer
         |                                 ^
         +--- signed requests (sim) -------+

The bot is built by ``bot.runtime.wiring.build_runtime`` exactly as ``lanebot serve`` builds it, served by
``bot.runtime.http_server.HttpServer`` (waitress), and talks to the stand-in at ``SLACK_API_URL``; model
tiers go
to ``tests.fakes.ModelServer`` through the real openai/anthropic SDKs. Nothing of ours is patched.
"""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.models.blocks import Block

from bot.playground.slackstub import ManualClock, Message, SlackSimulator, SlackStubServer, demo_workspace
from bot.playground.slackstub.simulator import Delivery
from bot.runtime.http_server import HttpServer, wsgi_app
from bot.runtime.settings import load_settings
from bot.runtime.wiring import SlackRuntime, build_runtime
from lanes.audit.records import RunRecord
from lanes.config import LanesConfig, parse_config
from storage.search import AuditQuery
from tests.fakes import ModelServer

REPO = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret-0123456789"
CHANNEL = "C0LANES"
TEST_PRICES = {"fast": (0.25, 2.0), "strong": (3.0, 15.0), "local": (0.1, 0.1)}


class FakeClock:
    """The bot's wall clock (audit times, "2 min after the draft", expiry): moves only when told."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self.now += timedelta(**delta)
            return self.now


class CountingExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, counting work in flight so a test can wait for post-ack work to end."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers, thread_name_prefix="test-bolt")
        self._busy = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._busy += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any]) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


def lanes_config(
    models: ModelServer,
    *,
    lanes: Mapping[str, Mapping[str, Any]] | None = None,
    workers: int = 4,
    queue_limit: int = 20,
    keep_only: tuple[str, ...] | None = None,
) -> LanesConfig:
    """The repository's lanes.toml with known test prices, per-lane overrides and the test runtime."""
    raw = tomllib.loads((REPO / "lanes.toml").read_text(encoding="utf-8"))
    for tier, (inp, out) in TEST_PRICES.items():
        raw["models"][tier]["price"] = {"input_per_mtok": inp, "output_per_mtok": out}
    for name, changes in (lanes or {}).items():
        raw["lanes"][name].update(changes)
    if keep_only is not None:
        raw["lanes"] = {k: v for k, v in raw["lanes"].items() if k in keep_only}
    raw["runtime"] = {
        "workers": workers,
        "queue_limit": queue_limit,
        "breaker_failures": 3,
        "breaker_cooldown_s": 60,
    }
    return models.retarget(parse_config(raw))


@dataclass
class Bot:
    """One running bot instance and the handles a test needs."""

    runtime: SlackRuntime
    http: HttpServer
    sim: SlackSimulator
    stub: SlackStubServer
    models: ModelServer
    clock: FakeClock
    listeners: CountingExecutor

    @property
    def ws(self) -> Any:
        return self.stub.workspace

    @property
    def store(self) -> Any:
        return self.runtime.core.store

    def command(
        self, user: str, text: str, command: str = "/support", channel: str = CHANNEL, **sign: Any
    ) -> Delivery:
        return self.sim.slash_command(user, channel, command, text, **sign)

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until admitted runs and post-ack listener work have finished."""
        deadline = datetime.now() + timedelta(seconds=timeout)
        while datetime.now() < deadline:
            if (
                self.runtime.pool.in_flight == 0
                and self.listeners.wait_idle(0.05)
                and self.runtime.pool.in_flight == 0
            ):
                return
        raise AssertionError("the bot did not settle in time")

    def ask(self, user: str, text: str, command: str = "/support", channel: str = CHANNEL) -> RunRecord:
        """A slash command, run to completion; returns its run (each ``ask`` is a second later)."""
        self.clock.advance(seconds=1)
        delivery = self.command(user, text, command, channel)
        assert delivery.response.status == 200, delivery.response
        self.settle()
        return self.latest_run()

    def latest_run(self) -> RunRecord:
        rows = self.store.search(AuditQuery(limit=1))
        assert rows, "no run was recorded"
        return self.store.get_run(rows[0].id)

    def run(self, run_id: str) -> RunRecord:
        return self.store.get_run(run_id)

    def draft_message(self, run: RunRecord) -> Message:
        assert run.slack_channel and run.slack_draft_ts, f"run {run.id} has no draft message"
        message = self.ws.message(run.slack_channel, run.slack_draft_ts)
        assert message is not None
        return message

    def thread(self, run: RunRecord) -> list[Message]:
        assert run.slack_channel and run.slack_root_ts
        return list(self.ws.replies(run.slack_channel, run.slack_root_ts))

    def click(self, user: str, run: RunRecord, action_id: str, **sign: Any) -> Delivery:
        assert run.slack_channel and run.slack_draft_ts
        delivery = self.sim.click(user, run.slack_channel, run.slack_draft_ts, action_id, **sign)
        assert delivery.response.status == 200, delivery.response
        return delivery

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e.text for e in self.ws.ephemerals(user=user)]

    def response_texts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.ws.calls("response_url")]


@contextmanager
def running_bot(
    db_url: str,
    models: ModelServer,
    stub: SlackStubServer,
    config: LanesConfig,
    *,
    instance: str = "bot-1",
    clock: FakeClock | None = None,
) -> Iterator[Bot]:
    settings = load_settings(
        env_file=None,
        slack_bot_token=stub.workspace.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=stub.api_url,
        database_url=db_url,
        instance_id=instance,
        http_threads=8,
    )
    clock = clock or FakeClock()
    listeners = CountingExecutor(8)
    runtime = build_runtime(
        settings, config=config, env=models.env(), clock=clock, listener_executor=listeners
    )
    http = HttpServer(wsgi_app(runtime), port=0, threads=8).start()
    sim = SlackSimulator(stub, app_url=f"{http.url}/slack/events", signing_secret=SIGNING_SECRET)
    try:
        yield Bot(runtime, http, sim, stub, models, clock, listeners)
    finally:
        http.stop()
        runtime.close()


@contextmanager
def slack_and_models(slack_clock: ManualClock | None = None) -> Iterator[tuple[SlackStubServer, ModelServer]]:
    workspace = demo_workspace(clock=slack_clock) if slack_clock is not None else demo_workspace()
    with SlackStubServer(workspace) as stub, ModelServer() as models:
        yield stub, models


def all_posted_blocks(bot: Bot) -> list[dict[str, Any]]:
    """Every block of every message and ephemeral the bot produced, as posted."""
    blocks: list[dict[str, Any]] = []
    for message in bot.ws.all_messages():
        blocks += list(message.blocks)
    for eph in bot.ws.ephemerals():
        blocks += list(eph.blocks)
    return blocks


def assert_blocks_valid(bot: Bot) -> None:
    """Every block set validates with slack_sdk's models, and Slack refused none of the bot's calls."""
    for block in all_posted_blocks(bot):
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
    refused = [
        c for c in bot.ws.calls() if c.error in ("invalid_blocks", "invalid_arguments", "msg_too_long")
    ]
    assert not refused, refused


def posted_json(bot: Bot) -> str:
    """All text the bot made visible in Slack (messages, ephemerals, response_url posts), as JSON."""
    items: list[Any] = [m.to_api(team_id="T") for m in bot.ws.all_messages()]
    items += [{"text": e.text, "blocks": list(e.blocks)} for e in bot.ws.ephemerals()]
    items += [dict(c.params) for c in bot.ws.calls("response_url")]
    return json.dumps(items)
