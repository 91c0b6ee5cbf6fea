"""Hostile input at the Slack edge (issue 10), through the real entry point: signed (and forged) HTTP
requests to the bot as ``lanebot serve`` runs it, against the Slack stand-in and the model servers.

1. An unverified or unreadable request gets its 401/400 and nothing else: no outbound call (not even
   to the response_url it names), no Web API call, no database row, no log line with its values.
2. A signed payload that does not fit the shapes lanebot accepts is refused with a logged reason,
   never guessed at (no run, no idempotency claim built from missing parts).
3. A model's draft cannot pass for lanebot's own words: it is framed and quoted, pings nobody, and
   carries no bidi or invisible characters (nor does anything else posted).
4. Modals are bound to their run and checked at submit time; an owner who may not edit their own
   request is told before a modal opens.
5. Two-person review: the second approver sees and approves the first approver's edit; a click on
   the older text is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest
from sqlalchemy import text

from bot.playground.slackstub import Payload
from bot.playground.slackstub.signing import signature
from bot.slack import ids, slack_io, views
from storage.search import AuditQuery
from tests.fakes import Ok
from tests.slack_harness import (
    CHANNEL,
    SIGNING_SECRET,
    Bot,
    assert_blocks_valid,
    lanes_config,
    posted_json,
    running_bot,
    slack_and_models,
)

DRAFT = "Thanks for your message; a colleague will follow up today."
NO_CHECKS = {"checks": {}}
MARK = "PLANTED-hostile-7f3a9c"
"""A value planted in request bodies; it must never appear in a log line."""
FORM = "application/x-www-form-urlencoded"


class Attacker:
    """An HTTP server on loopback that records every request: the address a forged response_url names."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/collect/{MARK}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """One bot for the refusal families: every case must leave it untouched."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile')}/audit.db"
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        with running_bot(url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})) as running:
            yield running


@pytest.fixture(scope="module")
def attacker() -> Iterator[Attacker]:
    server = Attacker()
    yield server
    server.close()


@pytest.fixture
def bot(sqlite_url: str) -> Iterator[Bot]:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        config = lanes_config(models, lanes={"support": NO_CHECKS, "code": NO_CHECKS})
        with running_bot(sqlite_url, models, stub, config) as running:
            yield running


def footprint(bot: Bot, attacker: Attacker) -> dict[str, int]:
    """Everything a request could have touched: rows, claims, Slack calls, model calls, the attacker."""
    counts: dict[str, int] = {}
    with bot.store.engine.connect() as conn:
        for table in ("runs", "decisions", "processed_events", "job_claims"):
            counts[table] = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    counts["slack calls"] = len(bot.ws.calls())
    counts["model calls"] = len(bot.models.requests)
    counts["attacker hits"] = len(attacker.hits)
    return counts


def command_fields(bot: Bot, attacker: Attacker, **changes: str | None) -> dict[str, str]:
    """A real slash command's fields, its response_url pointing at the attacker, with ``changes``
    (None removes a field)."""
    payload = bot.sim.payloads.slash_command(user="U0ASKER", channel=CHANNEL, command="/support", text=MARK)
    fields = {**payload.data, "response_url": attacker.url}
    for key, value in changes.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


def post(bot: Bot, body: bytes | str, headers: dict[str, str]) -> int:
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(
        f"{bot.http.url}/slack/events", data=data, headers=headers, method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)


def signed_headers(body: bytes | str, content_type: str = FORM, **override: str | None) -> dict[str, str]:
    """Headers Slack would send for ``body`` (signed with the real secret), with ``override``."""
    data = body.encode() if isinstance(body, str) else body
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + data
    headers: dict[str, str | None] = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest(),
    }
    headers.update(override)
    return {k: v for k, v in headers.items() if v is not None}


def assert_no_values_logged(caplog: pytest.LogCaptureFixture, *values: str) -> None:
    for record in caplog.records:
        line = f"{record.getMessage()} {record.__dict__}"
        for value in values:
            assert value not in line, f"{record.name} logged a value from the request: {line[:300]}"


# --- 1. nothing is done for an unverified request -------------------------------------------


def _now() -> int:
    return int(time.time())


