"""Every command the README shows and every example in ``lanebot ... --help`` runs, as typed.

Sources: each code span or code-block line of README.md that starts with ``lanebot`` (the command
table and the walkthrough), ``lanebot --help`` and ``--version``, and the ``examples:`` of each
command's help. A usage line such as
``lanebot decide RUN approve|edit|reject --as U123 [--reason R] [--text-file F]`` is expanded into
concrete commands (with and without the optional groups, each alternative once) and its
placeholders filled in: RUN is a fresh run made by an earlier ``lanebot ask``, U123 an owner from
lanes.toml, F a temporary file, URL and PATH something that exists.

Each command runs as ``python -m bot.cli ...`` in its own process, with the repository as working
directory, a fresh SQLite audit store, ``LANEBOT_OFFLINE=1`` and no model keys; Slack settings
point at the project's Web API stand-in on a loopback port, so ``digest --post`` and ``serve`` do
their real work. ``serve`` and ``playground`` run on port 0 until they are ready, then get SIGTERM.
A case fails on a traceback, or on an exit code that ``lanebot --help`` does not list for that
command (70, "a bug", is never accepted); the examples in ``--help`` must exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from tests.slack_harness import SlackStubServer, demo_workspace

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TIMEOUT_S = 120
READY_TIMEOUT_S = 90
NEVER_ACCEPTED = {70, 130, 141}
"""A bug, Ctrl-C and a closed pipe: documented, but never what a documented command may end with."""
NEEDS_SOCKET_MODE = {"socket"}
"""Commands that cannot start here: Socket Mode needs Slack's WebSocket, which no stand-in offers."""
SERVING = {"serve": "serving Slack events over HTTP", "playground": "lanebot playground: http"}
"""Commands that run until stopped, and the line that says they are ready."""
GLOBAL_WITH_VALUE = {"--config", "--database-url"}
FLAG_VALUES = {
    "--lane": "support",
    "--model": "fast",
    "--status": "drafted",
    "--reviewer": "U0OWNER",
    "--requester": "U0REQUEST",
    "--since": "7d",
    "--until": "2099-01-01",
    "--text": "parcel",
    "--port": "0",
    "--week": "2026-W47",
    "--request-url": "https://example.com/slack/events",
    "--reason": "wrong tone",
    "--as": "U123",
}
"""Values for options a usage line names without one (``[--lane --model ...]``, ``[--port]``)."""


@dataclass(frozen=True)
class Case:
    source: str
    words: tuple[str, ...]
    """The command after ``lanebot``, placeholders still in it."""
    must_succeed: bool = False

    @property
    def command(self) -> str | None:
        skip = False
        for word in self.words:
            if skip:
                skip = False
            elif word in GLOBAL_WITH_VALUE:
                skip = True
            elif not word.startswith("-"):
                return word
        return None

    @property
    def id(self) -> str:
        return " ".join(self.words) or "(no arguments)"


