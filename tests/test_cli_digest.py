"""``lanebot digest``: printed as text or JSON, or posted once to the digest channel.

Posting uses the real ``slack_sdk.WebClient`` (``SLACK_BOT_TOKEN``, ``SLACK_API_URL``) against the
project's Web API stand-in on a loopback port, so what reaches "Slack" is what a workspace would
get; the runs are made by ``lanebot ask --offline`` on a fresh SQLite store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.exits import Exit
from bot.digest.weeks import last_completed_week, week_of
from tests.slack_harness import SlackStubServer, demo_workspace

ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0DIGEST"
TIMEZONE = "Europe/Berlin"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LANEBOT_CONFIG", "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_API_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStubServer]:
    with SlackStubServer(demo_workspace()) as server:
        monkeypatch.setenv("SLACK_BOT_TOKEN", server.workspace.bot_token)
        monkeypatch.setenv("SLACK_API_URL", server.api_url)
        yield server


class Cli:
    def __init__(self, capsys: pytest.CaptureFixture[str], database: str, config: Path = ROOT / "lanes.toml"):
        self.capsys, self.database, self.config = capsys, database, config

    def __call__(self, *argv: str) -> Outcome:
        self.capsys.readouterr()
        code = main([*argv, "--database-url", self.database, "--config", str(self.config)])
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> Cli:
    return Cli(capsys, sqlite_url)


def this_week() -> str:
    return week_of(datetime.now(UTC), TIMEZONE).label


def test_digest_prints_the_last_completed_week_by_default(cli: Cli) -> None:
    result = cli("digest")

    assert result.code == 0, result.err
    assert result.out.startswith(
        f"Weekly AI lanes digest · {last_completed_week(datetime.now(UTC), TIMEZONE)}"
    )
    assert result.err == ""


def test_digest_of_a_given_week_as_json_counts_its_runs(cli: Cli) -> None:
    for text in ("Where is my parcel?", "Can I change my address?"):
        assert cli("ask", "support", text, "--offline").code == 0

    result = cli("digest", "--week", this_week(), "--json")

    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["week"] == this_week() and data["timezone"] == TIMEZONE
    assert data["total"]["runs"] == 2
    assert [lane["runs"] for lane in data["lanes"] if lane["lane"] == "support"] == [2]


def test_digest_refuses_a_week_it_cannot_read(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("digest", "--week", "2026-W60")

    assert exit_info.value.code == Exit.USAGE
    assert "2026 has no ISO week 60" in cli.capsys.readouterr().err


def test_post_sends_the_digest_once_whatever_the_number_of_tries(cli: Cli, slack: SlackStubServer) -> None:
    assert cli("ask", "support", "Where is my parcel?", "--offline").code == 0
    week = this_week()

    first = cli("digest", "--post", "--week", week)
    second = cli("digest", "--post", "--week", week, "--json")

    assert (first.code, first.err) == (0, "")
    assert first.out == f"the digest of {week} was posted to channel {CHANNEL}\n"
    assert second.code == 0
    assert json.loads(second.out) == {"week": week, "channel": CHANNEL, "outcome": "already_posted"}
    (posted,) = slack.workspace.history(CHANNEL)
    assert posted.blocks[0]["text"]["text"] == f"Weekly AI lanes digest · {week}"


def test_post_without_a_bot_token_says_what_to_set_and_touches_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    database = tmp_path / "audit.db"

    result = Cli(cli.capsys, f"sqlite:///{database}")("digest", "--post")

    assert result.code == Exit.FAILED and result.out == ""
    assert result.err == (
        "lanebot: SLACK_BOT_TOKEN is not set; put the Bot User OAuth Token (xoxb-...) in the environment "
        "or in .env\n"
    )
    assert not database.exists(), "the settings are checked before the store is opened"


def test_post_slack_refuses_is_explained_and_can_be_retried(cli: Cli, slack: SlackStubServer) -> None:
    slack.fail_next("chat.postMessage", "not_in_channel")

    refused = cli("digest", "--post", "--week", "2026-W47")
    retried = cli("digest", "--post", "--week", "2026-W47")

    assert refused.code == Exit.FAILED and refused.out == ""
    assert refused.err == (
        f"lanebot: Slack refused the digest of 2026-W47 for channel {CHANNEL} (not_in_channel); "
        "invite the bot to the digest channel (/invite @lanebot)\n"
    )
    assert retried.code == 0 and "was posted" in retried.out
    assert len(slack.workspace.history(CHANNEL)) == 1


def test_post_when_slack_cannot_be_reached(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens on port 9

    result = cli("digest", "--post", "--week", "2026-W47")

    assert result.code == Exit.FAILED and "Traceback" not in result.err
    assert result.err.startswith(
        "lanebot: could not reach Slack at http://127.0.0.1:9/api/ to post the digest"
    )
    assert "check the network, and SLACK_API_URL" in result.err
    assert "xoxb-test-token" not in result.err


def test_post_without_a_digest_channel_names_the_setting(
    cli: Cli, slack: SlackStubServer, tmp_path: Path
) -> None:
    text = (ROOT / "lanes.toml").read_text(encoding="utf-8").replace(f'channel = "{CHANNEL}"', 'channel = ""')
    config = tmp_path / "lanes.toml"
    config.write_text(text, encoding="utf-8")

    result = Cli(cli.capsys, cli.database, config)("digest", "--post")

    assert result.code == Exit.FAILED
    fix = 'add [digest] channel = "C0123456789" (a channel id)'
    assert result.err == f"lanebot: {config}: digest: no channel to post to; {fix}\n"