UNVERIFIED = {
    "no timestamp": lambda sig, ts: {"X-Slack-Request-Timestamp": None},
    "empty timestamp": lambda sig, ts: {"X-Slack-Request-Timestamp": ""},
    "non-numeric timestamp": lambda sig, ts: {
        "X-Slack-Request-Timestamp": "abc",
        "X-Slack-Signature": "v0=0",
    },
    "non-numeric timestamp, valid-looking signature": lambda sig, ts: {"X-Slack-Request-Timestamp": "1e9"},
    "superscript digits": lambda sig, ts: {"X-Slack-Request-Timestamp": ts[:-1] + "²"},
    "fractional timestamp": lambda sig, ts: {"X-Slack-Request-Timestamp": f"{ts}.5"},
    "huge timestamp": lambda sig, ts: {"X-Slack-Request-Timestamp": "9" * 40},
    "stale timestamp": lambda sig, ts: {"X-Slack-Request-Timestamp": str(int(ts) - 600)},
    "future timestamp": lambda sig, ts: {"X-Slack-Request-Timestamp": str(int(ts) + 600)},
    "no signature": lambda sig, ts: {"X-Slack-Signature": None},
    "empty signature": lambda sig, ts: {"X-Slack-Signature": ""},
    "malformed signature": lambda sig, ts: {"X-Slack-Signature": "v0=not-hex"},
    "other scheme": lambda sig, ts: {"X-Slack-Signature": "v1=" + sig[3:]},
    "upper-case hex": lambda sig, ts: {"X-Slack-Signature": "v0=" + sig[3:].upper()},
    "wrong secret": lambda sig, ts: {"X-Slack-Signature": signature("not-the-secret", ts, "")},
}


@pytest.mark.parametrize("case", sorted(UNVERIFIED))
def test_an_unverified_command_gets_401_and_nothing_else(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.DEBUG)
    body = urlencode(command_fields(shared, attacker))
    headers = signed_headers(body)
    headers.update(UNVERIFIED[case](headers["X-Slack-Signature"], headers["X-Slack-Request-Timestamp"]))
    before = footprint(shared, attacker)

    status = post(shared, body, {k: v for k, v in headers.items() if v is not None})
    shared.settle()

    assert status == 401
    assert footprint(shared, attacker) == before
    assert_no_values_logged(caplog, MARK, attacker.url)