# --- reading the documentation --------------------------------------------------------------------
def readme_commands() -> list[str]:
    """Every ``lanebot ...`` code span and code-block line of the README, in order."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    spans = [span.strip() for span in re.findall(r"`([^`\n]+)`", prose)]
    return [item for item in [*spans, *lines] if item == "lanebot" or item.startswith("lanebot ")]


def expand(usage: str) -> list[tuple[str, ...]]:
    """Concrete commands of a usage line: each alternative once, optional groups left out and put in
    by turns (so both happen at least once), placeholders still in."""
    usage = usage.replace("\\|", "|").replace("<run id>", "RUN").replace("<user id>", "U123")
    parts = re.split(r"(\[[^\]]*\])", usage)
    widest = max(len(word.split("|")) for word in re.split(r"[\s\[\]]+", usage))
    variants = []
    for pick in range(max(widest, 2)):
        with_groups = pick % 2 == 1
        text = " ".join(
            (part[1:-1] if with_groups else "") if part.startswith("[") else part for part in parts
        )
        words = [_alternative(word, pick) for word in shlex.split(text)]
        variants.append(normalised(_fill_bare_options(words[1:])))  # without the leading "lanebot"
    return list(dict.fromkeys(variants))


def normalised(words: list[str]) -> tuple[str, ...]:
    """Serving commands on port 0 (and no browser): never a fixed port on a shared machine."""
    command = Case("", tuple(words)).command
    if command in SERVING and "--help" not in words:
        words = _with_option(words, "--port", "0")
        if command == "playground" and "--no-browser" not in words:
            words.append("--no-browser")
    return tuple(words)


def _alternative(word: str, pick: int) -> str:
    options = word.split("|")
    return options[pick % len(options)] if len(options) > 1 and not word.startswith("http") else word


def _fill_bare_options(words: list[str]) -> list[str]:
    filled: list[str] = []
    for index, word in enumerate(words):
        filled.append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if word in FLAG_VALUES and (following is None or following.startswith("-") or following == ">"):
            filled.append(FLAG_VALUES[word])
    return filled


def help_examples() -> list[Case]:
    """``lanebot --help``, ``--version`` and the examples each command's ``--help`` shows (the help
    texts themselves are checked in process, by ``tests/test_cli_help.py``)."""
    cases = [Case("lanebot --help", ("--help",), True), Case("lanebot --version", ("--version",), True)]
    for name, subparser in subcommands().items():
        lines = subparser.format_help().split("examples:\n", 1)[-1].splitlines() if subparser.epilog else []
        for line in lines:
            if line.strip().startswith("lanebot "):
                words = normalised(shlex.split(line.strip())[1:])
                cases.append(Case(f"lanebot {name} --help example", words, name not in NEEDS_SOCKET_MODE))
    return cases


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def all_cases() -> list[Case]:
    cases = [Case(f"README: {usage}", words) for usage in readme_commands() for words in expand(usage)]
    cases += help_examples()
    unique: dict[tuple[str, ...], Case] = {}
    for case in cases:
        known = unique.get(case.words)
        if known is None or (case.must_succeed and not known.must_succeed):
            unique[case.words] = case
    return list(unique.values())


def documented_exit_codes(help_text: str) -> dict[str | None, set[int]]:
    """``{command: codes}`` from the ``exit status:`` section; key None holds the codes of every command."""
    codes: dict[str | None, set[int]] = {None: {0}}
    if "exit status:\n" not in help_text:
        return codes  # nothing documented: only success is acceptable
    section = help_text.split("exit status:\n", 1)[1]
    for match in re.finditer(r"^\s+(\d+)\s+(?:([a-z]+): )?", section, flags=re.M):
        codes.setdefault(match.group(2), set()).add(int(match.group(1)))
    return codes


# --- the place the commands run in ----------------------------------------------------------------
@dataclass
class Place:
    tmp: Path
    env: dict[str, str]
    database: str
    owner: str
    documented: dict[str | None, set[int]]

    def allowed(self, command: str | None) -> set[int]:
        return (self.documented[None] | self.documented.get(command, set())) - NEVER_ACCEPTED

    def fresh_run(self) -> str:
        """A drafted run, made by ``lanebot ask`` (in this process, to keep the test quick)."""
        out = io.StringIO()
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            with contextlib.redirect_stdout(out):
                code = main(
                    [
                        "ask",
                        "support",
                        "Where is my parcel?",
                        "--offline",
                        "--json",
                        "--database-url",
                        self.database,
                    ]
                )
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)
        assert code == 0, out.getvalue()
        return str(json.loads(out.getvalue())["run_id"])

    def argv(self, words: tuple[str, ...]) -> tuple[list[str], Path | None]:
        """The command line to run, placeholders filled in, and the file a ``>`` sends stdout to."""
        argv: list[str] = []
        stdout_to: Path | None = None
        words_left = list(words)
        while words_left:
            word = words_left.pop(0)
            if word == ">":
                stdout_to = self.tmp / Path(words_left.pop(0)).name
                continue
            argv.append(self._fill(word, argv[-1] if argv else None))
        return argv, stdout_to

    def _fill(self, word: str, previous: str | None) -> str:
        if previous == "--database-url":
            return self.database
        if previous == "--dir" or word == "D":  # lanebot init writes into a folder of its own
            return str(self.tmp / f"init-{uuid.uuid4().hex[:8]}")
        if previous == "--config" or word == "PATH":
            return "lanes.toml"
        if previous == "--text-file" or word == "F" or word.endswith(".txt"):
            path = self.tmp / "edited.txt"
            path.write_text("Thanks; your parcel is on its way.", encoding="utf-8")
            return str(path)
        return {
            "RUN": self.fresh_run() if word == "RUN" else word,
            "LANE": "support",
            "text": "Customer says they were charged twice",
            "U123": self.owner,
            "R": "wrong tone",
            "URL": "https://example.com/slack/events",
        }.get(word, word)


def _with_option(argv: list[str], option: str, value: str) -> list[str]:
    if option in argv:
        at = argv.index(option)
        return [*argv[: at + 1], value, *argv[at + 2 :]]
    return [*argv, option, value]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStubServer]:
    """The Web API stand-in; its demo workspace has lanes.toml's people and digest channel."""
    with SlackStubServer(demo_workspace()) as server:
        yield server


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory, slack: SlackStubServer) -> Place:
    tmp = tmp_path_factory.mktemp("documented")
    database = f"sqlite:///{tmp}/audit.db"
    keep = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    for name in ("LANEBOT_CONFIG", "DATABASE_URL", "LANEBOT_PORT", "PORT", "SLACK_APP_TOKEN"):
        keep.pop(name, None)
    env = {
        **keep,
        "DATABASE_URL": database,
        "LANEBOT_OFFLINE": "1",
        "SLACK_BOT_TOKEN": slack.workspace.bot_token,
        "SLACK_SIGNING_SECRET": "documented-commands-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "PYTHONPATH": str(ROOT),
    }
    lanes = tomllib.loads((ROOT / "lanes.toml").read_text(encoding="utf-8"))["lanes"]
    owner = next(o for lane in lanes.values() for o in lane["owners"] if o.startswith("U"))
    help_text = build_parser().format_help()
    return Place(tmp, env, database, owner, documented_exit_codes(help_text))


