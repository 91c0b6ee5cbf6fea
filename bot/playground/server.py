"""``lanebot playground``: the real bot, a local stand-in for Slack, and a page that looks like Slack.

    browser ──/ui/*──▶ UiServer ─▶ PlaygroundApi ─▶ SlackSimulator ──signed requests──▶ the bot
                                                        │                              (waitress + Bolt,
                                   long-poll ◀── Workspace ◀──── Web API (SlackStubServer) ◀─┘ engine, SQLite)

Nothing about the bot is special here: it is built by ``bot.runtime.wiring.build_runtime`` and served by
``bot.runtime.http_server`` exactly as ``lanebot serve`` does, with ``SLACK_API_URL`` pointing at the stand-in
and a signing secret made up for the session. It cannot tell the stand-in from Slack, which is
the point: what works here works in Slack, and the test suite drives the same servers. The
model mode (offline sample model or the real models of lanes.toml) is chosen from the
environment by ``bot.playground.mode``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import secrets
import signal
import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TextIO

from bot.playground.api import PlaygroundApi
from bot.playground.demo_notice import demo_file, post_demo_notice, seed_for_playground
from bot.playground.digest import post_week_so_far
from bot.playground.install import InstalledApp, fit_workspace
from bot.playground.mode import ModelMode, choose_mode
from bot.playground.slackstub import SlackSimulator, SlackStubServer, Workspace, demo_workspace
from bot.playground.web import UiServer
from bot.runtime.core import config_path
from bot.runtime.http_server import EVENTS_PATH, HttpServer, wsgi_app
from bot.runtime.settings import DEFAULT_ENV_FILE, load_settings
from bot.runtime.wiring import SlackRuntime, build_runtime
from lanes.clock import utcnow
from lanes.config import LanesConfig, load_config
from lanes.errors import ConfigError
from storage.db import DEFAULT_DATABASE_URL

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
BOT_THREADS = 8
INSTANCE = "playground"


class Playground:
    """The stand-in, the bot and the page on 127.0.0.1; ``with Playground(...) as pg: pg.url``.

    ``env`` is where model credentials are read (default: the process environment over ``.env``);
    ``config`` overrides the lanes file (tests); ``port=0`` picks a free port for the page.
    """

    def __init__(
        self,
        *,
        database: str = DEFAULT_DATABASE_URL,
        config_file: str | None = None,
        config: LanesConfig | None = None,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] = utcnow,
        workspace: Workspace | None = None,
        demo: bool = False,
    ) -> None:
        """``demo``: ``database`` is the demo store (``bot.playground.demo``); the page says so."""
        self._database, self._config_file, self._config = database, config_file, config
        self.demo = demo
        self._env, self._host, self._port = env, host, port
        self._clock = clock
        self._workspace = workspace
        self._stack = contextlib.ExitStack()
        self.mode: ModelMode | None = None
        self.stub: SlackStubServer | None = None
        self.runtime: SlackRuntime | None = None
        self.sim: SlackSimulator | None = None
        self.ui: UiServer | None = None

    @property
    def database(self) -> str:
        return self._database

    @property
    def url(self) -> str:
        if self.ui is None:
            raise RuntimeError("the playground is not running: call start() or use it in a with block")
        return self.ui.url

    @property
    def workspace(self) -> Workspace:
        if self.stub is None:
            raise RuntimeError("the playground is not running")
        return self.stub.workspace

    def start(self) -> Playground:
        """Bind the page's port first (a busy port fails before anything is built), then the rest."""
        with self._stack as stack:
            ui = UiServer(host=self._host, port=self._port)
            stack.callback(ui.stop)
            env = self._environment()
            config = self._config or load_config(config_path(self._config_file, env))
            self.mode = choose_mode(config, env)
            api = self._start_bot(stack, config, env, self.mode)
            self.ui = ui.start(api)
            self._stack = stack.pop_all()
        return self

    def _start_bot(
        self, stack: contextlib.ExitStack, config: LanesConfig, env: Mapping[str, str], mode: ModelMode
    ) -> PlaygroundApi:
        workspace = self._workspace or demo_workspace()
        fit_workspace(workspace, config)
        if self.demo:
            post_demo_notice(workspace, self._database)
        self.stub = stub = SlackStubServer(workspace).start()
        stack.callback(stub.stop)
        secret = secrets.token_hex(16)
        settings = load_settings(
            env_file=None,
            slack_bot_token=workspace.bot_token,
            slack_signing_secret=secret,
            slack_api_url=stub.api_url,
            database_url=self._database,
            lanebot_config=str(config.source),
            lanebot_offline=mode.offline,
            instance_id=INSTANCE,
            http_threads=BOT_THREADS,
        )
        self.runtime = runtime = build_runtime(settings, config=config, env=env, clock=self._clock)
        stack.callback(runtime.close)
        bot = HttpServer(wsgi_app(runtime), port=0, threads=BOT_THREADS).start()
        stack.callback(bot.stop)
        app_url = f"{bot.url}{EVENTS_PATH}"
        self.sim = SlackSimulator(stub, app_url=app_url, signing_secret=secret)
        core = runtime.core
        return PlaygroundApi(
            self.sim,
            InstalledApp.from_config(core.config, app_url),
            config=core.config,
            mode=mode,
            post_digest=lambda: post_week_so_far(core.store, runtime.client, core.config, self._clock),
            demo_store=demo_file(self._database) if self.demo else None,
        )

    def _environment(self) -> Mapping[str, str]:
        if self._env is not None:
            return self._env
        return load_settings(env_file=DEFAULT_ENV_FILE).environment()

    def stop(self) -> None:
        """Page first (no new gestures), then the bot (admitted runs finish and post), then Slack."""
        self._stack.close()
        self.ui = None

    def __enter__(self) -> Playground:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_playground(
    *,
    config_file: str | None = None,
    database: str | None = None,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    out: TextIO | None = None,
    demo: bool = False,
) -> None:
    """``lanebot playground``: print the URL and the model mode, serve until Ctrl-C, stop cleanly.

    ``demo`` swaps the audit store for the demo store beside it, seeded first if it is new or stale."""
    out = out or sys.stdout
    database = database or DEFAULT_DATABASE_URL
    if demo:
        database = seed_for_playground(database, config_file, out)
    print(
        "Starting the lanebot playground: the bot, a local Slack stand-in and the page...",
        file=out,
        flush=True,
    )
    playground = Playground(database=database, config_file=config_file, port=port, demo=demo)
    try:
        playground.start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        fix = f"stop whatever uses it or pick another port: lanebot playground --port {port + 1}"
        raise ConfigError([f"port {port} on 127.0.0.1 is already in use; {fix}"]) from None
    try:
        _announce(playground, out)
        if open_browser:
            webbrowser.open(playground.url)
        _wait_for_interrupt()
    finally:
        print("Stopping the playground (letting runs in flight finish)...", file=out, flush=True)
        playground.stop()
        print("Playground stopped.", file=out, flush=True)


def _announce(playground: Playground, out: TextIO) -> None:
    mode = playground.mode
    assert mode is not None
    lines = [
        f"lanebot playground: {playground.url}",
        *(
            [f"  data: DEMO store {demo_file(playground.database)} (eight weeks of sample runs)"]
            if playground.demo
            else []
        ),
        f"  models: {mode.summary}",
        *(f"    {tier}" for tier in mode.tiers),
        "  Open the URL, type `/support Customer says they were charged twice` and press Enter.",
        "  Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), file=out, flush=True)


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM (turned into the same KeyboardInterrupt), then return."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
    try:
        forever = threading.Event()
        while not forever.wait(1.0):
            pass
    except KeyboardInterrupt:
        return
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
