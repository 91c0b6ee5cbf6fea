"""The Slack edge's pure parts (issue 10): the signature check, the strict body reader, the payload
models, the response_url origins, the hidden-character cleaner, escaping and the draft frame."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.playground.slackstub import demo_workspace
from bot.playground.slackstub.payload_factory import PayloadFactory
from bot.slack import draft_frame, ids, payloads, slack_io, views
from bot.slack.payloads import BlockAction, ModalBinding, SlashCommand, ViewSubmission
from bot.slack.response_urls import ResponseOrigins
from bot.slack.safe_text import clean
from bot.slack.verification import Refusal, SignatureCheck, parse_body

SECRET = "unit-signing-secret"
NOW = 1_800_000_000
COMMANDS = ("/support", "/lanes", "/lanebot")

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
INVISIBLE = "\u200b\u200c\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\U000e0001\U000e0041\U000e007f"
EMOJI_JOINED = "👩\u200d💻"


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    return (
        "v0="
        + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    )


# --- the signature ----------------------------------------------------------------------------


def test_a_valid_signature_within_five_minutes_passes_and_anything_else_is_401() -> None:
    check = SignatureCheck(SECRET, clock=lambda: NOW)
    body = b"command=/support&text=hi"
    ts = str(NOW - 120)
    assert check.refusal(body, ts, sign(body, ts)) is None
    refusals = [
        check.refusal(body, None, sign(body, ts)),
        check.refusal(body, "", sign(body, ts)),
        check.refusal(body, "abc", sign(body, ts)),
        check.refusal(body, "١٧٠٠٠٠٠٠٠٠", sign(body, ts)),
        check.refusal(body, f"{ts}.0", sign(body, ts)),
        check.refusal(body, str(NOW - 301), sign(body, str(NOW - 301))),
        check.refusal(body, str(NOW + 301), sign(body, str(NOW + 301))),
        check.refusal(body, ts, None),
        check.refusal(body, ts, sign(body, ts).upper()),
        check.refusal(body, ts, sign(body, ts, "other")),
        check.refusal(body + b" ", ts, sign(body, ts)),
    ]
    assert all(isinstance(r, Refusal) and r.status == 401 for r in refusals)


@settings(max_examples=300, deadline=None)
@given(timestamp=st.text(max_size=30), signature=st.text(max_size=80), body=st.binary(max_size=200))
def test_no_header_value_makes_the_check_raise_or_pass(timestamp: str, signature: str, body: bytes) -> None:
    refusal = SignatureCheck(SECRET, clock=lambda: NOW).refusal(body, timestamp, signature)
    assert refusal is not None and refusal.status == 401
    assert re.fullmatch(r"[A-Za-z0-9 -]+", refusal.reason)  # fixed words, never the header's value


# --- the body ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
)
def test_any_body_is_a_json_object_or_a_400(body: bytes, content_type: str) -> None:
    parsed = parse_body(body, content_type)
    assert isinstance(parsed, dict) or (isinstance(parsed, Refusal) and parsed.status == 400)


def test_the_body_is_read_as_slack_meant_it() -> None:
    form = "application/x-www-form-urlencoded; charset=utf-8"
    assert parse_body(b"command=%2Fsupport&text=the+payload+failed", form) == {
        "command": "/support",
        "text": "the payload failed",
    }
    assert parse_body(b"payload=%7B%22type%22%3A%22block_actions%22%7D", form) == {"type": "block_actions"}
    assert parse_body(b'{"type": "event_callback"}', "Application/JSON") == {"type": "event_callback"}
    for bad, kind in (
        (b"payload=%5B1%5D", form),
        (b"a=1&a=2", form),
        (b"", form),
        (b"\xff", form),
        (b"[]", "application/json"),
        (b"command=/x", "text/plain"),
    ):
        assert isinstance(parse_body(bad, kind), Refusal), bad


# --- payload models ---------------------------------------------------------------------------


@pytest.fixture
def factory() -> PayloadFactory:
    return PayloadFactory(demo_workspace(), response_url_base="https://hooks.slack.com")


def test_the_stand_ins_payloads_fit_the_models(factory: PayloadFactory) -> None:
    command = factory.slash_command(user="U0ASKER", channel="C0LANES", command="/support", text="hi")
    parsed = SlashCommand.model_validate(command.data)
    assert (parsed.user_id, parsed.channel_id, parsed.team_id) == ("U0ASKER", "C0LANES", "T0LANEBOT")
    assert payloads.refusal(command.data, COMMANDS) is None
    assert (
        payloads.refusal({**command.data, "command": "/other"}, COMMANDS) == "not one of this app's commands"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", None),
        ("user_id", ""),
        ("user_id", "U"),
        ("user_id", "u0asker"),
        ("user_id", "U0ASKER\n"),
        ("channel_id", None),
        ("channel_id", "#general"),
        ("team_id", None),
        ("team_id", "X0TEAM"),
        ("trigger_id", None),
        ("trigger_id", ""),
        ("trigger_id", "a b"),
        ("response_url", "ftp://hooks.slack.com/x"),
        ("response_url", "not a url"),
        ("command", "/"),
        ("text", 42),
    ],
)
def test_a_command_missing_or_misshaping_a_field_is_refused(
    factory: PayloadFactory, field: str, value: Any
) -> None:
    data = dict(factory.slash_command(user="U0ASKER", channel="C0LANES", command="/support").data)
    if value is None:
        data.pop(field)
    else:
        data[field] = value
    reason = payloads.refusal(data, COMMANDS)
    assert reason is not None and field in reason


SECRETISH = st.text(alphabet=st.characters(codec="utf-8"), min_size=8, max_size=40).filter(
    lambda s: s.strip() and s not in payloads._FIELD_NAMES
)


@settings(max_examples=150, deadline=None)
@given(value=SECRETISH, key=SECRETISH)
def test_a_refusal_reason_never_repeats_a_value_or_key_from_the_body(value: str, key: str) -> None:
    body = {
        "type": "view_submission",
        "user": {"id": value},
        "view": {"id": "V1", "callback_id": ids.EDIT_MODAL, "state": {"values": {key: value}}},
    }
    reason = payloads.refusal(body, COMMANDS)
    assert reason is not None
    assert value not in reason and key not in reason


def test_clicks_and_submissions_need_their_people_messages_and_binding() -> None:
    click = {
        "type": "block_actions",
        "user": {"id": "U0OWNER"},
        "channel": {"id": "C0LANES"},
        "message": {"ts": "1700000000.000100", "blocks": []},
        "actions": [{"action_id": ids.APPROVE, "value": "run1"}],
        "trigger_id": "1.2.abc",
    }
    assert payloads.refusal(click, COMMANDS) is None
    assert BlockAction.model_validate(click).message_ts == "1700000000.000100"
    no_message = {**click, "message": None}
    assert payloads.refusal(no_message, COMMANDS) == "a button click without its channel and message"
    assert payloads.refusal({**click, "actions": [{"action_id": "other"}]}, COMMANDS) is not None
    binding = ModalBinding(run="run1", channel="C0LANES", ts="1.2", by="U0OWNER", edits=0)
    view = {"id": "V1", "callback_id": ids.REJECT_MODAL, "private_metadata": binding.dumps()}
    submission = {"type": "view_submission", "user": {"id": "U0OWNER"}, "view": view}
    assert payloads.refusal(submission, COMMANDS) is None
    assert ModalBinding.loads(ViewSubmission.model_validate(submission).view.private_metadata) == binding
    for metadata in ("", "{}", '{"run": "run1"}', binding.dumps().replace("U0OWNER", "owner"), "[]"):
        bad = {**submission, "view": {**view, "private_metadata": metadata}}
        assert payloads.refusal(bad, COMMANDS) is not None, metadata
    with pytest.raises(ValidationError):
        ModalBinding.loads(binding.dumps()[:-1] + ', "extra": 1}')


def test_events_other_than_mentions_and_closed_modals_are_ignored_and_unknown_kinds_refused() -> None:
    envelope = {
        "type": "event_callback",
        "team_id": "T0LANEBOT",
        "event_id": "Ev01",
        "event": {"type": "message"},
    }
    assert payloads.refusal(envelope, COMMANDS) == payloads.IGNORED
    mention = {**envelope, "event": {"type": "app_mention", "channel": "C0LANES", "ts": "1.2"}}
    assert payloads.refusal(mention, COMMANDS) is None
    assert payloads.refusal({"type": "view_closed"}, COMMANDS) == payloads.IGNORED
    for kind in ("shortcut", "message_action", "block_suggestion", "dialog_submission", None, 3):
        assert payloads.refusal({"type": kind}, COMMANDS) == "not a payload type this app handles"


# --- response_url origins ---------------------------------------------------------------------


def test_only_slacks_hooks_host_and_the_configured_api_host_may_be_answered() -> None:
    origins = ResponseOrigins.for_api_url("http://127.0.0.1:8123/api/")
    assert origins.allows("https://hooks.slack.com/commands/T1/2/abc")
    assert origins.allows("https://HOOKS.slack.com:443/actions/T1/2/abc")
    assert origins.allows("http://127.0.0.1:8123/response/7")
    for url in (
        "http://hooks.slack.com/commands/x",
        "https://hooks.slack.com.evil.example/x",
        "https://hooks.slack.com@evil.example/x",
        "https://user:pw@hooks.slack.com/x",
        "https://evil.example/?u=https://hooks.slack.com",
        "http://127.0.0.1:8124/response/7",
        "http://localhost:8123/response/7",
        "https://hooks.slack.com:8443/x",
        "javascript:alert(1)",
        "",
        "https://[::1/x",
    ):
        assert not origins.allows(url), url
    assert not ResponseOrigins.for_api_url("https://slack.com/api/").allows(
        "http://127.0.0.1:8123/response/7"
    )


# --- hidden characters, escaping, the frame ---------------------------------------------------


def _visible_problem(text: str) -> list[str]:
    """Hidden characters left in ``text`` (a joiner is allowed only inside an emoji sequence)."""
    problems = []
    for i, ch in enumerate(text):
        if ch == "\u200d":
            if not (0 < i < len(text) - 1 and ord(text[i - 1]) > 0x2000 and ord(text[i + 1]) > 0x2000):
                problems.append("ZWJ outside an emoji")
        elif (
            ch in BIDI
            or ch in INVISIBLE
            or unicodedata.category(ch) == "Cf"
            or 0xD800 <= ord(ch) <= 0xDFFF
            or ch == "\x00"
        ):
            problems.append(f"U+{ord(ch):04X}")
    return problems


_HOSTILE = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from([*BIDI, *INVISIBLE, "\u200d", "\ufe0f", "\ud800", "\x00", "<", ">", "&", "*", ":"]),
        st.sampled_from(
            ["<!channel>", "<@U0OWNER>", "<!subteam^S1|x>", "<http://x|y>", EMOJI_JOINED, "❤\ufe0f"]
        ),
    ),
    max_size=80,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=_HOSTILE)
def test_any_text_posted_has_no_hidden_characters_and_pings_nobody(text: str) -> None:
    cleaned = clean(text)
    assert _visible_problem(cleaned) == []
    assert clean(cleaned) == cleaned
    escaped = slack_io.escape(text)
    assert "<" not in escaped and ">" not in escaped  # so no <!channel>, <@U…> or <http…|…> survives
    assert slack_io.unescape(escaped) == cleaned
    quoted = slack_io.quote(escaped)
    assert all(line.startswith(">") for line in quoted.split("\n"))
    assert slack_io.unquote(quoted) == escaped


def test_every_format_character_is_removed_and_emoji_stay_whole() -> None:
    format_chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf" and c != 0x200D]
    assert clean("a" + "".join(format_chars) + "b") == "ab"
    assert (
        clean(f"{EMOJI_JOINED} ❤\ufe0f 1\ufe0f\u20e3 🏳\ufe0f\u200d🌈")
        == f"{EMOJI_JOINED} ❤\ufe0f 1\ufe0f\u20e3 🏳\ufe0f\u200d🌈"
    )
    assert clean("Appr\u200doved x\ufe0f \u2028next") == "Approved x \nnext"
    assert clean("\ud83d lone \x00nul") == "\ufffd lone nul"


@settings(max_examples=200, deadline=None)
@given(text=_HOSTILE, limit=st.integers(min_value=16, max_value=80))
def test_quoted_sections_stay_within_the_limit_and_read_back_exactly(text: str, limit: int) -> None:
    escaped = slack_io.escape(text)
    pieces = slack_io.split_text(escaped, limit, measure=slack_io.quoted_len)
    assert "".join(pieces) == escaped
    assert all(slack_io.quoted_len(p) <= limit or len(p) == 1 for p in pieces)
    blocks = draft_frame.quoted_sections(pieces)
    assert draft_frame.draft_text(blocks) == clean(text) or not pieces


def test_the_frame_marks_whose_text_it_is_and_how_many_edits_it_shows() -> None:
    blocks = [
        draft_frame.header("Draft from *model*, not yet approved", 0),
        *draft_frame.text_blocks(":white_check_mark: *Approved* by <@U0OWNER>\nline two"),
    ]
    assert blocks[0]["type"] == "context" and blocks[0]["block_id"] == f"{ids.DRAFT_HEADER_BLOCK}0"
    assert blocks[1]["text"]["text"] == ">:white_check_mark: *Approved* by &lt;@U0OWNER&gt;\n>line two"
    assert views.draft_text_from_blocks(blocks) == ":white_check_mark: *Approved* by <@U0OWNER>\nline two"
    assert draft_frame.shown_edits(blocks) == 0
    assert draft_frame.shown_edits([draft_frame.header("Edited", 2)]) == 2
    assert draft_frame.shown_edits([{"block_id": f"{ids.DRAFT_HEADER_BLOCK}x"}]) == 0
    assert json.dumps(blocks)  # JSON-ready