def test_a_tampered_body_or_replayed_signature_gets_401_and_nothing_else(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = urlencode(command_fields(shared, attacker))
    headers = signed_headers(body)
    tampered = body.replace("U0ASKER", "U0OWNER")
    other = urlencode(command_fields(shared, attacker, text=f"{MARK} other"))
    before = footprint(shared, attacker)

    assert post(shared, tampered, headers) == 401  # the signature of another body
    assert post(shared, other, headers) == 401
    assert post(shared, body + "&x=1", headers) == 401
    shared.settle()

    assert footprint(shared, attacker) == before
    assert_no_values_logged(caplog, MARK, attacker.url)


@pytest.mark.parametrize(
    "kind",
    ["block_actions", "view_submission", "event_callback"],
)
def test_unverified_interactions_and_events_do_nothing_either(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    caplog.set_level(logging.DEBUG)
    data: dict[str, Any] = {
        "type": kind,
        "user": {"id": "U0OWNER"},
        "trigger_id": "1.2.abc",
        "response_url": attacker.url,
        "actions": [{"action_id": ids.APPROVE, "value": MARK}],
        "view": {"id": "V1", "callback_id": ids.EDIT_MODAL, "private_metadata": MARK},
        "team_id": "T0LANEBOT",
        "event_id": "Ev0001",
        "event": {"type": "app_mention", "channel": CHANNEL, "ts": "1.2", "text": MARK},
    }
    before = footprint(shared, attacker)
    for body, content_type in (
        (urlencode({"payload": json.dumps(data)}), FORM),
        (json.dumps(data), "application/json"),
    ):
        headers = signed_headers(body, content_type, **{"X-Slack-Request-Timestamp": "not-a-time"})
        assert post(shared, body, headers) == 401
        assert post(shared, body, signed_headers(body, content_type, **{"X-Slack-Signature": None})) == 401
    shared.settle()

    assert footprint(shared, attacker) == before
    assert_no_values_logged(caplog, MARK, attacker.url)


MALFORMED: dict[str, tuple[bytes | str, str]] = {
    "plain text content type": ("command=/support&text=hi", "text/plain"),
    "octet stream": (bytes(range(256)), "application/octet-stream"),
    "multipart": (
        "--x\r\nContent-Disposition: form-data; name=command\r\n\r\n/support\r\n--x--",
        "multipart/form-data; boundary=x",
    ),
    "no content type": ("command=/support", ""),
    "invalid utf-8": (b"command=/support&text=\xff\xfe", FORM),
    "empty form": ("", FORM),
    "payload not json": ("payload=%7Bnot-json", FORM),
    "payload a list": (urlencode({"payload": "[1, 2]"}), FORM),
    "payload a string": (urlencode({"payload": '"block_actions"'}), FORM),
    "payload null": (urlencode({"payload": "null"}), FORM),
    "json a list": ("[1, 2, 3]", "application/json"),
    "json truncated": ('{"type": "event_callback", "event": {', "application/json"),
    "json nested too deep": ("[" * 100_000 + "]" * 100_000, "application/json"),
    "a field twice": ("command=/support&user_id=U0ASKER&user_id=U0OWNER", FORM),
}


def test_a_signed_but_unreadable_request_gets_400_and_nothing_else(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = footprint(shared, attacker)

    statuses = {
        case: post(shared, body, signed_headers(body, kind)) for case, (body, kind) in MALFORMED.items()
    }
    shared.settle()

    assert statuses == dict.fromkeys(MALFORMED, 400)
    assert footprint(shared, attacker) == before


def test_a_request_dispatched_straight_into_the_app_is_verified_there_too(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt's own check raised on a non-numeric timestamp and the error handler then POSTed to the
    body's response_url; the app's first middleware now refuses it before anything else."""
    caplog.set_level(logging.DEBUG)
    body = urlencode(command_fields(shared, attacker))
    before = footprint(shared, attacker)
    for timestamp in ("abc", "", "١٧٠٠٠٠٠٠٠٠", str(_now() - 3600), str(_now())):
        headers = {"content-type": FORM, "x-slack-request-timestamp": timestamp, "x-slack-signature": "v0=1"}
        response = shared.runtime.app.dispatch(BoltRequest(body=body, headers=headers))
        assert response.status == 401
    shared.settle()

    assert footprint(shared, attacker) == before
    assert_no_values_logged(caplog, MARK, attacker.url)


def test_a_verified_request_never_answers_a_response_url_off_slacks_hosts(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: even a correctly signed body cannot point the bot at another host."""
    attacker = Attacker()
    try:
        real = bot.sim.payloads.slash_command(
            user="U0OWNER", channel=CHANNEL, command="/lanebot", text="audit"
        )
        fields = {**real.data, "response_url": attacker.url}
        body = urlencode(fields)
        assert post(bot, body, signed_headers(body)) == 200
        payload = bot.sim.payloads.slash_command(
            user="U0ASKER", channel="C0RANDOM", command="/support", text="hi"
        )
        body = urlencode({**payload.data, "response_url": attacker.url})  # the bot is not in C0RANDOM
        assert post(bot, body, signed_headers(body)) == 200
        bot.settle()

        assert attacker.hits == []
        assert bot.latest_run().status == "failed"  # the run itself is still recorded and refused
    finally:
        attacker.close()


# --- 2. signed but malformed payloads are refused, not guessed --------------------------------


INCOMPLETE_COMMANDS = {
    "no user_id": {"user_id": None},
    "no channel_id": {"channel_id": None},
    "no trigger_id": {"trigger_id": None},
    "empty trigger_id": {"trigger_id": ""},
    "no team_id": {"team_id": None},
    "user_id not an id": {"user_id": "<@U0OWNER>"},
    "lower-case user id": {"user_id": "u0asker"},
    "channel not a channel": {"channel_id": "U0ASKER"},
    "response_url not a url": {"response_url": "javascript:alert(1)"},
    "command without a slash": {"command": "support"},
}


@pytest.mark.parametrize("case", sorted(INCOMPLETE_COMMANDS))
def test_a_signed_command_missing_a_required_field_is_refused_with_a_logged_reason(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.INFO)
    body = urlencode(command_fields(shared, attacker, **INCOMPLETE_COMMANDS[case]))
    before = footprint(shared, attacker)

    status = post(shared, body, signed_headers(body))
    shared.settle()

    assert status == 400
    assert footprint(shared, attacker) == before
    refused = [r for r in caplog.records if r.getMessage() == "Slack payload refused"]
    assert len(refused) == 1 and refused[0].payload_kind == "slash_command"  # type: ignore[attr-defined]
    field = next(iter(INCOMPLETE_COMMANDS[case]))
    assert field in refused[0].reason  # type: ignore[attr-defined]
    assert_no_values_logged(caplog, MARK, attacker.url, "<@U0OWNER>", "javascript")


def test_commands_without_trigger_ids_no_longer_share_one_idempotency_key(bot: Bot) -> None:
    """Before: both were accepted under the key ``slack:T…:`` and the second dropped as a duplicate."""
    statuses = []
    for text_ in ("first request", "second request"):
        payload = bot.sim.payloads.slash_command(
            user="U0ASKER", channel=CHANNEL, command="/support", text=text_
        )
        fields = {k: v for k, v in payload.data.items() if k != "trigger_id"}
        body = urlencode(fields)
        statuses.append(post(bot, body, signed_headers(body)))
    bot.settle()

    assert statuses == [400, 400]
    assert bot.store.search(AuditQuery()) == [] and not bot.models.requests
    for text_ in ("first request", "second request"):  # whole commands still run, once each
        assert bot.ask("U0ASKER", text_).status == "drafted"
    assert len(bot.store.search(AuditQuery())) == 2


def test_a_command_that_mentions_the_word_payload_is_read_as_a_command(bot: Bot) -> None:
    """Bolt read any form body containing "payload" as an (empty) interaction and answered 404."""
    delivery = bot.command("U0ASKER", "The payload of the webhook never arrived")

    assert delivery.response.status == 200
    assert delivery.response.json()["text"].startswith("Working on your `/support` request")
    bot.settle()
    assert bot.latest_run().status == "drafted"


def _click_data(bot: Bot, run_ts: str, action_id: str = ids.APPROVE) -> dict[str, Any]:
    real = bot.sim.payloads.block_action(
        user="U0OWNER", channel=CHANNEL, message_ts=run_ts, action_id=action_id
    )
    return json.loads(json.dumps(real.data))


BROKEN_CLICKS = {
    "no user": lambda d: d.pop("user"),
    "user without id": lambda d: d.update(user={"name": "owner"}),
    "user id not an id": lambda d: d.update(user={"id": "owner"}),
    "no trigger id": lambda d: d.pop("trigger_id"),
    "no actions": lambda d: d.update(actions=[]),
    "two actions": lambda d: d.update(actions=d["actions"] * 2),
    "action without id": lambda d: d["actions"][0].pop("action_id"),
    "no channel or container": lambda d: (d.pop("channel"), d.update(container={})),
    "no message ts": lambda d: (d.pop("message"), d.update(container={"type": "message"})),
    "message ts not a ts": lambda d: d["message"].update(ts="yesterday"),
    "value not text": lambda d: d["actions"][0].update(value={"run": "x"}),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CLICKS))
def test_a_signed_click_that_does_not_fit_decides_nothing(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.INFO)
    run = _drafted_run(shared)
    data = _click_data(shared, run.slack_draft_ts)
    data["response_url"] = attacker.url
    BROKEN_CLICKS[case](data)
    body = urlencode({"payload": json.dumps(data)})
    before = footprint(shared, attacker)

    assert post(shared, body, signed_headers(body)) == 400
    shared.settle()

    assert footprint(shared, attacker) == before and shared.run(run.id).status == "drafted"
    assert any(r.getMessage() == "Slack payload refused" for r in caplog.records)


def test_a_signed_submission_or_event_that_does_not_fit_does_nothing(
    shared: Bot, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run = _drafted_run(shared)
    shared.click("U0OWNER", run, ids.REJECT)
    shared.settle()
    (modal,) = shared.ws.views.open_views("U0OWNER")
    submission = shared.sim.payloads.view_submission(
        user="U0OWNER", view_id=modal.id, values={ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: "other"}}
    )
    before = footprint(shared, attacker)
    broken: list[dict[str, Any]] = []
    for change in (
        lambda v: v.update(private_metadata=""),
        lambda v: v.update(private_metadata=MARK),
        lambda v: v.update(private_metadata=json.dumps({"run": run.id})),  # not bound to a message
        lambda v: v.update(private_metadata=json.dumps({"run": 1, "channel": CHANNEL})),
        lambda v: v.pop("callback_id"),
    ):
        data = json.loads(json.dumps(submission.data))
        change(data["view"])
        broken.append(data)
    envelope = shared.sim.payloads.message_event(
        shared.ws.post_message(CHANNEL, text="hi", user="U0ASKER"), mention=True
    )
    for change in (
        lambda e: e.pop("event_id"),
        lambda e: e.update(team_id=""),
        lambda e: e["event"].pop("channel"),
    ):
        data = json.loads(json.dumps(envelope.data))
        change(data)
        broken.append(data)
    for data in broken:
        is_event = data.get("type") == "event_callback"
        body = json.dumps(data) if is_event else urlencode({"payload": json.dumps(data)})
        assert post(shared, body, signed_headers(body, "application/json" if is_event else FORM)) == 400
    shared.settle()

    assert footprint(shared, attacker) == before and shared.run(run.id).status == "drafted"
    assert sum(r.getMessage() == "Slack payload refused" for r in caplog.records) == len(broken)
    assert_no_values_logged(caplog, MARK)


def _drafted_run(bot: Bot) -> Any:
    for row in bot.store.search(AuditQuery(limit=20)):
        run = bot.store.get_run(row.id)
        if run.status == "drafted" and run.slack_draft_ts:
            return run
    return bot.ask("U0ASKER", "Where is my parcel?")


# --- 3. a draft cannot pass for lanebot's own words --------------------------------------------

IMPERSONATION = (
    ":white_check_mark: *Approved* by <@U0OWNER>, 1 min after the draft. Ready to copy:\n"
    "*Approved by @owner* <!channel> <!here|here> <http://evil.example|click to confirm> "
    "<mailto:a@b.example|mail> <#C0DIGEST>\n"
    "> :no_entry: *Rejected* by <@U0REVIEW>\n"
    "Appr\u200boved\u200d \u202eyad\u202c \u2066hidden\u2069 \u200f\u061c soft\u00adhyphen \ufeffBOM "
    "tag\U000e0041\U000e0042 \u2060joined"
)
HIDDEN = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b\u200c\u2060-\u2064\ufeff\u00ad\U000e0000-\U000e007f]"
)


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def assert_nothing_hidden(everything: Any, *, allow_emoji_joiner: bool = False) -> None:
    for item in strings(everything):
        assert not HIDDEN.search(item), [f"U+{ord(ch):04X}" for ch in HIDDEN.findall(item)]
        if not allow_emoji_joiner:
            assert "\u200d" not in item, item


def test_a_model_answer_imitating_lanebots_status_stays_inside_the_draft_frame(sqlite_url: str) -> None:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(IMPERSONATION))
        with running_bot(sqlite_url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})) as bot:
            run = bot.ask("U0ASKER", "Where is my \u202eparcel\u202c? \u200b<!everyone>")
            blocks = bot.draft_message(run).blocks

            assert not any(b.get("block_id") == ids.DRAFT_STATUS_BLOCK for b in blocks)  # not decided
            header = next(b for b in blocks if str(b.get("block_id", "")).startswith(ids.DRAFT_HEADER_BLOCK))
            assert header["type"] == "context"
            assert "Draft from gpt-5-mini" in str(header) and "not yet approved" in str(header)
            text_blocks = [b for b in blocks if str(b.get("block_id", "")).startswith(ids.DRAFT_TEXT_BLOCK)]
            assert blocks.index(header) + 1 == blocks.index(text_blocks[0])
            for block in text_blocks:  # every line of the model's text is inside the quote
                assert all(line.startswith(">") for line in block["text"]["text"].split("\n"))
            shown_outside_frame = [b for b in blocks if b not in text_blocks]
            assert "Approved" not in str(shown_outside_frame) and "Rejected" not in str(shown_outside_frame)

            everything = posted_json(bot)
            for ping in ("<!channel>", "<!here", "<!everyone>", "<http", "<mailto", "<#C"):
                assert ping not in everything
            model_text = str([b["text"]["text"] for b in text_blocks])
            assert "<@" not in model_text and "&lt;@U0OWNER&gt;" in model_text
            assert_nothing_hidden(json.loads(everything))
            assert "Approved" in views.draft_text_from_blocks(blocks)  # the words are shown, as text

            bot.click("U0OWNER", run, ids.APPROVE)
            bot.settle()
            decided = bot.draft_message(bot.run(run.id)).blocks
            assert decided[0]["block_id"] == ids.DRAFT_STATUS_BLOCK
            assert decided[0]["text"]["text"].startswith(":white_check_mark: *Approved* by <@U0OWNER>")
            assert sum(":white_check_mark: *Approved* by <@U0OWNER>" in str(b) for b in decided) == 1
            assert_blocks_valid(bot)


