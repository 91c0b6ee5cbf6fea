"""One filter grammar for ``lanebot audit --since 7d`` and ``/lanebot audit since:7d``.

The same values are accepted and refused, with the same words, in the terminal and in Slack:
durations (30m, 12h, 7d, 2w), dates and ISO times for both ``since`` and ``until``; unknown lanes,
statuses and models are refused with the valid names and a "did you mean" instead of answering
"no runs match". The CLI runs in process through ``bot.cli.main``; Slack is the real app over
HTTP against the Web API stand-in (``tests.slack_harness``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.exits import Exit
from bot.slack.flows.audit_search import parse_filters
from lanes.audit.records import NewRun
from lanes.errors import InvalidRequestError
from lanes.lifecycle import transition
from storage.audit_filters import RUN_STATUSES, check_lane, check_model, parse_time
from storage.search import AuditQuery
from storage.store import AuditStore
from tests.fakes import Ok
from tests.slack_harness import Bot, lanes_config, running_bot, slack_and_models

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STATUSES = ", ".join(RUN_STATUSES)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LANEBOT_CONFIG", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# --- the grammar ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("12h", NOW - timedelta(hours=12)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("7D", NOW - timedelta(days=7)),
        (" 0d ", NOW),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T09:00Z", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T10:30+01:00", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        ("2026-11-01 09:00:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
    ],
)
def test_times_are_durations_dates_or_iso_times(value: str, expected: datetime) -> None:
    parsed = parse_time(value, NOW)

    assert parsed == expected and parsed.tzinfo is not None


BAD_TIMES = [
    ("yesterday", "'yesterday' is not a time; use a duration back from now (30m, 12h, 7d, 2w)"),
    ("7", "'7' is not a time"),
    ("7x", "'7x' is not a time"),
    ("-3d", "'-3d' is not a time"),
    ("3 d", "'3 d' is not a time"),
    ("2026-02-30", "'2026-02-30' is not a time"),
    ("999999999w", "'999999999w' reaches back before the year 1; use a shorter duration or a date"),
]


@pytest.mark.parametrize(("value", "message"), BAD_TIMES, ids=[v for v, _ in BAD_TIMES])
def test_a_bad_time_is_refused_with_the_same_words_in_the_terminal_and_in_slack(
    value: str, message: str, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    with pytest.raises(InvalidRequestError) as grammar:
        parse_time(value, NOW)
    for key in ("since", "until"):
        with pytest.raises(InvalidRequestError) as slack:
            parse_filters(f'{key}:"{value}"', NOW)
        with pytest.raises(SystemExit) as exit_info:
            main(["audit", f"--{key}={value}", "--database-url", sqlite_url])
        terminal = capsys.readouterr().err

        assert str(grammar.value).startswith(message)
        assert str(slack.value) == f"{key}: {grammar.value}"
        assert exit_info.value.code == Exit.USAGE
        assert terminal.rstrip().endswith(f"argument --{key}: {grammar.value}")


@pytest.mark.parametrize("key", ["since", "until"])
@pytest.mark.parametrize("value", ["30m", "12h", "7d", "2w", "2026-11-01", "2026-11-01T09:00Z"])
def test_the_terminal_and_slack_accept_every_form_for_since_and_until(
    key: str, value: str, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    query = parse_filters(f"{key}:{value}", NOW)

    code = main(["audit", f"--{key}", value, "--database-url", sqlite_url])

    assert getattr(query, key) == parse_time(value, NOW)
    assert code == 0, capsys.readouterr().err


def test_since_after_until_is_refused_everywhere(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    expected = "since (2026-11-19 12:00 UTC) is after until (2026-11-13 12:00 UTC), so nothing can match"

    with pytest.raises(InvalidRequestError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse_filters("since:1d until:1w", NOW)
    code = main(["audit", "--since", "1d", "--until", "1w", "--database-url", sqlite_url])

    assert code == Exit.FAILED
    assert "is after until" in capsys.readouterr().err


# --- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("aproved", f"unknown status 'aproved'; did you mean 'approved'? statuses: {STATUSES}"),
        ("Drafted", f"unknown status 'Drafted'; did you mean 'drafted'? statuses: {STATUSES}"),
        ("done", f"unknown status 'done'; statuses: {STATUSES}"),
    ],
)
def test_an_unknown_status_is_refused_not_searched_for(
    value: str, message: str, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    with pytest.raises(InvalidRequestError) as slack:
        parse_filters(f"status:{value}", NOW)
    with pytest.raises(InvalidRequestError) as query:
        AuditQuery(status=value)
    code = main(["audit", "--status", value, "--database-url", sqlite_url])

    assert str(slack.value) == str(query.value) == message
    assert (code, capsys.readouterr().err) == (Exit.FAILED, f"lanebot: {message}\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--lane", "suport"],
            "unknown lane 'suport'; did you mean 'support'? lanes: code, contract, support",
        ),
        (["--lane", "billing"], "unknown lane 'billing'; lanes: code, contract, support"),
        (
            ["--model", "gpt5-mini"],
            "unknown model 'gpt5-mini'; did you mean 'gpt-5-mini'? models and tiers: "
            "claude-sonnet-4-6, fast, gpt-5-mini, llama3.1:8b, local, strong",
        ),
    ],
    ids=["lane-typo", "lane-unknown", "model-typo"],
)
def test_the_terminal_refuses_an_unknown_lane_or_model_with_a_guess(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code = main(["audit", *argv, "--database-url", sqlite_url, "--config", str(ROOT / "lanes.toml")])

    assert (code, capsys.readouterr()) == (Exit.FAILED, ("", f"lanebot: {message}\n"))


def test_names_the_trail_recorded_are_known_even_when_lanes_toml_dropped_them(store: AuditStore) -> None:
    """The audit trail outlives the config: a lane or model it recorded stays searchable."""
    old = NewRun(id="r-old", lane="billing", requester="U1", created_at=NOW, route_kind="default")
    store.start_run(old, transition("start"))

    assert check_lane("billing", ["support"], store.engine) == "billing"
    with pytest.raises(InvalidRequestError, match=r"did you mean 'billing'\? lanes: billing, support$"):
        check_lane("biling", ["support"], store.engine)
    with pytest.raises(InvalidRequestError, match=r"unknown model 'gpt-4'; models and tiers: fast$"):
        check_model("gpt-4", ["fast"], store.engine)


# --- Slack ----------------------------------------------------------------------------------------
@pytest.fixture
def bot(sqlite_url: str) -> Iterator[Bot]:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok("Thanks; a colleague will follow up today."))
        with running_bot(sqlite_url, models, stub, lanes_config(models)) as running:
            yield running


def test_slack_refuses_the_same_mistakes_with_the_same_words(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    bot.clock.advance(hours=1)
    searches = [
        "audit lane:suport",
        "audit status:aproved",
        "audit since:yesterday",
        "audit lane:support since:2w until:30m",
    ]
    for text in searches:
        bot.command("U0OWNER", text, command="/lanebot")
        bot.settle()

    answers = [str(call.params.get("blocks")) for call in bot.ws.calls("response_url")]
    assert "unknown lane 'suport'; did you mean 'support'? lanes: code, contract, support" in answers[0]
    assert "unknown status 'aproved'; did you mean 'approved'?" in answers[1]
    assert "since: 'yesterday' is not a time; use a duration back from now (30m, 12h, 7d, 2w)" in answers[2]
    assert f"`{run.id[:12]}` support" in answers[3], "durations work for until too"
