"""`lanebot check`: the shipped lanes.toml passes and is explained lane by lane; a broken one is
refused with a message naming the file, the key and the fix, and a non-zero exit.

Each broken file is the shipped lanes.toml with one edit, the kind a lane owner makes by hand.
The CLI runs in-process through ``bot.cli.main`` and, at the end, as real subprocesses (the
installed ``lanebot`` console script and ``python -m bot.cli``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from lanes.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "lanes.toml"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``main`` installs a stderr handler on the root logger; leave the root logger as we found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANEBOT_CONFIG", raising=False)


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def edited(tmp_path: Path, old: str, new: str, *, after: str = "") -> Path:
    """The shipped lanes.toml with the first ``old`` after ``after`` replaced by ``new``."""
    text = SHIPPED.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    at = text.index(old, start)  # ValueError if lanes.toml changed under the test: fix the edit
    path = tmp_path / "broken-lanes.toml"
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    return path


SUPPORT_FAST_PROMPT = 'fast = { system = "You draft short'


@pytest.mark.parametrize(
    ("old", "new", "after", "key", "fix"),
    [
        pytest.param(
            'fallback = "local"',
            'fallback = "medium"',
            "[lanes.support]",
            "lanes.support.fallback",
            ["unknown model 'medium'", "define [models.medium] or use one of: fast, local, strong"],
            id="unknown-model-tier",
        ),
        pytest.param(
            'fallback = "local"\n',
            "",
            "[lanes.support]",
            "lanes.support.fallback",
            [
                "required key is missing; add it",
                'e.g. fallback = "local"',
                "tiers in this file: fast, local, strong",
            ],
            id="missing-fallback",
        ),
        pytest.param(
            '"(?i)i have (refunded|deleted|changed)"',
            '"(?i)i have (refunded"',
            "[lanes.support]",
            "lanes.support.checks.forbid",
            [
                "bad regular expression '(?i)i have (refunded'",
                "missing ), unterminated subpattern",
                "close each ( with ), or escape it as \\(",
            ],
            id="bad-regex",
        ),
        pytest.param(
            "self_approval = false",
            "self_aproval = false",
            "[lanes.support]",
            "lanes.support.self_aproval",
            ["unknown key; remove it or check its spelling", "did you mean 'self_approval'?"],
            id="unknown-key",
        ),
        pytest.param(
            SUPPORT_FAST_PROMPT,
            "# " + SUPPORT_FAST_PROMPT,
            "[lanes.support.prompts]",
            "lanes.support.prompts.fast",
            ["missing; add [lanes.support.prompts] fast = {", "{input}"],
            id="missing-prompt-for-default-tier",
        ),
        pytest.param(
            'command = "/code"',
            'command = "/support"',
            "",
            "lanes.code.command",
            ["/support is already used by lane 'support'", "give each lane its own command"],
            id="duplicate-command",
        ),
    ],
)
def test_a_broken_lanes_file_is_refused_naming_file_key_and_fix(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    old: str,
    new: str,
    after: str,
    key: str,
    fix: list[str],
) -> None:
    path = edited(tmp_path, old, new, after=after)

    result = check(capsys, "--config", str(path))

    assert result.code == 1
    assert result.out == "", "nothing may look like an OK table when the file is broken"
    problem = next((line for line in result.err.splitlines() if key in line), None)
    assert problem is not None, f"no line names {key}:\n{result.err}"
    assert problem.startswith(f"lanebot: {path}: {key}: ")
    for part in fix:
        assert part in problem
    assert "Traceback" not in result.err


def test_a_toml_syntax_error_names_the_file_and_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = edited(tmp_path, 'risk = "low"\n', 'risk = "low\n', after="[lanes.support]")
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text == 'risk = "low')

    result = check(capsys, "--config", str(path))

    assert result.code == 1 and result.out == ""
    assert result.err.startswith(f"lanebot: {path}: TOML syntax error: ")
    assert f"line {line}," in result.err
    assert "fix the line it names" in result.err


def test_a_missing_file_says_how_to_point_at_the_right_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "nowhere" / "lanes.toml"

    result = check(capsys, "--config", str(path))

    assert result.code == 1 and result.out == ""
    assert result.err == (
        f"lanebot: {path}: cannot read (No such file or directory); "
        "pass --config PATH or set LANEBOT_CONFIG\n"
    )


def test_problems_of_the_same_kind_in_several_lanes_are_all_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace('fallback = "local"', 'fallback = "medium"')
    path = tmp_path / "lanes.toml"
    path.write_text(text, encoding="utf-8")

    result = check(capsys, "--config", str(path))

    assert result.code == 1
    assert [line.split(": ")[2] for line in result.err.splitlines()] == [
        "lanes.support.fallback",
        "lanes.code.fallback",
    ]


def test_problems_of_different_kinds_are_reported_in_one_pass(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("self_approval = false", "self_aproval = false", 1)
    text = text.replace('fallback = "local"', 'fallback = "medium"', 1)
    text = text.replace('command = "/code"', 'command = "/support"')
    path = tmp_path / "lanes.toml"
    path.write_text(text, encoding="utf-8")

    result = check(capsys, "--config", str(path))

    assert result.code == 1
    for key in ("lanes.support.self_aproval", "lanes.support.fallback", "lanes.code.command"):
        assert key in result.err


def lane_blocks(out: str) -> dict[str, dict[str, str]]:
    """``lanebot check`` output as {command: {row label: value}}."""
    blocks: dict[str, dict[str, str]] = {}
    for block in out.strip().split("\n\n")[1:]:
        heading, *rows = block.splitlines()
        label_value = (row.strip().split(None, 1) for row in rows)
        blocks[heading.split()[0]] = {label: value for label, value in label_value}
    return blocks


def test_the_shipped_lanes_file_passes_and_each_lane_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(SHIPPED)

    result = check(capsys, "--config", str(SHIPPED))

    assert result.code == 0 and result.err == ""
    assert result.out.startswith(f"{SHIPPED}: 3 lanes, 3 models — OK\n")
    blocks = lane_blocks(result.out)
    assert sorted(blocks) == sorted(lane.command for lane in config.lanes.values())
    for lane in config.lanes.values():
        rows = blocks[lane.command]
        assert rows["owners"] == ", ".join(lane.owners)
        default, fallback = config.models[lane.default], config.models[lane.fallback]
        assert rows["route"].startswith(
            f"{lane.default} ({default.provider} {default.model}) -> fallback {lane.fallback} "
            f"({fallback.provider} {fallback.model}"
        )
        assert rows["escalation"].startswith(f"{lane.escalate_to} (")
        for keyword in lane.escalate_when.keywords:
            assert f"'{keyword}'" in rows["escalation"]
        assert f"${lane.max_cost_per_run_usd:.2f} per run" in rows["budgets"]
        assert f"${lane.budget_daily_usd:.2f} per day" in rows["budgets"]
        assert f"expires after {lane.review_timeout}" in rows["review"]
    support, contract = blocks["/support"], blocks["/contract"]
    assert "input over 2,500 chars" in support["escalation"]
    assert support["review"].startswith("an owner or reviewer approves each draft (not the requester)")
    assert contract["review"].startswith("two different owners or reviewers approve each draft")
    assert "never after a failed check" in contract["escalation"]


def test_global_options_work_before_and_after_the_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.toml"

    assert main(["--config", str(missing), "check"]) == 1
    before = capsys.readouterr().err
    assert check(capsys, "--config", str(missing)).err == before
    assert str(missing) in before


# --- as real processes ----------------------------------------------------------------------------
def run_process(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LANEBOT_CONFIG", "DATABASE_URL")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)


def console_script() -> Path:
    script = Path(sys.executable).parent / "lanebot"
    assert script.exists(), f"{script} is missing: install the project with scripts/setup"
    return script


def test_the_console_script_refuses_a_broken_file(tmp_path: Path) -> None:
    path = edited(tmp_path, 'fallback = "local"', 'fallback = "medium"', after="[lanes.support]")

    process = run_process([str(console_script()), "check", "--config", str(path)], cwd=tmp_path)

    assert process.returncode == 1
    assert process.stdout == ""
    assert process.stderr.startswith(f"lanebot: {path}: lanes.support.fallback: unknown model 'medium'")


def test_the_console_script_looks_for_lanes_toml_in_the_working_directory(tmp_path: Path) -> None:
    process = run_process([str(console_script()), "check"], cwd=tmp_path)

    assert process.returncode == 1
    assert process.stderr == (
        "lanebot: lanes.toml: cannot read (No such file or directory); "
        "pass --config PATH or set LANEBOT_CONFIG\n"
    )


def test_python_dash_m_runs_the_same_cli(tmp_path: Path) -> None:
    process = run_process([sys.executable, "-m", "bot.cli", "check"], cwd=ROOT)

    assert process.returncode == 0, process.stderr
    assert process.stdout.startswith("lanes.toml: 3 lanes, 3 models — OK")
    assert "/contract  (contract: Summarise a contract with verbatim evidence)" in process.stdout