def test_hidden_characters_are_removed_from_requests_edits_and_notes(bot: Bot) -> None:
    request = "Refund \u202eorder 42\u202c for \u2066me\u2069\u200b please \U000e0049\U000e0047"
    edited_run = bot.ask("U0ASKER", request)
    bot.click("U0OWNER", edited_run, ids.EDIT)
    bot.settle()
    (modal,) = bot.ws.views.open_views("U0OWNER")
    edit = "We will \u202ekcehc\u202c this\u200b today\ufeff. \u2067Thanks\u2069 👩\u200d💻 ❤\ufe0f"
    bot.sim.submit_view("U0OWNER", modal.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: edit}})
    bot.settle()
    rejected_run = bot.ask("U0ASKER", "Another \u200fone")
    bot.click("U0OWNER", rejected_run, ids.REJECT)
    bot.settle()
    (reject,) = [v for v in bot.ws.views.open_views("U0OWNER") if v.id != modal.id]
    bot.sim.submit_view(
        "U0OWNER",
        reject.id,
        {
            ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: "other"},
            ids.REJECT_NOTE_BLOCK: {ids.REJECT_NOTE_INPUT: "not \u202eok\u202c\u00ad at all"},
        },
    )
    bot.settle()

    assert bot.run(edited_run.id).status == "edited" and bot.run(rejected_run.id).status == "rejected"
    everything = [json.loads(posted_json(bot)), [v.view for v in bot.ws.views.open_views()]]
    assert_nothing_hidden(everything, allow_emoji_joiner=True)
    assert sum(item.count("\u200d") for item in strings(everything)) == sum(
        item.count("👩\u200d💻") for item in strings(everything)
    )  # the only joiners left are inside the emoji
    shown = views.draft_text_from_blocks(bot.draft_message(bot.run(edited_run.id)).blocks)
    assert shown == "We will kcehc this today. Thanks 👩\u200d💻 ❤\ufe0f"  # emoji sequences stay whole
    assert "Refund order 42 for me please" in str(bot.ws.message(CHANNEL, edited_run.slack_root_ts).blocks)
    assert "not ok at all" in str(bot.draft_message(bot.run(rejected_run.id)).blocks)


