"""Provider adapters through the real openai and anthropic SDKs, over HTTP, against the loopback
ModelServer; the registry; and the offline sample model.

Client timeouts are kept at a fraction of a second so the slow paths (delay, hang) stay fast.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import get_args

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanes.config import INPUT_PLACEHOLDER, LanesConfig, ModelSpec, ProviderName, load_config
from lanes.providers import (
    BANNER,
    OFFLINE_MODEL,
    PROVIDERS,
    AnthropicEndpoint,
    AnthropicMessagesProvider,
    AuthError,
    BadRequestError,
    CompletionRequest,
    ContentPolicyError,
    ContextLengthError,
    OfflineModel,
    OpenAIChatProvider,
    OpenAIEndpoint,
    Provider,
    TransientError,
    build_providers,
)
from lanes.providers.anthropic_messages import JSON_INSTRUCTION
from lanes.providers.classify import RULES, Kind, Step, WireError, classify, error_for, next_step, wire_error
from lanes.providers.errors import QuotaError
from lanes.providers.offline import extract_input
from lanes.providers.openai_chat import NO_KEY_PLACEHOLDER
from tests.fakes import (
    ANY,
    REMOVE,
    TEST_ANTHROPIC_KEY,
    TEST_OPENAI_KEY,
    Auth,
    Behaviour,
    ContentPolicy,
    ContextLength,
    Delay,
    Drip,
    Dynamic,
    Echo,
    Empty,
    ErrorBody,
    Gate,
    Hang,
    Html,
    Json,
    ModelServer,
    Ok,
    Raw,
    Reset,
    Reshaped,
    Status,
    Truncated,
)

SHORT_TIMEOUT_S = 0.3
LANES_TOML = "lanes.toml"
NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[ModelServer]:
    with ModelServer() as running:
        yield running


@pytest.fixture
def server(shared_server: ModelServer) -> ModelServer:
    """One server per module (starting one per test costs more than the tests), wiped per test."""
    shared_server.clear()
    return shared_server


@dataclass(frozen=True)
class Wire:
    """One adapter pointed at the server, and what its protocol calls things."""

    name: str
    provider: Provider
    model: str
    key: str
    key_env: str


def _openai(server: ModelServer, now: Callable[[], float] = NOW.timestamp) -> OpenAIChatProvider:
    endpoint = OpenAIEndpoint("openai", server.openai_base_url, TEST_OPENAI_KEY, "OPENAI_API_KEY")
    return OpenAIChatProvider(endpoint, now=now)


def _anthropic(server: ModelServer, now: Callable[[], float] = NOW.timestamp) -> AnthropicMessagesProvider:
    endpoint = AnthropicEndpoint(server.anthropic_base_url, TEST_ANTHROPIC_KEY, "ANTHROPIC_API_KEY")
    return AnthropicMessagesProvider(endpoint, now=now)


@pytest.fixture(scope="module")
def wires(shared_server: ModelServer) -> dict[str, Wire]:
    """Built once: like the registry, each adapter keeps one SDK client for all its calls."""
    return {
        "openai": Wire("openai", _openai(shared_server), "gpt-5-mini", TEST_OPENAI_KEY, "OPENAI_API_KEY"),
        "anthropic": Wire(
            "anthropic",
            _anthropic(shared_server),
            "claude-sonnet-4-6",
            TEST_ANTHROPIC_KEY,
            "ANTHROPIC_API_KEY",
        ),
    }


@pytest.fixture(params=["openai", "anthropic"])
def wire(request: pytest.FixtureRequest, server: ModelServer, wires: dict[str, Wire]) -> Wire:
    return wires[request.param]


def ask(
    model: str,
    *,
    prompt: str = "Where is my order #1234?",
    timeout_s: float = 5.0,
    json_output: bool = False,
    system: str = "You draft short support replies.",
) -> CompletionRequest:
    return CompletionRequest(
        model=model,
        system=system,
        prompt=prompt,
        max_output_tokens=321,
        timeout_s=timeout_s,
        json_output=json_output,
    )


# --- the happy path -------------------------------------------------------------------------------
def test_ok_reports_what_the_provider_answered_not_what_we_asked(wire: Wire, server: ModelServer) -> None:
    snapshot = f"{wire.model}-2026-01-15"
    server.script(
        wire.model, Ok("Your order ships today.", model_answered=snapshot, input_tokens=42, output_tokens=7)
    )

    completion = wire.provider.complete(ask(wire.model))

    assert completion.text == "Your order ships today."
    assert completion.model_answered == snapshot != wire.model
    assert (completion.input_tokens, completion.output_tokens) == (42, 7)
    assert completion.response_id is not None
    assert completion.response_id.startswith("chatcmpl-" if wire.name == "openai" else "msg_")
    assert completion.finish_reason == ("stop" if wire.name == "openai" else "end_turn")


def test_request_carries_key_system_prompt_and_token_limit(wire: Wire, server: ModelServer) -> None:
    wire.provider.complete(ask(wire.model))

    [sent] = server.requests
    assert sent.api_key == wire.key
    assert sent.model == wire.model
    assert sent.system == "You draft short support replies."
    assert sent.prompt == "Where is my order #1234?"
    token_field = "max_completion_tokens" if wire.name == "openai" else "max_tokens"
    assert sent.body[token_field] == 321


def test_echo_round_trips_unicode(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Echo())
    prompt = 'Grüße — 東京 ✓ {braces} "quotes"'

    assert wire.provider.complete(ask(wire.model, prompt=prompt)).text == prompt


# --- transient failures -----------------------------------------------------------------------------
@pytest.mark.parametrize("behaviour", [Delay(5), Hang()], ids=["delay", "hang"])
def test_slow_or_hung_model_is_a_timeout(wire: Wire, server: ModelServer, behaviour: Behaviour) -> None:
    server.script(wire.model, behaviour)

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model, timeout_s=SHORT_TIMEOUT_S))

    assert caught.value.reason_code == "timeout"
    assert f"{SHORT_TIMEOUT_S:g}s" in caught.value.message


def test_connection_reset_is_a_connection_error(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Reset())

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "connection"


def test_nothing_listening_is_a_connection_error_without_url_credentials() -> None:
    with socket.socket() as unbound:  # bound, never listening: connections are refused
        unbound.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{unbound.getsockname()[1]}/v1"
        endpoint = OpenAIEndpoint(
            "openai", f"http://gateway:hunter2@{address}", TEST_OPENAI_KEY, "OPENAI_API_KEY"
        )
        with pytest.raises(TransientError) as caught:
            OpenAIChatProvider(endpoint).complete(ask("gpt-5-mini"))

    assert caught.value.reason_code == "connection"
    assert f"http://{address}" in caught.value.message
    assert "hunter2" not in caught.value.message


def test_empty_answer_after_hitting_the_token_limit_says_what_to_raise(server: ModelServer) -> None:
    server.script("gpt-5-mini", Ok("", finish_reason="length"))

    with pytest.raises(TransientError) as caught:
        _openai(server).complete(ask("gpt-5-mini"))

    assert caught.value.reason_code == "empty_answer"
    assert "max_output_tokens" in caught.value.message


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [("7", 7.0), ("1.5", 1.5), (format_datetime(NOW.replace(minute=1), usegmt=True), 60.0), (None, None)],
    ids=["seconds", "fractional", "http-date", "absent"],
)
def test_rate_limit_keeps_retry_after(
    wire: Wire, server: ModelServer, retry_after: str | None, expected: float | None
) -> None:
    server.script(wire.model, Status(429, retry_after=retry_after))

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "rate_limited"
    assert caught.value.status_code == 429
    assert caught.value.retry_after_s == expected


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_server_errors_are_transient(wire: Wire, server: ModelServer, status: int) -> None:
    server.script(wire.model, Status(status))

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "server_error"
    assert caught.value.status_code == status


def test_anthropic_overloaded_body_is_kept(server: ModelServer) -> None:
    server.script("claude-sonnet-4-6", Status(529))

    with pytest.raises(TransientError) as caught:
        _anthropic(server).complete(ask("claude-sonnet-4-6"))

    assert "Overloaded" in caught.value.message


def test_empty_answer_is_transient(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Empty())

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "empty_answer"


@pytest.mark.parametrize(
    "behaviour",
    [
        Status(429, retry_after="0"),
        Status(500),
        Status(503),
        Status(529),
        Status(408),
        Reset(),
        Delay(5),
        Auth(),
        ContextLength(),
    ],
    ids=["429", "500", "503", "529", "408", "reset", "timeout", "401", "context"],
)
def test_sdk_never_retries(wire: Wire, server: ModelServer, behaviour: Behaviour) -> None:
    """Every attempt must reach the audit trail, so exactly one HTTP request per call."""
    server.script(wire.model, behaviour, Ok("a retry would have got this"))

    with pytest.raises(Exception) as caught:
        wire.provider.complete(ask(wire.model, timeout_s=SHORT_TIMEOUT_S))

    assert caught.value.__class__.__module__ == "lanes.providers.errors"
    assert len(server.requests) == 1


# --- failures a fallback cannot fix -----------------------------------------------------------------
def test_context_length_error(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, ContextLength())

    with pytest.raises(ContextLengthError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "context_length"
    assert caught.value.status_code == 400


def test_content_policy_keeps_the_providers_reason(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, ContentPolicy(reason="Output blocked: weapons instructions."))

    with pytest.raises(ContentPolicyError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "content_policy"
    assert "weapons instructions" in caught.value.message


def test_bad_key_is_an_auth_error_that_names_the_setting(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Auth())

    with pytest.raises(AuthError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.status_code == 401
    assert wire.key_env in caught.value.message
    assert wire.key not in caught.value.message
    assert wire.key[:5] + "****" not in caught.value.message  # OpenAI's half-masked echo, masked fully


def test_forbidden_is_an_auth_error(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Status(403))

    with pytest.raises(AuthError):
        wire.provider.complete(ask(wire.model))


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_client_errors_are_bad_requests(wire: Wire, server: ModelServer, status: int) -> None:
    server.script(wire.model, Status(status))

    with pytest.raises(BadRequestError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.status_code == status
    assert "lanes.toml" in caught.value.message


def test_server_enforcing_a_key_rejects_a_wrong_one() -> None:
    with ModelServer(api_key="sk-the-right-one-000") as strict:
        with pytest.raises(AuthError):
            _openai(strict).complete(ask("gpt-5-mini"))
        assert strict.requests[0].api_key == TEST_OPENAI_KEY


# --- protocol specifics ---------------------------------------------------------------------------
def test_openai_json_output_asks_for_a_json_object(server: ModelServer) -> None:
    server.script("gpt-5-mini", Json({"summary": "ok"}))

    completion = _openai(server).complete(ask("gpt-5-mini", json_output=True))

    assert json.loads(completion.text) == {"summary": "ok"}
    assert server.requests[0].body["response_format"] == {"type": "json_object"}


def test_anthropic_json_output_adds_one_instruction_to_the_system_prompt(server: ModelServer) -> None:
    _anthropic(server).complete(ask("claude-sonnet-4-6", json_output=True))
    _anthropic(server).complete(ask("claude-sonnet-4-6", json_output=True, system=""))

    first, second = server.requests
    assert first.system == f"You draft short support replies.\n\n{JSON_INSTRUCTION}"
    assert second.system == JSON_INSTRUCTION


def test_openai_content_filter_finish_reason_is_a_policy_refusal(server: ModelServer) -> None:
    server.script("gpt-5-mini", Ok("partial", finish_reason="content_filter"))

    with pytest.raises(ContentPolicyError):
        _openai(server).complete(ask("gpt-5-mini"))


def test_openai_out_of_quota_is_not_transient(server: ModelServer) -> None:
    server.script(
        "gpt-5-mini",
        Status(
            429,
            message="You exceeded your current quota.",
            error_type="insufficient_quota",
            error_code="insufficient_quota",
        ),
    )

    with pytest.raises(AuthError) as caught:
        _openai(server).complete(ask("gpt-5-mini"))

    assert "quota" in caught.value.message


def test_anthropic_context_window_stop_reason_is_a_context_error(server: ModelServer) -> None:
    server.script("claude-sonnet-4-6", Ok("cut off", finish_reason="model_context_window_exceeded"))

    with pytest.raises(ContextLengthError):
        _anthropic(server).complete(ask("claude-sonnet-4-6"))


def test_anthropic_billing_error_is_an_auth_error(server: ModelServer) -> None:
    server.script("claude-sonnet-4-6", Status(402))

    with pytest.raises(AuthError) as caught:
        _anthropic(server).complete(ask("claude-sonnet-4-6"))

    assert "billing" in caught.value.message


def test_openai_compatible_uses_base_url_placeholder_key_and_max_tokens(server: ModelServer) -> None:
    spec = ModelSpec(provider="openai_compatible", model="llama3.1:8b", base_url=server.openai_base_url)
    server.script("llama3.1:8b", Ok("local answer"))

    completion = PROVIDERS["openai_compatible"](spec, {}).complete(ask("llama3.1:8b"))

    assert completion.text == "local answer"
    [sent] = server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.api_key == NO_KEY_PLACEHOLDER
    assert sent.body["max_tokens"] == 321
    assert "max_completion_tokens" not in sent.body


def test_openai_compatible_reads_its_named_key(server: ModelServer) -> None:
    spec = ModelSpec(
        provider="openai_compatible", model="qwen", base_url=server.base_url, api_key_env="VLLM_KEY"
    )

    PROVIDERS["openai_compatible"](spec, {"VLLM_KEY": "vllm-secret"}).complete(ask("qwen"))

    [sent] = server.requests
    assert sent.path == "/chat/completions"  # base_url without /v1 works too
    assert sent.api_key == "vllm-secret"


# --- registry -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def config() -> LanesConfig:
    return load_config(LANES_TOML)


def test_every_provider_name_in_the_config_language_has_a_factory() -> None:
    assert set(PROVIDERS) == set(get_args(ProviderName))


def test_build_providers_serves_each_tier_over_its_own_protocol(
    config: LanesConfig, server: ModelServer
) -> None:
    providers = build_providers(server.retarget(config), server.env())

    assert set(providers) == set(config.models)
    for tier, spec in config.models.items():
        server.script(spec.model, Ok(f"from {tier}"))
        assert providers[tier].complete(ask(spec.model)).text == f"from {tier}"
    paths = {request.model: request.path for request in server.requests}
    assert paths == {
        "gpt-5-mini": "/v1/chat/completions",
        "claude-sonnet-4-6": "/v1/messages",
        "llama3.1:8b": "/v1/chat/completions",
    }
    keys = {request.model: request.api_key for request in server.requests}
    assert keys == {
        "gpt-5-mini": TEST_OPENAI_KEY,
        "claude-sonnet-4-6": TEST_ANTHROPIC_KEY,
        "llama3.1:8b": NO_KEY_PLACEHOLDER,
    }


def test_missing_key_fails_the_call_not_the_build(config: LanesConfig, server: ModelServer) -> None:
    providers = build_providers(server.retarget(config), server.env(openai_key=None, anthropic_key=None))

    with pytest.raises(AuthError) as openai_error:
        providers["fast"].complete(ask("gpt-5-mini"))
    with pytest.raises(AuthError) as anthropic_error:
        providers["strong"].complete(ask("claude-sonnet-4-6"))

    assert openai_error.value.message == "OPENAI_API_KEY is not set; export it or run with --offline"
    assert anthropic_error.value.message == "ANTHROPIC_API_KEY is not set; export it or run with --offline"
    assert providers["local"].complete(ask("llama3.1:8b")).text  # keyless tiers still work
    assert [request.model for request in server.requests] == ["llama3.1:8b"]


def test_api_key_env_overrides_the_default_variable(server: ModelServer) -> None:
    spec = ModelSpec(provider="anthropic", model="claude-haiku-4-5", api_key_env="TEAM_ANTHROPIC_KEY")
    env = {"ANTHROPIC_BASE_URL": server.anthropic_base_url, "TEAM_ANTHROPIC_KEY": "sk-ant-team-key-000"}

    PROVIDERS["anthropic"](spec, env).complete(ask("claude-haiku-4-5"))

    assert server.requests[0].api_key == "sk-ant-team-key-000"


def test_offline_mode_serves_every_tier_without_keys(config: LanesConfig) -> None:
    providers = build_providers(config, {}, offline=True)

    assert set(providers) == set(config.models)
    for tier, spec in config.models.items():
        completion = providers[tier].complete(ask(spec.model))
        assert completion.model_answered == OFFLINE_MODEL
        assert completion.text.startswith(BANNER)


# --- offline sample model -------------------------------------------------------------------------
CONTRACT = "\n".join(
    (
        "MASTER SERVICES AGREEMENT",
        'This Master Services Agreement is entered into between Acme Analytics GmbH ("Supplier") and '
        'Borealis Foods Ltd. ("Customer"), effective 1 March 2026.',
        "1. Term. The initial term is twelve months. This Agreement renews automatically on March 1, 2027 "
        "unless either party gives 60 days' written notice.",
        "2. Fees. Customer shall pay all invoices within thirty (30) days of receipt. "
        "Late payments accrue interest at 1% per month.",
        "3. Termination. Either party may terminate for material breach on 30 days' notice if the breach "
        "is not cured.",
        "4. Liability. Supplier's total liability is capped at the fees paid in the preceding 12 months.",
    )
)


def _contract_prompt(config: LanesConfig, tier: str, text: str) -> CompletionRequest:
    lane = config.lane("contract")
    prompt = lane.prompt_for(tier)
    return CompletionRequest(
        model=OFFLINE_MODEL,
        system=prompt.system,
        prompt=prompt.template.replace(INPUT_PLACEHOLDER, text),
        max_output_tokens=1500,
        timeout_s=1.0,
        json_output=True,
    )


def _offline_for(config: LanesConfig) -> Provider:
    return build_providers(config, {}, offline=True)["strong"]


def test_offline_contract_json_matches_the_lane_schema_with_verbatim_evidence(config: LanesConfig) -> None:
    completion = _offline_for(config).complete(_contract_prompt(config, "strong", CONTRACT))

    summary = json.loads(completion.text)
    jsonschema.validate(summary, config.lane("contract").output_schema or {})
    assert summary["summary"].startswith(BANNER)
    assert summary["parties"] == ["Acme Analytics GmbH", "Borealis Foods Ltd."]
    assert summary["renewal_date"] == "March 1, 2027"
    assert "thirty (30) days" in summary["payment_terms"]
    assert summary["termination"].startswith("Either party may terminate")
    assert {item["field"] for item in summary["evidence"]} >= {
        "summary",
        "parties",
        "renewal_date",
        "payment_terms",
        "termination",
    }
    assert all(item["quote"] in CONTRACT for item in summary["evidence"])
    assert any("Renews automatically" in risk for risk in summary["risks"])


def test_offline_model_is_deterministic_and_labelled(config: LanesConfig) -> None:
    model = _offline_for(config)
    request = _contract_prompt(config, "fast", CONTRACT)

    first, second = model.complete(request), model.complete(request)
    other = model.complete(_contract_prompt(config, "fast", CONTRACT + "\n5. Governing law. Finnish law."))

    assert first == second
    assert first.model_answered == OFFLINE_MODEL
    assert first.response_id is not None and first.response_id.startswith("offline-")
    assert other.response_id != first.response_id
    assert first.input_tokens == math.ceil(len(request.system + request.prompt) / 4)
    assert first.output_tokens is not None and first.output_tokens > 0


def test_offline_text_draft_says_it_is_a_sample() -> None:
    completion = OfflineModel().complete(ask("gpt-5-mini", prompt="Customer message:\nI was charged twice."))

    assert completion.text.splitlines()[0] == BANNER
    assert "flagging the charges" in completion.text  # templated on what the message is about
    assert completion.offline_sample and completion.model_answered == OFFLINE_MODEL


def test_offline_input_is_found_by_template_then_by_fence() -> None:
    template = "Ticket:\n{input}\n\nReply politely."
    prompt = template.replace(INPUT_PLACEHOLDER, "The app crashes.")

    assert extract_input(prompt, [template]) == "The app crashes."
    assert extract_input("Contract:\n<<<\nclause one\n>>>\nJSON:") == "clause one"
    assert extract_input("no markers at all") == "no markers at all"


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1, max_size=400))
def test_offline_contract_evidence_is_always_verbatim(config: LanesConfig, text: str) -> None:
    completion = _offline_for(config).complete(_contract_prompt(config, "strong", text))

    summary = json.loads(completion.text)
    jsonschema.validate(summary, config.lane("contract").output_schema or {})
    assert all(item["quote"] in text for item in summary["evidence"])
    assert bool(summary["evidence"]) == bool(text.strip())


# --- the fake server itself -----------------------------------------------------------------------
def test_server_stops_at_once_with_a_hung_request_and_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    outcome: list[BaseException] = []
    with ModelServer() as lonely:
        lonely.script("gpt-5-mini", Hang())
        provider = _openai(lonely)
        caller = threading.Thread(target=_capture, args=(provider, outcome))
        caller.start()
        lonely.wait_for_requests(1)
    caller.join(timeout=10)

    assert not caller.is_alive()
    assert isinstance(outcome[0], TransientError)
    assert outcome[0].reason_code == "connection"  # the server closed the hung connection on stop
    assert set(threading.enumerate()) <= before


def _capture(provider: Provider, outcome: list[BaseException]) -> None:
    try:
        provider.complete(ask("gpt-5-mini", timeout_s=30))
    except BaseException as exc:
        outcome.append(exc)


def test_server_rule_order_script_then_any_then_standing(server: ModelServer, wires: dict[str, Wire]) -> None:
    openai_wire = wires["openai"]
    server.script("gpt-5-mini", Ok("scripted"))
    server.script(ANY, Ok("any scripted"))
    server.always("gpt-5-mini", Dynamic(lambda request: Ok(f"standing: {request.prompt}")))

    answers = [openai_wire.provider.complete(ask("gpt-5-mini", prompt=f"p{n}")).text for n in range(4)]

    assert answers == ["scripted", "any scripted", "standing: p2", "standing: p3"]


def test_gate_holds_calls_in_flight_until_released(server: ModelServer, wires: dict[str, Wire]) -> None:
    release = threading.Event()
    server.always("claude-sonnet-4-6", Gate(release, then=Echo()))
    results: list[str] = []
    callers = [
        threading.Thread(
            target=lambda n=n: results.append(
                wires["anthropic"].provider.complete(ask("claude-sonnet-4-6", prompt=f"call {n}")).text
            )
        )
        for n in range(3)
    ]
    for caller in callers:
        caller.start()

    server.wait_for_requests(3)
    assert results == []  # all three are in flight at once
    release.set()
    for caller in callers:
        caller.join(timeout=10)

    assert sorted(results) == ["call 0", "call 1", "call 2"]


# --- a 200 we cannot read is a failed attempt, never a crash -----------------------------------------
GARBAGE_200 = [
    pytest.param(Truncated(), "line 1 column", id="json-cut-off"),
    pytest.param(Html(), "HTML page: 502 Bad Gateway", id="proxy-html-page"),
    pytest.param(Raw(b""), "empty body", id="empty-body"),
    pytest.param(Raw(b"   \n"), "empty body", id="blank-body"),
    pytest.param(Raw(b"upstream connect error", content_type="text/plain"), "line 1 column", id="text"),
    pytest.param(Raw(b"\xff\xfe\x00garbage"), "not UTF-8", id="not-utf8"),
    pytest.param(Raw(b"[]"), "wrong shape", id="json-list"),
    pytest.param(Raw(b"42"), "wrong shape", id="json-number"),
    pytest.param(Raw(b"null"), "wrong shape", id="json-null"),
    pytest.param(Raw(b'{"id": "x"}'), "wrong shape", id="no-answer-fields"),
]


@pytest.mark.parametrize(("behaviour", "said"), GARBAGE_200)
def test_unreadable_200_is_a_malformed_response(
    wire: Wire, server: ModelServer, behaviour: Behaviour, said: str
) -> None:
    server.script(wire.model, behaviour)

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model, prompt="PROMPT-TEXT-7f3a"))

    assert caught.value.reason_code == "malformed_response"
    assert caught.value.status_code == 200
    assert said in caught.value.message and "proxy" in caught.value.message
    assert "PROMPT-TEXT-7f3a" not in caught.value.message
    assert "<" not in caught.value.message, "an HTML page is named, not pasted"


WRONG_SHAPES = {
    "openai": [
        pytest.param({"choices": REMOVE}, "choices: field required", id="no-choices"),
        pytest.param({"choices": "none"}, "choices: input should be a valid list", id="choices-text"),
        pytest.param({"choices.0": "x"}, "choices.0", id="choice-text"),
        pytest.param({"choices.0.message": REMOVE}, "choices.0.message: field required", id="no-message"),
        pytest.param({"choices.0.message.content": 42}, "choices.0.message.content", id="content-number"),
        pytest.param({"choices.0.message.content": ["a"]}, "choices.0.message.content", id="content-list"),
        pytest.param({"choices.0.finish_reason": 3}, "choices.0.finish_reason", id="finish-number"),
        pytest.param({"usage.prompt_tokens": "12"}, "usage.prompt_tokens", id="tokens-text"),
        pytest.param({"usage.completion_tokens": -5}, "usage.completion_tokens", id="tokens-negative"),
        pytest.param({"usage.prompt_tokens": True}, "usage.prompt_tokens", id="tokens-bool"),
        pytest.param({"model": 7}, "model", id="model-number"),
    ],
    "anthropic": [
        pytest.param({"content": REMOVE}, "content: field required", id="no-content"),
        pytest.param({"content": None}, "content: input should be a valid list", id="content-null"),
        pytest.param({"content": "hi"}, "content: input should be a valid list", id="content-text"),
        pytest.param({"content.0.text": 42}, "text block without text", id="text-number"),
        pytest.param({"content.0.type": REMOVE}, "content.0.type", id="block-untyped"),
        pytest.param({"type": "completion"}, "type", id="not-a-message"),
        pytest.param({"usage.input_tokens": "12"}, "usage.input_tokens", id="tokens-text"),
        pytest.param({"usage.output_tokens": REMOVE}, "usage.output_tokens", id="tokens-missing"),
        pytest.param({"stop_reason": ["end_turn"]}, "stop_reason", id="stop-list"),
    ],
}


@pytest.mark.parametrize(("changes", "field"), WRONG_SHAPES["openai"])
def test_openai_body_of_the_wrong_shape_names_the_field(
    server: ModelServer, wires: dict[str, Wire], changes: dict[str, object], field: str
) -> None:
    server.script("gpt-5-mini", Reshaped(changes))

    with pytest.raises(TransientError) as caught:
        wires["openai"].provider.complete(ask("gpt-5-mini"))

    assert caught.value.reason_code == "malformed_response"
    assert field in caught.value.message.lower()


@pytest.mark.parametrize(("changes", "field"), WRONG_SHAPES["anthropic"])
def test_anthropic_body_of_the_wrong_shape_names_the_field(
    server: ModelServer, wires: dict[str, Wire], changes: dict[str, object], field: str
) -> None:
    server.script("claude-sonnet-4-6", Reshaped(changes))

    with pytest.raises(TransientError) as caught:
        wires["anthropic"].provider.complete(ask("claude-sonnet-4-6"))

    assert caught.value.reason_code == "malformed_response"
    assert field in caught.value.message.lower()


@pytest.mark.parametrize(
    "changes",
    [
        {"choices.0.message.content": None, "content": []},
        {"choices.0.message.content": "", "content.0.text": ""},
        {"choices.0.message.content": "  \n", "content.0.text": " \n "},
        {"choices": [], "content.0.type": "thinking"},
    ],
    ids=["null", "empty", "blank", "nothing-to-read"],
)
def test_empty_content_is_an_empty_answer(
    wire: Wire, server: ModelServer, changes: dict[str, object]
) -> None:
    server.script(wire.model, Reshaped(changes))

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model))

    assert caught.value.reason_code == "empty_answer"


def test_missing_usage_is_an_answer_with_unknown_tokens(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Reshaped({"usage": REMOVE, "id": REMOVE}, text="Still an answer."))

    completion = wire.provider.complete(ask(wire.model))

    assert completion.text == "Still an answer."
    assert (completion.input_tokens, completion.output_tokens, completion.response_id) == (None, None, None)


def test_unknown_fields_and_block_types_are_ignored(wire: Wire, server: ModelServer) -> None:
    server.script(wire.model, Reshaped({"brand_new_field": {"x": 1}, "choices.0.logprobs": {"y": 2}}))

    assert wire.provider.complete(ask(wire.model)).text == "Test answer."


@pytest.mark.parametrize(
    ("wire_name", "body", "error", "reason_code"),
    [
        ("openai", {"error": {"message": "The server is overloaded", "type": "server_error"}}, TransientError,
         "server_error"),
        ("openai", {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, AuthError, "auth"),
        ("openai", {"error": "upstream model crashed"}, TransientError, "server_error"),
        ("anthropic", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
         TransientError, "server_error"),
        ("anthropic", {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}},
         TransientError, "rate_limited"),
        ("anthropic", {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}},
         AuthError, "auth"),
        ("anthropic", {"error": {"type": "timeout_error", "message": "Upstream timed out"}}, TransientError,
         "timeout"),
    ],
    ids=["openai-overloaded", "openai-bad-key", "ollama-string", "anthropic-overloaded",
         "anthropic-rate-limit", "anthropic-bad-key", "gateway-envelope-without-type"],
)  # fmt: skip
def test_error_envelope_inside_a_200_is_that_error(
    server: ModelServer,
    wires: dict[str, Wire],
    wire_name: str,
    body: dict[str, object],
    error: type[Exception],
    reason_code: str,
) -> None:
    wire = wires[wire_name]
    server.script(wire.model, ErrorBody(200, body))

    with pytest.raises(error) as caught:
        wire.provider.complete(ask(wire.model))

    assert getattr(caught.value, "reason_code", None) == reason_code


# --- a deadline for the whole call ---------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "behaviour",
    [Drip(0.02), Drip(0.02, headers=True), Hang()],
    ids=["drips-the-body", "drips-the-headers", "never-answers"],
)
def test_the_timeout_is_a_deadline_for_the_whole_call(
    wire: Wire, server: ModelServer, behaviour: Behaviour
) -> None:
    """Each dripped byte resets a per-read timeout; only a deadline on the call stops it. The
    bound below is ten times the timeout: it proves the call ended, it does not time it."""
    server.script(wire.model, behaviour)
    started = time.monotonic()

    with pytest.raises(TransientError) as caught:
        wire.provider.complete(ask(wire.model, timeout_s=SHORT_TIMEOUT_S))

    assert caught.value.reason_code == "timeout"
    assert time.monotonic() - started < 10 * SHORT_TIMEOUT_S
    assert wire.provider.complete(ask(wire.model)).text, "the next call gets a fresh connection"


def test_a_deadline_leaves_calls_on_other_threads_alone(server: ModelServer, wires: dict[str, Wire]) -> None:
    release = threading.Event()
    server.script("gpt-5-mini", Gate(release, then=Ok("slow but in time")))
    slow: list[str] = []
    caller = threading.Thread(
        target=lambda: slow.append(wires["openai"].provider.complete(ask("gpt-5-mini", timeout_s=30)).text)
    )
    caller.start()
    server.wait_for_requests(1)
    server.script("gpt-5-mini", Drip(0.02))

    with pytest.raises(TransientError):
        wires["openai"].provider.complete(ask("gpt-5-mini", timeout_s=SHORT_TIMEOUT_S))
    release.set()
    caller.join(timeout=10)

    assert slow == ["slow but in time"]


# --- every provider's documented error shapes ------------------------------------------------------
CONTEXT_VLLM = (
    "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens "
    "(4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion."
)
AZURE_FILTERED = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
    "Please modify your prompt and retry."
)
AZURE_FILTER_RESULT = {
    "hate": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": True, "severity": "medium"},
}
OPENAI_SHAPES = [
    pytest.param(
        ErrorBody(400, {"error": {"message": "This model's maximum context length is 128000 tokens.",
                                  "type": "invalid_request_error", "param": "messages",
                                  "code": "context_length_exceeded"}}),
        ContextLengthError, "context_length", id="openai-context_length_exceeded"),
    pytest.param(
        Status(400, message="Your request was rejected by our safety system.", error_code="content_filter"),
        ContentPolicyError, "content_policy", id="openai-content_filter"),
    pytest.param(
        Status(400, message="Your request was rejected as a result of our safety system.",
               error_code="content_policy_violation"),
        ContentPolicyError, "content_policy", id="openai-content_policy_violation"),
    pytest.param(
        Status(429, message="You exceeded your current quota, please check your plan and billing details.",
               error_type="insufficient_quota", error_code="insufficient_quota"),
        QuotaError, "quota", id="openai-insufficient_quota"),
    pytest.param(Auth(), AuthError, "auth", id="openai-invalid_api_key"),
    pytest.param(Status(429, error_code="rate_limit_exceeded"), TransientError, "rate_limited",
                 id="openai-rate_limit_exceeded"),
    pytest.param(Status(500, error_type="server_error"), TransientError, "server_error",
                 id="openai-server_error"),
    pytest.param(Status(409, message="The engine is currently overloaded"), TransientError, "server_error",
                 id="openai-409"),
    pytest.param(
        ErrorBody(400, {"error": {"message": AZURE_FILTERED, "type": None, "param": "prompt",
                                  "code": "content_filter", "status": 400,
                                  "innererror": {"code": "ResponsibleAIPolicyViolation",
                                                 "content_filter_result": AZURE_FILTER_RESULT}}}),
        ContentPolicyError, "content_policy", id="azure-content_filter"),
    pytest.param(
        ErrorBody(400, {"error": {"message": "Blocked.", "code": "invalid_request",
                                  "innererror": {"code": "ResponsibleAIPolicyViolation"}}}),
        ContentPolicyError, "content_policy", id="azure-innererror-only"),
    pytest.param(
        ErrorBody(400, {"error": {"message": "This model's maximum context length is 8192 tokens. However, "
                                  "your messages resulted in 9000 tokens.", "type": "invalid_request_error",
                                  "param": "messages", "code": "context_length_exceeded"}}),
        ContextLengthError, "context_length", id="azure-context_length_exceeded"),
    pytest.param(
        ErrorBody(429, {"error": {"code": "429", "message": "Requests to the ChatCompletions_Create "
                                  "Operation have exceeded token rate limit. Please retry after 2 seconds."}},
                  retry_after=2),
        TransientError, "rate_limited", id="azure-429"),
    pytest.param(
        ErrorBody(401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key "
                                  "or wrong API endpoint."}}),
        AuthError, "auth", id="azure-401"),
    pytest.param(
        ErrorBody(400, {"object": "error", "message": CONTEXT_VLLM, "type": "BadRequestError", "param": None,
                        "code": 400}),
        ContextLengthError, "context_length", id="vllm-object-error"),
    pytest.param(
        ErrorBody(400, {"error": {"message": CONTEXT_VLLM, "type": "BadRequestError", "param": None,
                                  "code": 400}}),
        ContextLengthError, "context_length", id="vllm-error-envelope"),
    pytest.param(
        ErrorBody(404, {"error": 'model "llama3.1:8b" not found, try pulling it first'}),
        BadRequestError, "model_not_found", id="ollama-native-not-found"),
    pytest.param(
        ErrorBody(404, {"error": {"message": 'model "llama3.1:8b" not found, try pulling it first',
                                  "type": "api_error", "param": None, "code": None}}),
        BadRequestError, "model_not_found", id="ollama-openai-not-found"),
    pytest.param(
        ErrorBody(500, {"error": "llama runner process has terminated: signal: killed"}),
        TransientError, "server_error", id="ollama-runner-died"),
    pytest.param(
        ErrorBody(400, {"error": "the input length exceeds the context length"}),
        ContextLengthError, "context_length", id="ollama-context"),
    pytest.param(Html(status=502), TransientError, "server_error", id="gateway-html-502"),
]  # fmt: skip
ANTHROPIC_SHAPES = [
    pytest.param(Status(400, message="prompt is too long: 208317 tokens > 200000 maximum"),
                 ContextLengthError, "context_length", id="prompt-is-too-long"),
    pytest.param(
        Status(400, message="input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000, "
                            "decrease input length or `max_tokens` and try again"),
        ContextLengthError, "context_length", id="input-and-max-tokens-exceed-context-limit"),
    pytest.param(Status(400, message="Output blocked by content filtering policy"),
                 ContentPolicyError, "content_policy", id="output-blocked"),
    pytest.param(Status(400, message="Output blocked by content\n     filtering policy"),
                 ContentPolicyError, "content_policy", id="output-blocked-wrapped"),
    pytest.param(Status(529), TransientError, "server_error", id="overloaded_error-529"),
    pytest.param(Status(429), TransientError, "rate_limited", id="rate_limit_error"),
    pytest.param(Status(401), AuthError, "auth", id="authentication_error"),
    pytest.param(Status(403), AuthError, "auth", id="permission_error"),
    pytest.param(Status(500), TransientError, "server_error", id="api_error"),
    pytest.param(Status(504), TransientError, "timeout", id="timeout_error"),
    pytest.param(Status(402), QuotaError, "quota", id="billing_error"),
    pytest.param(
        Status(400, message="Your credit balance is too low to access the Anthropic API. Please go to "
                            "Plans & Billing to upgrade or purchase credits."),
        QuotaError, "quota", id="credit-balance-too-low"),
    pytest.param(Status(413), BadRequestError, "bad_request", id="request_too_large"),
    pytest.param(Status(404), BadRequestError, "model_not_found", id="not_found_error"),
    pytest.param(ContentPolicy("Declined"), ContentPolicyError, "content_policy", id="stop_reason-refusal"),
]  # fmt: skip


@pytest.mark.parametrize(("behaviour", "error", "reason_code"), OPENAI_SHAPES)
def test_openai_compatible_error_shapes(
    server: ModelServer,
    wires: dict[str, Wire],
    behaviour: Behaviour,
    error: type[Exception],
    reason_code: str,
) -> None:
    server.script("gpt-5-mini", behaviour)

    with pytest.raises(error) as caught:
        wires["openai"].provider.complete(ask("gpt-5-mini"))

    assert type(caught.value) is error and getattr(caught.value, "reason_code", None) == reason_code


@pytest.mark.parametrize(("behaviour", "error", "reason_code"), ANTHROPIC_SHAPES)
def test_anthropic_error_shapes(
    server: ModelServer,
    wires: dict[str, Wire],
    behaviour: Behaviour,
    error: type[Exception],
    reason_code: str,
) -> None:
    server.script("claude-sonnet-4-6", behaviour)

    with pytest.raises(error) as caught:
        wires["anthropic"].provider.complete(ask("claude-sonnet-4-6"))

    assert type(caught.value) is error and getattr(caught.value, "reason_code", None) == reason_code


def test_azure_rate_limit_keeps_its_retry_after(server: ModelServer, wires: dict[str, Wire]) -> None:
    server.script("gpt-5-mini", ErrorBody(429, {"error": {"code": "429", "message": "Retry later."}}, 2))

    with pytest.raises(TransientError) as caught:
        wires["openai"].provider.complete(ask("gpt-5-mini"))

    assert caught.value.retry_after_s == 2.0


def test_proxy_error_page_is_named_not_pasted(server: ModelServer, wires: dict[str, Wire]) -> None:
    server.script("gpt-5-mini", Html(status=502))

    with pytest.raises(TransientError) as caught:
        wires["openai"].provider.complete(ask("gpt-5-mini"))

    assert "502 Bad Gateway" in caught.value.message and "<" not in caught.value.message


# --- the classifier as data ---------------------------------------------------------------------
KNOWN_CODES = sorted({code for rule in RULES for code in rule.codes} | {"invalid_request_error", "requests"})
_statuses = st.one_of(st.none(), st.integers(min_value=300, max_value=599))
_codes = st.frozensets(st.one_of(st.sampled_from(KNOWN_CODES), st.text(max_size=12)), max_size=3)
_messages = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [CONTEXT_VLLM, AZURE_FILTERED, "prompt is too long", "Output blocked by content filtering"]
    ),
)
_CONTEXT_CODES = frozenset(
    {"context_length_exceeded", "string_above_max_length", "model_context_window_exceeded"}
)
_POLICY_CODES = frozenset(
    {"content_filter", "content_policy_violation", "invalid_prompt", "responsibleaipolicyviolation"}
)
_QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_error", "billing_hard_limit_reached", "billing_not_active"}
)


@settings(max_examples=300, deadline=None)
@given(status=_statuses, codes=_codes, message=_messages)
def test_every_failure_gets_exactly_one_kind_by_the_documented_precedence(
    status: int | None, codes: frozenset[str], message: str
) -> None:
    error = WireError(status, message, frozenset(code.lower() for code in codes))

    kind = classify(error)

    if codes & _CONTEXT_CODES:
        assert kind is Kind.CONTEXT_LENGTH, "a context code wins over any status"
    elif codes & _POLICY_CODES:
        assert kind is Kind.CONTENT_POLICY
    elif codes & _QUOTA_CODES or status == 402:
        assert kind is Kind.QUOTA
    elif status in (401, 403):
        assert kind in (Kind.AUTH, Kind.QUOTA), "a refused key is a config fault, never transient"
    elif status == 429:
        assert kind in (Kind.RATE_LIMITED, Kind.QUOTA), "a 429's words never make it a context overflow"
    elif status is not None and status >= 501 and status != 504:
        assert kind is Kind.SERVER_ERROR
    elif status is not None and 300 <= status < 400:
        assert kind is Kind.BAD_REQUEST
    if status is None:
        assert kind is not Kind.BAD_REQUEST, "an error inside a 200 is never blamed on the request"
    step = next_step(error_for(kind, error, label="x", key_hint="K", message=message))
    assert step is STEP_OF_KIND[kind]


STEP_OF_KIND = {
    Kind.CONTEXT_LENGTH: Step.ESCALATE,
    Kind.CONTENT_POLICY: Step.HUMAN,
    Kind.AUTH: Step.FALLBACK_ON_OTHER_CREDENTIALS,
    Kind.QUOTA: Step.FALLBACK_ON_OTHER_CREDENTIALS,
    Kind.RATE_LIMITED: Step.FALLBACK,
    Kind.TIMEOUT: Step.FALLBACK,
    Kind.SERVER_ERROR: Step.FALLBACK,
    Kind.MODEL_NOT_FOUND: Step.FAIL,
    Kind.BAD_REQUEST: Step.FAIL,
}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": {"message": "m", "code": "X", "type": "T"}}, WireError(400, "m", frozenset({"x", "t"}))),
        ({"message": "m", "code": 400, "type": "BadRequestError"},
         WireError(400, "m", frozenset({"badrequesterror"}))),
        ({"error": "plain words"}, WireError(400, "plain words")),
        ("<html><title>Gateway Timeout</title></html>", WireError(400, "an HTML page: Gateway Timeout")),
        (
            {"error": {"message": "m", "innererror": {"code": "ResponsibleAIPolicyViolation"}}},
            WireError(400, "m", frozenset({"responsibleaipolicyviolation"})),
        ),
        (
            {"type": "error", "error": {"type": "invalid_request_error", "message": "m",
                                        "details": {"error_code": "prompt_too_long"}}},
            WireError(400, "m", frozenset({"invalid_request_error", "prompt_too_long"})),
        ),
        (None, WireError(400, "fallback")),
        ({"error": {"message": None}}, WireError(400, "fallback")),
    ],
    ids=["envelope", "vllm-object", "ollama-string", "html", "azure-innererror", "anthropic-details",
         "no-body", "no-message"],
)  # fmt: skip
def test_wire_error_reads_every_known_body_shape(body: object, expected: WireError) -> None:
    assert wire_error(400, body, "fallback") == expected
