"""Bad input, fuzzed with hypothesis: whatever arrives, correctly signed, at ``/slack/events`` (slash
commands with odd text or missing fields, interaction payloads that are malformed, truncated,
huge, binary or in odd unicode), the bot answers 2xx/4xx with a friendly reply, never a 500, never
crashes, and never leaves a half-written run. A broken lanes.toml is refused with a ConfigError.

One bot serves the whole module (building one per example would take hours); each property ends
by checking the bot is still healthy and every run it recorded reached a consistent state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import string
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack import ids
from lanes.config import load_config
from lanes.errors import ConfigError
from lanes.values import TERMINAL_STATUSES
from storage.search import AuditQuery
from tests.fakes import Ok
from tests.slack_harness import SIGNING_SECRET, Bot, lanes_config, running_bot, slack_and_models

ROOT = Path(__file__).resolve().parent.parent
FORM = "application/x-www-form-urlencoded"
FUZZ = settings(
    database=None,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

odd_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(
        [
            "\u202e\u2066evil\u2069",  # bidi overrides
            "e\u0301" * 50 + "🏳️‍🌈" * 20,  # combining marks, ZWJ sequences
            "\x00\x01\x02\x7f",
            "<!channel> <@U0OWNER> &amp;&lt;",
            "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
            "x" * 9000,  # over the lane's max_input_chars
        ]
    ),
)
COMMAND_KEYS = ["command", "text", "user_id", "channel_id", "team_id", "trigger_id", "response_url", "token"]
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/audit.db"
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok("Thanks, a colleague will follow up."))
        config = lanes_config(models, lanes={"support": {"checks": {}}}, workers=4, queue_limit=200)
        with running_bot(url, models, stub, config) as running:
            yield running


def send_raw(bot: Bot, body: str | bytes, content_type: str = FORM) -> int:
    """POST ``body`` (any bytes) to the bot, signed with the real secret, so it is parsed, not
    refused at the door by the signature check."""
    data = body.encode() if isinstance(body, str) else body
    timestamp = str(int(time.time())).encode()
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp + b":" + data, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp.decode(),
        "X-Slack-Signature": f"v0={digest}",
    }
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


def status_for_declared_size(bot: Bot, size: int) -> int:
    """Announce a body of ``size`` bytes and read the status line (the server answers before the body)."""
    with socket.create_connection(("127.0.0.1", bot.http.port), timeout=30) as conn:
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        conn.sendall(head.encode() + b"text=aaaa")
        status_line = conn.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def assert_consistent(bot: Bot) -> None:
    """Still alive, and every recorded run is finished with a visible outcome (nothing half-written)."""
    bot.settle(timeout=60)
    with urllib.request.urlopen(f"{bot.http.url}/healthz", timeout=5) as response:
        assert response.status == 200
    for row in bot.store.search(AuditQuery(limit=10_000)):
        run = bot.store.get_run(row.id)
        assert run.status != "running", run
        assert run.status in TERMINAL_STATUSES or run.slack_draft_ts, run


@FUZZ
@given(text=odd_text)
def test_slash_command_text_of_any_kind_gets_a_friendly_reply(bot: Bot, text: str) -> None:
    delivery = bot.command("U0ASKER", text)
    assert delivery.response.status == 200
    reply = delivery.response.json()
    assert isinstance(reply, dict) and reply.get("text")
    assert "Traceback" not in reply["text"]


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(COMMAND_KEYS),
        st.text(max_size=40) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
        max_size=8,
    )
)
def test_slash_commands_with_missing_or_garbage_fields_never_get_a_500(
    bot: Bot, fields: dict[str, str]
) -> None:
    status = send_raw(bot, urlencode(fields))
    assert status < 500, fields


@FUZZ
@given(
    payload=st.one_of(
        json_value.map(json.dumps),
        st.text(max_size=300),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        st.builds(
            lambda kind, extra: json.dumps({"type": kind, **extra}),
            st.sampled_from(
                ["block_actions", "view_submission", "view_closed", "shortcut", "message_action"]
            ),
            st.dictionaries(
                st.sampled_from(["user", "actions", "view", "channel", "message", "container", "team"]),
                json_value,
                max_size=5,
            ),
        ),
    )
)
def test_malformed_interaction_payloads_never_get_a_500(bot: Bot, payload: str) -> None:
    status = send_raw(bot, urlencode({"payload": payload}))
    assert status < 500, payload


@FUZZ
@given(
    value=st.text(max_size=200) | json_value.map(json.dumps),
    action=st.sampled_from([ids.APPROVE, ids.REJECT]),
)
def test_button_values_of_any_shape_are_refused_politely(bot: Bot, value: str, action: str) -> None:
    """A real click on a real draft, with the button's value replaced by anything at all."""
    run = _a_drafted_run(bot)
    payload = bot.sim.payloads.block_action(
        user="U0OWNER", channel="C0LANES", message_ts=run.slack_draft_ts, action_id=action
    )
    data = dict(payload.data)
    data["actions"] = [{**data["actions"][0], "value": value}]
    status = send_raw(bot, urlencode({"payload": json.dumps(data)}))
    assert status < 500
    bot.settle()
    assert bot.run(run.id).status == "drafted" or value == run.id


header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)