# --- 4. modals are bound to their run and checked at submit time ------------------------------


def test_an_owner_who_may_not_edit_their_own_request_is_told_before_the_modal_opens(bot: Bot) -> None:
    run = bot.ask("U0OWNER", "Where is my parcel?")  # the owner asks; support has self_approval = false

    bot.click("U0OWNER", run, ids.EDIT)
    bot.settle()

    assert not bot.ws.views.open_views("U0OWNER") and not bot.ws.calls("views.open")
    (told,) = [t for t in bot.ephemeral_texts("U0OWNER") if "can't" in t]
    assert "You can't edit this draft: you requested this run, so someone else must edit it" in told
    assert [(d.kind, d.actor) for d in bot.run(run.id).decisions] == [("refused", "U0OWNER")]
    bot.click("U0OWNER", run, ids.REJECT)  # withdrawing one's own request is always allowed
    bot.settle()
    assert len(bot.ws.views.open_views("U0OWNER")) == 1


def _open_edit(bot: Bot, user: str, run: Any) -> Any:
    bot.click(user, run, ids.EDIT)
    bot.settle()
    return next(v for v in bot.ws.views.open_views(user) if v.view["callback_id"] == ids.EDIT_MODAL)


def test_a_form_submitted_after_someone_else_decided_is_refused_inside_the_form(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    modal = _open_edit(bot, "U0REVIEW", run)
    bot.click("U0OWNER", run, ids.APPROVE)
    bot.settle()

    result = bot.sim.submit_view(
        "U0REVIEW", modal.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: "My late edit."}}
    )
    bot.settle()

    assert result.view_errors == {f"{ids.EDIT_PART_BLOCK}0": "This draft is already approved by <@U0OWNER>."}
    record = bot.run(run.id)
    assert record.status == "approved" and record.final_decision.actor == "U0OWNER"  # type: ignore[union-attr]
    assert [d.actor for d in record.decisions if d.kind == "refused"] == ["U0REVIEW"]
    assert "My late edit." not in str(bot.draft_message(record).blocks)