# --- running them ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finished:
    code: int
    out: str
    err: str


def run_to_end(place: Place, argv: list[str], stdout_to: Path | None) -> Finished:
    process = subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv],
        cwd=ROOT,
        env=place.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if stdout_to is not None:
        stdout_to.write_text(process.stdout, encoding="utf-8")
    return Finished(process.returncode, process.stdout, process.stderr)


def run_until_ready(place: Place, argv: list[str], ready: str) -> Finished:
    """Start a serving command, wait for its ready line (or its exit), check it answers, stop it."""
    out_path, err_path = place.tmp / "serving.out", place.tmp / "serving.err"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *argv], cwd=ROOT, env=place.env, stdout=out, stderr=err
        )
        try:
            _wait_for(lambda: process.poll() is not None or ready in _text(out_path) + _text(err_path))
            if process.poll() is None:
                _check_it_answers(_text(out_path) + _text(err_path))
                process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = _text(out_path), _text(err_path)
    assert ready in "".join(output), f"never became ready: {output}"
    return Finished(code, *output)


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready within {READY_TIMEOUT_S} s")
        time.sleep(0.1)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _check_it_answers(output: str) -> None:
    """``serve`` answers /healthz, the playground its page: started is not enough, it must serve."""
    serving = re.search(r'"port": (\d+)', output)
    page = re.search(r"lanebot playground: (http://\S+)", output)
    url = f"http://127.0.0.1:{serving.group(1)}/healthz" if serving else page.group(1) if page else None
    assert url is not None, output
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200


CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_documented_command_runs(case: Case, place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANEBOT_CONFIG", raising=False)
    argv, stdout_to = place.argv(case.words)
    command = Case("", tuple(argv)).command
    serving = SERVING.get(command or "") if "--help" not in argv else None

    done = run_until_ready(place, argv, serving) if serving else run_to_end(place, argv, stdout_to)

    shown = f"{case.source}\n$ lanebot {shlex.join(argv)}\nexit {done.code}\n{done.out}\n{done.err}"
    assert "Traceback" not in done.out + done.err, shown
    assert done.code in place.allowed(command), shown
    if case.must_succeed:
        assert done.code == 0, shown


def test_the_readme_documents_every_command_and_each_row_runs() -> None:
    """Every command in ``lanebot --help`` has a README row, and the sources above are not empty."""
    table = README.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n\n", 2)[1]
    commands = subcommands()
    for name in commands:
        assert f"`lanebot {name}" in table, f"lanebot {name} has no row in the README's command table"
    covered = {Case("", words).command for case in CASES for words in [case.words]}
    assert set(commands) <= covered
