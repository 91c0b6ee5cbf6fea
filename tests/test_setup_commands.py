"""``lanebot init`` and ``lanebot doctor``, as a new team runs them: the CLI as a subprocess, the
model keys checked against the loopback model server over the real SDKs, Slack against the stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.playground.slackstub import SlackStubServer, demo_workspace
from tests.fakes import Auth, ModelServer, Ok

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("OPENAI", "ANTHROPIC", "SLACK", "LANEBOT", "DATABASE"))
}


def lanebot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env={**CLEAN_ENV, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_writes_the_three_files_and_never_overwrites(tmp_path: Path) -> None:
    first = lanebot("init", cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert (tmp_path / "lanes.toml").read_text() == (ROOT / "lanes.toml").read_text()
    assert "SLACK_BOT_TOKEN=" in (tmp_path / ".env.example").read_text()
    manifest = json.loads((tmp_path / "slack-manifest.json").read_text())
    printed = lanebot("manifest", cwd=tmp_path)
    assert manifest == json.loads(printed.stdout)
    (tmp_path / "lanes.toml").write_text("# mine\n")

    again = lanebot("init", cwd=tmp_path)

    assert again.returncode == 1
    assert "already exist" in again.stderr and "Traceback" not in again.stderr
    assert (tmp_path / "lanes.toml").read_text() == "# mine\n"


def test_the_packaged_template_is_the_shipped_lanes_toml() -> None:
    """``init`` must hand a tool install exactly what the repository documents."""
    assert (ROOT / "bot/cli/templates/lanes.toml").read_text() == (ROOT / "lanes.toml").read_text()


def test_doctor_offline_in_a_fresh_folder_passes_and_says_what_remains(tmp_path: Path) -> None:
    assert lanebot("init", cwd=tmp_path).returncode == 0

    doctor = lanebot("doctor", "--offline", cwd=tmp_path)

    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    out = doctor.stdout
    assert "ok    config" in out
    assert "todo  database" in out and "lanebot db upgrade" in out
    assert "todo  slack" in out and "SLACK_BOT_TOKEN" in out
    assert "still to set up" in out and "Traceback" not in doctor.stderr
    assert not (tmp_path / "lanebot.db").exists()  # a check creates nothing


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[tuple[Path, ModelServer, SlackStubServer, dict[str, str]]]:
    with ModelServer() as models, SlackStubServer(demo_workspace()) as slack:
        text = (ROOT / "lanes.toml").read_text().replace("http://localhost:11434/v1", models.openai_base_url)
        (tmp_path / "lanes.toml").write_text(text)
        env = {
            **models.env(),
            "SLACK_BOT_TOKEN": slack.workspace.bot_token,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path}/audit.db",
        }
        assert lanebot("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
        yield tmp_path, models, slack, env


def test_doctor_passes_a_working_deployment(deployment) -> None:  # type: ignore[no-untyped-def]
    folder, models, _slack, env = deployment
    models.always("*", Ok("pong"))

    doctor = lanebot("doctor", cwd=folder, env=env)

    assert doctor.returncode == 0, doctor.stdout
    assert "Ready." in doctor.stdout
    for check in (
        "config",
        "database",
        "model fast",
        "model strong",
        "model local",
        "slack scopes",
        "digest channel",
    ):
        assert f"ok    {check}" in doctor.stdout
    assert len(models.requests) == 3  # one one-token call per tier


def test_doctor_names_a_rejected_key_a_missing_scope_and_an_unreachable_channel(deployment) -> None:  # type: ignore[no-untyped-def]
    folder, models, slack, env = deployment
    models.always("*", Ok("pong"))
    models.always("gpt-5-mini", Auth())
    slack.workspace.bot_scopes = ("chat:write", "commands")
    (folder / "lanes.toml").write_text(
        (folder / "lanes.toml").read_text().replace('"C0DIGEST"', '"C0RANDOM"')
    )

    doctor = lanebot("doctor", cwd=folder, env=env)

    assert doctor.returncode == 1
    out = doctor.stdout
    assert "FAIL  model fast" in out and "OPENAI_API_KEY" in out
    assert "ok    model strong" in out
    assert "FAIL  slack scopes" in out and "app_mentions:read" in out
    assert "FAIL  digest channel" in out and "/invite @lanebot" in out
    assert "Traceback" not in doctor.stderr


def test_doctor_with_no_keys_lists_them_as_todo(deployment) -> None:  # type: ignore[no-untyped-def]
    folder, _models, _slack, env = deployment
    env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}

    doctor = lanebot("doctor", cwd=folder, env=env)

    assert "todo  model fast" in doctor.stdout and "set OPENAI_API_KEY" in doctor.stdout
    assert "todo  model strong" in doctor.stdout and "set ANTHROPIC_API_KEY" in doctor.stdout