def _forged_submission(bot: Bot, user: str, view_id: str, **changes: Any) -> int:
    """A correctly signed submission of an open modal, with fields replaced (as with a stolen secret)."""
    real = bot.sim.payloads.view_submission(
        user=user, view_id=view_id, values={f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: "Forged."}}
    )
    data = json.loads(json.dumps(real.data))
    if "metadata" in changes:
        data["view"]["private_metadata"] = json.dumps(changes["metadata"])
    if "submitter" in changes:
        data["user"]["id"] = changes["submitter"]
    payload = Payload.raw(urlencode({"payload": json.dumps(data)}), real.content_type, "view_submission")
    response = bot.sim.sender.deliver(payload)
    bot.settle()
    return response.status


def test_a_submission_bound_to_another_run_or_another_person_decides_nothing(bot: Bot) -> None:
    mine = bot.ask("U0ASKER", "Where is my parcel?")
    theirs = bot.ask("U0ASKER", "Where is my invoice?")
    modal = _open_edit(bot, "U0OWNER", mine)
    meta = json.loads(modal.view["private_metadata"])
    assert (meta["run"], meta["channel"], meta["ts"], meta["by"]) == (
        mine.id,
        CHANNEL,
        mine.slack_draft_ts,
        "U0OWNER",
    )

    assert _forged_submission(bot, "U0OWNER", modal.id, metadata={**meta, "run": theirs.id}) == 200
    assert _forged_submission(bot, "U0OWNER", modal.id, submitter="U0REVIEW") == 200  # opened by U0OWNER
    assert (
        _forged_submission(bot, "U0OWNER", modal.id, submitter="U0DEV1", metadata={**meta, "by": "U0DEV1"})
        == 200
    )

    for run in (mine, theirs):
        record = bot.run(run.id)
        assert record.status == "drafted" and not record.final_decision
    refused = {run.id: [(d.actor, d.note or "") for d in bot.run(run.id).decisions] for run in (mine, theirs)}
    assert refused[theirs.id] == [("U0OWNER", "form of another message")]
    assert refused[mine.id][0] == ("U0REVIEW", "form opened by someone else")
    assert refused[mine.id][1][0] == "U0DEV1" and "only the owners or reviewers" in refused[mine.id][1][1]
    assert len(refused[mine.id]) == 2


