"""The Slack app's pure parts: escaping and splitting, view builders, the worker pool's admission,
the manifest, settings, audit filters and the user-group directory."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.playground.slackstub import SlackStubServer, demo_workspace
from bot.runtime.settings import load_settings
from bot.runtime.worker_pool import WorkerPool
from bot.slack import ids, messages, slack_io, views
from bot.slack.flows.audit_search import parse_filters
from bot.slack.manifest import BOT_SCOPES, build_manifest
from bot.slack.user_groups import SlackGroupDirectory
from lanes.config import load_config
from lanes.errors import ConfigError, InvalidRequestError
from lanes.values import Attempt, Reason, Route, RunResult

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def valid(blocks: list[dict[str, object]]) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    assert len(blocks) <= 50


def result(**changes: object) -> RunResult:
    base: dict[str, object] = dict(
        run_id="r" * 32,
        lane="support",
        status="drafted",
        route=Route("fast", "default", (Reason("default", "default for lane support"),)),
        route_kind="default",
        draft="Hello <!channel> & <@U1>",
        message="",
        review_rule="owner",
        tier="fast",
        model_answered="gpt-5-mini-2025",
        cost_usd=0.0004,
        latency_ms=1234.0,
        prompt_id="support/fast",
        prompt_version="abc123",
    )
    base.update(changes)
    return RunResult(**base)  # type: ignore[arg-type]


# --- escaping and splitting ---------------------------------------------------------------------


def test_escape_neutralises_every_slack_control_sequence() -> None:
    assert slack_io.escape("<!channel> <@U123> <!subteam^S1> a&b") == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;!subteam^S1&gt; a&amp;b"
    )
    assert slack_io.unescape(slack_io.escape("<x> & &amp;")) == "<x> & &amp;"


def test_mentions_are_built_only_for_real_ids() -> None:
    assert slack_io.mention("U0OWNER") == "<@U0OWNER>"
    assert slack_io.mention("S0GROUP") == "<!subteam^S0GROUP>"
    assert slack_io.mention("<!channel>") == "&lt;!channel&gt;"


_TEXT = st.lists(
    st.sampled_from([*"ab &<>;\n", "é", "🚀", "👍🏽", "e\u0301", "👨\u200d👩", "🇩🇪"]), max_size=200
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, limit=st.integers(min_value=16, max_value=60))
def test_split_text_loses_nothing_and_respects_the_limit(text: str, limit: int) -> None:
    escaped = slack_io.escape(text)
    pieces = slack_io.split_text(escaped, limit)
    assert "".join(pieces) == escaped
    assert all(slack_io.slack_len(p) <= limit for p in pieces)
    for before, after in itertools.pairwise(pieces):
        assert not before.endswith("\u200d") and after[0] not in "\u200d\u0301🏽"  # graphemes stay whole
        assert not (before.endswith("🇩") and after.startswith("🇪"))
    for piece in pieces[:-1]:
        tail = piece[-5:]
        assert "&" not in tail or ";" in tail[tail.rindex("&") :], piece  # never inside &amp; &lt; &gt;


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    text = "a" * 30 + "\n\n" + "b" * 30 + "\n" + "c" * 10 + " " + "d" * 10
    assert slack_io.split_text(text, 40) == [
        "a" * 30 + "\n\n",
        "b" * 30 + "\n" + "c" * 9 + "c ",
        "d" * 10,
    ] or slack_io.split_text(text, 40)[:2] == ["a" * 30 + "\n\n", "b" * 30 + "\n"]
    assert slack_io.split_text("word " * 20, 22) == ["word " * 4] * 5


def test_an_emoji_with_modifiers_is_never_cut() -> None:
    pieces = slack_io.split_text("x" * 15 + "👍🏽" + "y" * 10, 16)
    assert all("🏽" not in p or "👍🏽" in p for p in pieces)


def test_excerpt_is_one_line_and_ends_with_an_ellipsis_when_cut() -> None:
    assert slack_io.excerpt("a\nb   c") == "a b c"
    cut = slack_io.excerpt("word " * 100, 20)
    assert len(cut) <= 20 and cut.endswith("…")


def test_layout_moves_long_drafts_to_continuations_then_to_a_file() -> None:
    short = slack_io.layout_draft("x" * 2000)
    assert (len(short.messages), short.as_file) == (1, False)
    medium = slack_io.layout_draft("x " * 15_000)
    assert len(medium.messages) == 3 and not medium.as_file and medium.continued
    huge = slack_io.layout_draft("x " * 100_000)
    assert huge.as_file and len(huge.messages) == 1


# --- views ----------------------------------------------------------------------------------


def test_draft_message_escapes_and_validates() -> None:
    ctx = views.DraftContext(reviewers=("U0OWNER", "S0GROUP"), two_person=True)
    blocks = views.draft_message(result(), ["Hello &lt;!channel&gt;"], ctx)
    valid(blocks)
    text = str(blocks)
    assert (
        "<!channel>" not in text and "<@U0OWNER> <!subteam^S0GROUP> (two different approvers needed)" in text
    )
    assert "route default: default for lane support" in text and "$0.0004 · 1.2 s" in text


def test_needs_human_failure_and_confirmation_messages_validate() -> None:
    lane = load_config(REPO / "lanes.toml").lanes["support"]
    human = result(
        status="needs_human",
        message="check max_chars failed",
        failed_check="max_chars",
        alternatives=("one", "two <!here>"),
    )
    valid(views.draft_message(human, ["draft"], views.DraftContext(("U0OWNER",), False)))
    valid(views.needs_human_without_draft(result(status="needs_human", draft=None), lane))
    attempt = Attempt("first", "fast", "openai", "gpt-5-mini", "failed", NOW, 12.0, reason_code="http_500")
    failed = views.failed_message(result(status="failed", draft=None, attempts=(attempt,)), lane)
    valid(failed)
    assert "first fast: failed (http_500)" in str(failed)
    stop = result(
        status="needs_confirmation",
        draft=None,
        route=Route(
            None, "default", (), needs_confirmation=True, estimated_cost_usd=0.12, confirm_tier="fast"
        ),
    )
    blocks = views.confirmation_message(stop, lane, "gpt-5-mini")
    valid(blocks)
    assert blocks[1]["elements"][0]["text"]["text"] == "Run anyway on gpt-5-mini (about $0.12)"


def test_modals_validate_as_slack_views() -> None:
    edit = views.edit_modal("z" * 7000, "{}")
    View(**edit).validate_json()
    inputs = [b for b in edit["blocks"] if b["type"] == "input"]
    assert len(inputs) == 3 and "".join(b["element"]["initial_value"] for b in inputs) == "z" * 7000
    View(**views.reject_modal("{}")).validate_json()


def test_decided_message_keeps_the_text_and_drops_the_buttons() -> None:
    original = views.draft_message(result(), ["Hello"], views.DraftContext(("U0OWNER",), False))
    approved = views.decided_message(original, "Approved")
    valid(approved)
    assert approved[0]["block_id"] == ids.DRAFT_STATUS_BLOCK
    assert not [b for b in approved if b["block_id"] in (ids.DRAFT_ACTIONS_BLOCK, ids.DRAFT_REVIEWERS_BLOCK)]
    edited = views.decided_message(original, "Edited", replacement_text="New <b>")
    assert "New &lt;b&gt;" in str(edited) and "Hello" not in str(edited)
    assert views.draft_text_from_blocks(original) == "Hello"


def test_lanes_and_audit_blocks_validate() -> None:
    valid(views.lanes_blocks(load_config(REPO / "lanes.toml")))
    valid(views.audit_blocks("header", [f"line {i} " + "x" * 100 for i in range(200)]))


def test_elapsed_reads_naturally() -> None:
    assert messages.elapsed(timedelta(seconds=20)) == "less than a minute"
    assert messages.elapsed(timedelta(minutes=2, seconds=5)) == "2 min"
    assert messages.elapsed(timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert messages.elapsed(timedelta(days=3)) == "3 days"


# --- the worker pool ------------------------------------------------------------------------


def test_worker_pool_starts_queues_refuses_and_runs_everything_admitted() -> None:
    pool = WorkerPool(workers=2, queue_limit=1)
    release = threading.Event()
    done: list[int] = []

    def job(n: int) -> None:
        release.wait(5)
        done.append(n)

    answers = [pool.submit(lambda n=n: job(n)) for n in range(4)]
    assert [a.state for a in answers] == ["started", "started", "queued", "refused"]
    assert answers[2].ahead == 0 and answers[3].running == 2 and answers[3].waiting == 1
    release.set()
    pool.shutdown(wait=True)
    assert sorted(done) == [0, 1, 2]
    assert pool.submit(lambda: None).state == "refused"


def test_a_failing_job_is_logged_and_frees_its_slot(caplog: pytest.LogCaptureFixture) -> None:
    pool = WorkerPool(workers=1, queue_limit=0)

    def boom() -> None:
        raise RuntimeError("boom")

    pool.submit(boom, label="run")
    pool.shutdown(wait=True)
    assert pool.in_flight == 0 and "background run failed" in caplog.text


# --- manifest, settings, filters, groups ----------------------------------------------------


def test_manifest_has_each_lane_command_and_only_the_scopes_used() -> None:
    config = load_config(REPO / "lanes.toml")
    socket = build_manifest(config)
    commands = [c["command"] for c in socket["features"]["slash_commands"]]
    assert commands == ["/support", "/contract", "/code", "/lanes", "/lanebot"]
    assert socket["settings"]["socket_mode_enabled"] is True
    assert socket["settings"]["interactivity"] == {"is_enabled": True}
    assert sorted(socket["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert "chat:write.public" not in BOT_SCOPES
    http = build_manifest(config, request_url="https://bot.example.com/slack/events")
    assert http["settings"]["socket_mode_enabled"] is False
    assert all(c["url"] == "https://bot.example.com/slack/events" for c in http["features"]["slash_commands"])
    assert http["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    with pytest.raises(ValueError, match="request_url"):
        build_manifest(config, socket_mode=False)


def test_settings_read_the_environment_and_dotenv_and_hide_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=s3cret\nOPENAI_API_KEY=sk-file\n"
    )
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("LANEBOT_PORT", "4000")
    settings = load_settings(env_file=str(env_file))
    assert settings.bot_token() == "xoxb-from-file" and settings.signing_secret() == "s3cret"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/" and settings.port == 4000
    assert "xoxb-from-file" not in repr(settings) and "s3cret" not in repr(settings)
    assert settings.environment()["OPENAI_API_KEY"] == "sk-file"
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        settings.app_token()


def test_settings_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANEBOT_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="setting LANEBOT_PORT"):
        load_settings(env_file=None)


def test_audit_filters_parse_people_times_and_limits() -> None:
    query = parse_filters(
        "lane:support requester:<@U0ASKER|ada> reviewer:U0OWNER since:7d until:2026-01-06 "
        'text:"double charge" limit:5',
        NOW,
    )
    assert (query.lane, query.requester, query.reviewer, query.text, query.limit) == (
        "support",
        "U0ASKER",
        "U0OWNER",
        "double charge",
        5,
    )
    assert query.since == NOW - timedelta(days=7) and query.until == datetime(2026, 1, 6, tzinfo=UTC)
    for bad in ("colour:red", "limit:0", "since:yesterday", 'text:"open'):
        with pytest.raises(InvalidRequestError):
            parse_filters(bad, NOW)


def test_group_membership_is_read_at_click_time_and_cached_briefly() -> None:
    ticks = [0.0]
    with SlackStubServer(demo_workspace()) as stub:
        client = WebClient(token=stub.workspace.bot_token, base_url=stub.api_url)
        groups = SlackGroupDirectory(client, ttl_s=5, monotonic=lambda: ticks[0])
        assert groups.groups_of("U0REVIEW", frozenset({"S0SUPPORT", "S0LEGAL"})) == {"S0SUPPORT"}
        stub.workspace.set_usergroup_members("S0SUPPORT", ["U0OWNER"])
        assert groups.groups_of("U0REVIEW", frozenset({"S0SUPPORT"})) == {"S0SUPPORT"}  # within the cache
        ticks[0] = 6.0
        assert groups.groups_of("U0REVIEW", frozenset({"S0SUPPORT"})) == frozenset()
        assert groups.groups_of("U0REVIEW", frozenset({"S0NOPE"})) == frozenset()  # lookup error: fail closed


def test_rejection_note_ending_in_a_full_stop_reads_cleanly():
    from bot.slack import messages

    text = messages.rejected("U0OWNER", None, "wrong tone", "Too curt with the customer.")
    assert "customer. The draft was removed" in text and ".." not in text
