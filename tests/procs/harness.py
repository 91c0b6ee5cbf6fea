"""Starting, killing and talking to real lanebot processes from a test.

    with bot_processes(tmp_path) as procs:
        a = procs.start("bot-a", db_url=pg_url, stub=stub, models=models)
        a.sim.slash_command("U0ASKER", "C0LANES", "/support", "Where is my parcel?")
        a.kill()                          # SIGKILL: no cleanup of any kind runs

Each process is ``tests.procs.serve_bot`` (the production ``serve_http``) in its own interpreter;
its JSON log lines go to ``<tmp>/<name>.log`` for the test to read. Everything started is killed
when the block ends, whatever happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.playground.slackstub import SlackSimulator, SlackStubServer
from tests.fakes import ModelServer

REPO = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "proc-signing-secret-0123456789"
START_TIMEOUT_S = 90.0


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


@dataclass
class BotProcess:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    sim: SlackSimulator

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut would: no handler, no cleanup, no last write."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, a graceful stop; killed if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines (anything else on stderr, e.g. a crash trace, is skipped)."""
        records = []
        for line in self.logs().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records


@dataclass
class Processes:
    workdir: Path
    started: list[BotProcess] = field(default_factory=list)
    _serial: int = 0

    def start(
        self,
        name: str,
        *,
        db_url: str,
        stub: SlackStubServer,
        models: ModelServer,
        instance: str | None = None,
        **knobs: Any,
    ) -> BotProcess:
        """Start ``serve_bot`` as instance ``instance`` (default ``name``); returns once it serves."""
        (bot,) = self.start_many([name], db_url=db_url, stub=stub, models=models, instance=instance, **knobs)
        return bot

    def start_many(
        self,
        names: list[str],
        *,
        db_url: str,
        stub: SlackStubServer,
        models: ModelServer,
        instance: str | None = None,
        **knobs: Any,
    ) -> list[BotProcess]:
        """Start several at once (each takes seconds to import and migrate); returns once all serve."""
        launched = [self._launch(name, db_url, stub, models, instance or name, knobs) for name in names]
        bots = []
        for name, proc, port_file, log_path in launched:
            try:
                port = _wait_for_port(proc, port_file, log_path)
            except BaseException:
                for _, other, _, _ in launched:
                    if other.poll() is None:
                        other.kill()
                    other.wait()
                raise
            url = f"http://127.0.0.1:{port}/slack/events"
            bot = BotProcess(
                name, proc, port, log_path, SlackSimulator(stub, app_url=url, signing_secret=SIGNING_SECRET)
            )
            self.started.append(bot)
            bots.append(bot)
        return bots

    def _launch(
        self,
        name: str,
        db_url: str,
        stub: SlackStubServer,
        models: ModelServer,
        instance: str,
        knobs: dict[str, Any],
    ) -> tuple[str, subprocess.Popen[bytes], Path, Path]:
        self._serial += 1
        port_file = self.workdir / f"{name}-{self._serial}.port"
        log_path = self.workdir / f"{name}.log"
        spec = {
            "database_url": db_url,
            "slack_api_url": stub.api_url,
            "bot_token": stub.workspace.bot_token,
            "signing_secret": SIGNING_SECRET,
            "instance": instance,
            "model_env": models.env(),
            "openai_base_url": models.openai_base_url,
            "port_file": str(port_file),
            **knobs,
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "SLACK_"))}
        env.update({"LANEBOT_PROC_SPEC": json.dumps(spec), "PYTHONPATH": str(REPO)})
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.procs.serve_bot"], cwd=REPO, env=env, stdout=log, stderr=log
            )
        return name, proc, port_file, log_path

    def kill_all(self) -> None:
        for bot in self.started:
            bot.kill()


def _wait_for_port(proc: subprocess.Popen[bytes], port_file: Path, log_path: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_file.exists():
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"bot process exited with {proc.returncode} before serving:\n{tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"bot process did not start within {START_TIMEOUT_S} s")
        time.sleep(0.05)
    return int(port_file.read_text())


@contextmanager
def bot_processes(workdir: Path) -> Iterator[Processes]:
    procs = Processes(workdir)
    try:
        yield procs
    finally:
        procs.kill_all()