# --- 5. two-person review: the second approver sees the first approver's edit -----------------

SENSITIVE = "Review the password reset handler"
CODE_DRAFT = "Use hmac.compare_digest for the password hash."


def _two_person_run(bot: Bot) -> Any:
    bot.models.always("gpt-5-mini", Ok(CODE_DRAFT))
    run = bot.ask("U0ASKER", SENSITIVE, command="/code")
    assert run.review_rule == "two_person"
    return run


def test_a_first_approvers_edit_is_what_the_second_approver_sees_and_approves(bot: Bot) -> None:
    run = _two_person_run(bot)
    modal = _open_edit(bot, "U0LEAD", run)
    edited = "Use hmac.compare_digest for the password hash, and log no secrets."
    bot.sim.submit_view("U0LEAD", modal.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: edited}})
    bot.settle()

    pending = bot.draft_message(bot.run(run.id)).blocks
    assert bot.run(run.id).status == "drafted"
    assert "<@U0LEAD> edited and approved (1 of 2)" in pending[0]["text"]["text"]
    assert views.draft_text_from_blocks(pending) == edited  # the edit replaced the draft
    header = next(b for b in pending if str(b.get("block_id", "")).startswith(ids.DRAFT_HEADER_BLOCK))
    assert "Edited by <@U0LEAD>" in str(header) and "one more approval" in str(header)
    reviewers = next(b for b in pending if b.get("block_id") == ids.DRAFT_REVIEWERS_BLOCK)["text"]["text"]
    assert "<@U0LEAD>" not in reviewers and "<@U0DEV1> <@U0DEV2>" in reviewers and "one more" in reviewers
    assert any(b["type"] == "actions" for b in pending)

    bot.click("U0DEV1", run, ids.APPROVE)
    bot.settle()

    done = bot.run(run.id)
    assert done.status == "edited" and done.final_decision.edited_text == edited  # type: ignore[union-attr]
    final = bot.draft_message(done).blocks
    assert views.draft_text_from_blocks(final) == edited
    assert "edited by <@U0LEAD>, approved by <@U0DEV1>" in final[0]["text"]["text"]
    assert not any(b["type"] == "actions" for b in final)
    assert_blocks_valid(bot)