@FUZZ
@given(timestamp=header_text, signature=header_text | st.just("v0=" + "0" * 64), text=odd_text)
def test_any_timestamp_or_signature_is_refused_with_401_and_nothing_else(
    bot: Bot, timestamp: str, signature: str, text: str
) -> None:
    """Whatever the two headers hold, an unsigned command is a 401 that starts, posts and answers
    nothing (before, a non-numeric timestamp reached the error handler, which answered the body's
    response_url)."""
    payload = bot.sim.payloads.slash_command(user="U0ASKER", channel="C0LANES", command="/support", text=text)
    before = (len(bot.store.search(AuditQuery(limit=10_000))), len(bot.ws.calls()))
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    request = urllib.request.Request(
        f"{bot.http.url}/slack/events", data=payload.body.encode(), headers=headers, method="POST"
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            status = int(exc.code)
    bot.settle()
    assert status == 401
    assert (len(bot.store.search(AuditQuery(limit=10_000))), len(bot.ws.calls())) == before


def test_bodies_of_every_odd_kind_and_size(bot: Bot) -> None:
    cases: list[tuple[str | bytes, str]] = [
        ("", FORM),
        ("payload=", FORM),
        ("payload=%7B", FORM),
        ("{not json", "application/json"),
        (json.dumps({"type": "event_callback", "event": None}), "application/json"),
        (json.dumps({"type": "url_verification"}), "application/json"),
        (bytes(range(256)) * 40, "application/octet-stream"),
        ("text=" + "é" * 300_000 + "&command=/support", FORM),  # huge, inside the body limit
    ]
    for body, content_type in cases:
        assert send_raw(bot, body, content_type) < 500, body[:80]
    assert status_for_declared_size(bot, 5 * 1024 * 1024) == 413  # refused before anything reads it
    assert_consistent(bot)


def test_after_the_fuzzing_every_run_is_consistent(bot: Bot) -> None:
    """Holds on its own too (run alone, the fuzz tests above have left nothing to check): it makes
    runs of its own, odd ones among them, and requires that there are runs to check."""
    for text in ("Where is my parcel?", "\u202eevil\u202c \x00 <!channel> *Approved*", "é" * 2_000):
        bot.command("U0ASKER", text)
    assert_consistent(bot)
    assert bot.store.search(AuditQuery(limit=1)), "no run was recorded, so nothing was checked"


def _a_drafted_run(bot: Bot) -> Any:
    for row in bot.store.search(AuditQuery(limit=50)):
        run = bot.store.get_run(row.id)
        if run.status == "drafted" and run.slack_draft_ts:
            return run
    return bot.ask("U0ASKER", "Where is my parcel?")


# --- lanes.toml -------------------------------------------------------------------------------

SHIPPED = (ROOT / "lanes.toml").read_text(encoding="utf-8")


@settings(
    database=None,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cut=st.integers(0, len(SHIPPED)),
    length=st.integers(0, 40),
    insert=st.text(alphabet=string.printable + "é\u0000[]{}=\"'", max_size=12),
)
def test_a_mangled_lanes_file_is_a_config_error_or_a_valid_config(
    tmp_path_factory: pytest.TempPathFactory, cut: int, length: int, insert: str
) -> None:
    path = tmp_path_factory.mktemp("lanes") / "lanes.toml"
    path.write_text(
        SHIPPED[:cut] + insert + SHIPPED[cut + length :], encoding="utf-8", errors="surrogatepass"
    )
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p or "lanes" in p or "models" in p for p in exc.problems)
        return
    assert config.lanes  # it parsed: then it is a whole, valid config


@settings(
    database=None, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from(
        ["default", "risk", "review", "max_input_chars", "owners", "checks", "budget_daily_usd"]
    ),
    value=json_value,
)
def test_a_lane_key_of_the_wrong_type_is_a_config_error_naming_it(
    tmp_path_factory: pytest.TempPathFactory, key: str, value: Any
) -> None:
    raw = tomllib.loads(SHIPPED)
    raw["lanes"]["support"][key] = value
    path = tmp_path_factory.mktemp("lanes") / "lanes.toml"
    path.write_text(_to_toml(raw), encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert any(key in p for p in exc.problems), exc.problems


def _to_toml(value: Any, prefix: str = "") -> str:
    """Just enough TOML writing for the lanes file: tables of scalars, arrays and inline tables."""
    lines, tables = [], []
    for key, item in value.items():
        if isinstance(item, dict) and all(isinstance(v, dict) for v in item.values()) and item:
            tables.append((key, item))
        else:
            lines.append(f"{_inline(key)} = {_inline(item)}")
    out = "\n".join(lines) + "\n"
    for key, item in tables:
        name = f"{prefix}.{_inline(key)}" if prefix else _inline(key)
        out += f"\n[{name}]\n" + _to_toml(item, name)
    return out


def _inline(item: Any) -> str:
    if item is None:
        return '""'
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, dict):
        return "{" + ", ".join(f"{_inline(k)} = {_inline(v)}" for k, v in item.items()) + "}"
    if isinstance(item, list):
        return "[" + ", ".join(_inline(v) for v in item) + "]"
    return json.dumps(item, ensure_ascii=False).replace("\x7f", "\\u007f")