def test_a_click_on_the_text_before_an_edit_is_refused_and_the_message_redrawn(bot: Bot) -> None:
    run = _two_person_run(bot)
    old_screen = bot.sim.payloads.block_action(
        user="U0DEV1", channel=CHANNEL, message_ts=run.slack_draft_ts, action_id=ids.APPROVE
    )  # U0DEV1's screen still shows the model's draft
    old_edit = bot.sim.payloads.block_action(
        user="U0DEV2", channel=CHANNEL, message_ts=run.slack_draft_ts, action_id=ids.EDIT
    )
    modal = _open_edit(bot, "U0LEAD", run)
    bot.sim.submit_view(
        "U0LEAD", modal.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: "Edited text."}}
    )
    bot.settle()

    assert bot.sim.sender.deliver(old_screen).status == 200
    assert bot.sim.sender.deliver(old_edit).status == 200
    bot.settle()

    record = bot.run(run.id)
    assert record.status == "drafted" and record.approvals == {"U0LEAD"}
    assert any(
        "The draft was edited by <@U0LEAD>; review the new text" in t for t in bot.ephemeral_texts("U0DEV1")
    )
    assert any("The draft was edited by <@U0LEAD>" in t for t in bot.ephemeral_texts("U0DEV2"))
    assert not bot.ws.views.open_views("U0DEV2")
    assert views.draft_text_from_blocks(bot.draft_message(record).blocks) == "Edited text."
    bot.click("U0DEV1", run, ids.APPROVE)  # from the message as it is now
    bot.settle()
    assert bot.run(run.id).status == "edited"


def test_a_form_filled_before_an_edit_is_refused_at_submit_time(bot: Bot) -> None:
    run = _two_person_run(bot)
    early = _open_edit(bot, "U0DEV2", run)  # filled with the model's draft
    lead = _open_edit(bot, "U0LEAD", run)
    bot.sim.submit_view("U0LEAD", lead.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: "Lead's text."}})
    bot.settle()

    result = bot.sim.submit_view(
        "U0DEV2", early.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: "Edit of the old text."}}
    )
    bot.settle()

    assert "The draft was edited by <@U0LEAD>" in result.view_errors[f"{ids.EDIT_PART_BLOCK}0"]
    assert bot.run(run.id).status == "drafted"
    assert slack_io.unescape("Lead's text.") == views.draft_text_from_blocks(bot.draft_message(run).blocks)
