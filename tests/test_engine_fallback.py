"""Execution rules 1, 2, 3 and 7: strict fallback, non-transient errors, the circuit breaker and
clean failures — each checked through the real SDK clients and by the audit rows it leaves."""

from __future__ import annotations

import pytest

from lanes.config import ModelSpec
from lanes.providers.registry import build_providers
from storage.store import AuditStore
from tests.engine_rig import FAST, LOCAL, STRONG, FakeTime, ask, build_engine, kinds, rig_config
from tests.fakes.model_servers import (
    REMOVE,
    Auth,
    ContentPolicy,
    ContextLength,
    Delay,
    Drip,
    Empty,
    Hang,
    Html,
    ModelServer,
    Ok,
    Raw,
    Reset,
    Reshaped,
    Status,
    Truncated,
)


@pytest.fixture
def server():
    with ModelServer() as server:
        yield server


@pytest.fixture
def sqlite_store(sqlite_url):
    """For the tables of cases below, where the database is not what varies."""
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield AuditStore(engine)
    engine.dispose()


def test_default_route_records_who_answered_and_what_it_cost(server, store, redactor):
    server.script(
        FAST,
        Ok(
            "Sorry about the double charge; we are checking.",
            model_answered="gpt-5-mini-2025-08-07",
            input_tokens=120,
            output_tokens=30,
        ),
    )
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "I was charged twice this month.")

    assert result.status == "drafted"
    assert result.route_kind == "default"
    assert result.route.explain() == "default for lane support"
    assert result.model_answered == "gpt-5-mini-2025-08-07"
    run = store.get_run(result.run_id)
    assert run.status == "drafted" and run.model == "gpt-5-mini-2025-08-07" and run.provider == "openai"
    assert run.route_reasons == ("default for lane support",)
    assert run.prompt_id == "support/fast" and len(run.prompt_version or "") == 8 and run.policy_version
    assert run.cost_known and run.cost_usd is not None and run.cost_usd > 0
    (attempt,) = run.attempts
    assert (attempt.kind, attempt.model_requested, attempt.model_answered) == (
        "first",
        FAST,
        "gpt-5-mini-2025-08-07",
    )
    assert (attempt.input_tokens, attempt.output_tokens, attempt.response_id is not None) == (120, 30, True)
    assert run.expires_at is not None and run.drafted_at is not None


@pytest.mark.parametrize(
    ("failure", "reason_code"),
    [
        (Delay(3), "timeout"),
        (Hang(), "timeout"),
        (Reset(), "connection"),
        (Status(429), "rate_limited"),
        (Status(500), "server_error"),
        (Status(503), "server_error"),
        (Empty(), "empty_answer"),
    ],
    ids=["timeout", "never-answers", "connection-reset", "429", "500", "503", "empty"],
)
def test_transient_failure_gets_exactly_one_try_on_the_fallback(
    server, store, redactor, failure, reason_code
):
    server.script(FAST, failure)
    server.script(LOCAL, Ok("Fallback draft.", model_answered="llama3.1:8b-instruct-q4"))
    engine = build_engine(rig_config(server, timeouts={"fast": 0.3}), store, server, redactor)

    result = ask(engine, "support", "Where is my parcel?")

    assert result.status == "drafted" and result.route_kind == "fallback"
    assert result.draft == "Fallback draft."
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", reason_code),
        ("fallback", "local", "ok", None),
    ]
    run = store.get_run(result.run_id)
    assert run.model == "llama3.1:8b-instruct-q4" and run.tier == "local"
    assert run.fallback_reason and reason_code.replace("_", " ") in run.fallback_reason
    failed = run.attempts[0]
    assert failed.cost_usd is None and failed.input_tokens is None and failed.output_tokens is None
    assert len(server.requests_for(FAST)) == 1, "SDK retries must be off: one request per attempt"
    assert len(server.requests_for(LOCAL)) == 1
    assert server.requests_for(LOCAL)[0].prompt == server.requests_for(FAST)[0].prompt, "same prompt"


def test_retry_after_that_fits_the_timeout_is_honoured_once_on_the_same_model(server, store, redactor):
    server.script(FAST, Status(429, retry_after=0.2), Ok("After waiting."))
    time = FakeTime()
    engine = build_engine(rig_config(server), store, server, redactor, time)

    result = ask(engine, "support", "Hello")

    assert result.status == "drafted" and result.draft == "After waiting."
    assert time.slept == [0.2]
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", "rate_limited"),
        ("retry", "fast", "ok", None),
    ]
    assert server.requests_for(LOCAL) == []


def test_retry_after_longer_than_the_timeout_goes_to_the_fallback(server, store, redactor):
    server.script(FAST, Status(429, retry_after=30))
    time = FakeTime()
    engine = build_engine(rig_config(server), store, server, redactor, time)

    result = ask(engine, "support", "Hello")

    assert time.slept == []
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", "rate_limited"),
        ("fallback", "local", "ok", None),
    ]


def test_fallback_failing_too_is_a_clean_failure_without_a_draft(server, store, redactor):
    server.script(FAST, Status(503))
    server.script(LOCAL, Reset())
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "failed" and result.draft is None
    assert "fallback local failed too" in result.message and "server_error" in result.message
    run = store.get_run(result.run_id)
    assert run.status == "failed" and run.error == result.message and run.draft_text is None
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", "server_error"),
        ("fallback", "local", "failed", "connection"),
    ]
    assert run.cost_usd == 0 or run.cost_usd is None


def test_context_length_escalates_to_a_larger_window(server, store, redactor):
    server.script(FAST, ContextLength())
    server.script(STRONG, Ok("Strong draft.", model_answered="claude-sonnet-4-6-20260101"))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "A long thread...")

    assert result.status == "drafted" and result.route_kind == "escalation"
    assert result.model_answered == "claude-sonnet-4-6-20260101"
    assert "context length" in (result.escalation_reason or "")
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", "context_length"),
        ("escalation", "strong", "ok", None),
    ]
    assert server.requests_for(LOCAL) == [], "context length is not a transient failure"


def test_context_length_without_a_larger_model_fails_cleanly(server, store, redactor):
    config = rig_config(server)
    strong = config.models["strong"].model_copy(update={"context_window": None})
    config = config.model_copy(update={"models": {**config.models, "strong": strong}})
    server.script(FAST, ContextLength())
    engine = build_engine(config, store, server, redactor)

    result = ask(engine, "support", "A long thread...")

    assert result.status == "failed"
    assert "too long" in result.message and "shorten" in result.message
    assert server.requests_for(STRONG) == [] and server.requests_for(LOCAL) == []


def test_content_policy_refusal_goes_to_a_human_with_the_providers_reason(server, store, redactor):
    server.script(FAST, ContentPolicy("Flagged: self-harm"))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "needs_human" and result.route_kind == "human"
    assert "Flagged: self-harm" in result.message
    assert kinds(store, result.run_id) == [("first", "fast", "failed", "content_policy")]
    assert store.get_run(result.run_id).failed_check == "content policy"


def test_anthropic_refusal_is_a_content_policy_stop(server, store, redactor):
    server.script(STRONG, ContentPolicy("Declined by policy"))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "I want a refund or I call my lawyer")  # escalation keywords → strong

    assert result.status == "needs_human"
    assert kinds(store, result.run_id) == [("first", "strong", "failed", "content_policy")]


def _same_key_fallback(config):
    """``config`` with the support lane's fallback served by OpenAI under the same key as ``fast``."""
    local = ModelSpec(provider="openai", model=LOCAL, timeout_s=10)
    return config.model_copy(update={"models": {**config.models, "local": local}})


QUOTA = Status(
    429,
    message="You exceeded your current quota, please check your plan and billing details.",
    error_type="insufficient_quota",
    error_code="insufficient_quota",
)


@pytest.mark.parametrize(
    ("failure", "reason_code"),
    [(Auth(), "auth"), (Status(403), "auth"), (QUOTA, "quota"), (Status(402), "quota")],
    ids=["401", "403", "insufficient-quota", "402"],
)
def test_rejected_key_or_exhausted_quota_falls_back_onto_other_credentials(
    server, store, redactor, failure, reason_code
):
    server.script(FAST, failure)
    server.script(LOCAL, Ok("Local draft."))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "drafted" and result.route_kind == "fallback"
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", reason_code),
        ("fallback", "local", "ok", None),
    ]
    assert "OPENAI_API_KEY" in (result.fallback_reason or "")


@pytest.mark.parametrize(
    ("failure", "reason_code"), [(Auth(), "auth"), (QUOTA, "quota")], ids=["401", "insufficient-quota"]
)
def test_config_fault_with_the_same_credentials_on_the_fallback_fails_clearly(
    server, store, redactor, failure, reason_code
):
    server.script(FAST, failure)
    engine = build_engine(_same_key_fallback(rig_config(server)), store, server, redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "failed" and result.draft is None
    assert kinds(store, result.run_id) == [("first", "fast", "failed", reason_code)]
    assert "OPENAI_API_KEY" in result.message and "same credentials" in result.message
    assert server.requests_for(LOCAL) == [], "the same key would fail the same way"
    assert store.get_run(result.run_id).status == "failed"


def test_missing_api_key_fails_with_the_variable_to_set(server, store, redactor):
    from lanes.engine import Engine
    from lanes.providers.registry import build_providers

    config = _same_key_fallback(rig_config(server))
    env = server.env(openai_key=None)
    engine = Engine(config, store, build_providers(config, env), redactor=redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "failed"
    assert "OPENAI_API_KEY" in result.message
    assert server.requests == []


def test_missing_api_key_on_one_provider_uses_a_fallback_that_needs_none(server, store, redactor):
    from lanes.engine import Engine
    from lanes.providers.registry import build_providers

    config = rig_config(server)
    engine = Engine(config, store, build_providers(config, server.env(openai_key=None)), redactor=redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "drafted" and result.route_kind == "fallback"
    assert "OPENAI_API_KEY" in (result.fallback_reason or "")
    assert server.requests_for(FAST) == []


def test_circuit_breaker_skips_a_failing_model_then_probes_after_the_cooldown(server, store, redactor):
    config = rig_config(server)
    config = config.model_copy(
        update={
            "runtime": config.runtime.model_copy(update={"breaker_failures": 2, "breaker_cooldown_s": 60})
        }
    )
    server.always(FAST, Status(503))
    time = FakeTime()
    engine = build_engine(config, store, server, redactor, time, monotonic=time.monotonic)

    first, second = ask(engine, "support", "one"), ask(engine, "support", "two")
    assert [a.kind for a in first.attempts] == [a.kind for a in second.attempts] == ["first", "fallback"]
    assert len(server.requests_for(FAST)) == 2

    skipped = ask(engine, "support", "three")
    assert len(server.requests_for(FAST)) == 2, "an open circuit costs no request and no timeout"
    assert skipped.status == "drafted" and skipped.route_kind == "fallback"
    assert kinds(store, skipped.run_id) == [("fallback", "local", "ok", None)]
    assert "circuit" in skipped.route.explain()

    time.advance(61)
    server.always(FAST, Ok("Recovered."))
    probed = ask(engine, "support", "four")
    assert probed.draft == "Recovered." and probed.route_kind == "default"
    assert len(server.requests_for(FAST)) == 3


def test_unknown_price_is_null_and_flagged_never_zero(server, store, redactor):
    config = rig_config(server)
    local = ModelSpec(
        provider="openai_compatible", model=LOCAL, base_url=server.openai_base_url, timeout_s=10
    )
    config = config.model_copy(update={"models": {**config.models, "local": local}})
    server.script(FAST, Status(500))
    engine = build_engine(config, store, server, redactor)

    result = ask(engine, "support", "Hello")

    run = store.get_run(result.run_id)
    assert run.attempts[1].cost_usd is None and run.attempts[1].price_known is False
    assert run.cost_known is False and result.cost_known is False


# --- unreadable answers, drip-feeds and adapter bugs: failed attempts, never a crash ---------------
@pytest.mark.parametrize(
    "garbage",
    [Truncated(), Html(), Raw(b""), Reshaped({"choices": REMOVE, "content": None})],
    ids=["truncated-json", "html", "empty-body", "wrong-shape"],
)
@pytest.mark.parametrize(
    ("text", "first_model", "first_tier"),
    [("Where is my parcel?", FAST, "fast"), ("I want a refund", STRONG, "strong")],
    ids=["openai", "anthropic"],
)
def test_unreadable_answer_is_a_recorded_failure_and_the_fallback_drafts(
    server, sqlite_store, redactor, garbage, text, first_model, first_tier
):
    server.script(first_model, garbage)
    server.script(LOCAL, Ok("Fallback draft."))
    engine = build_engine(rig_config(server), sqlite_store, server, redactor)

    result = ask(engine, "support", text)

    assert result.status == "drafted" and result.draft == "Fallback draft."
    assert kinds(sqlite_store, result.run_id) == [
        ("first", first_tier, "failed", "malformed_response"),
        ("fallback", "local", "ok", None),
    ]
    assert "malformed response" in (result.fallback_reason or "")


def test_fallback_answering_garbage_too_fails_the_run_with_both_attempts_recorded(server, store, redactor):
    server.script(FAST, Html())
    server.script(LOCAL, Truncated())
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "failed" and result.draft is None
    assert "fallback local failed too" in result.message and "malformed_response" in result.message
    run = store.get_run(result.run_id)
    assert run.status == "failed" and run.error == result.message
    assert kinds(store, result.run_id) == [
        ("first", "fast", "failed", "malformed_response"),
        ("fallback", "local", "failed", "malformed_response"),
    ]


class _Broken:
    """A provider with a bug: it raises what no adapter maps, with the prompt in its message."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def complete(self, request):
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [RuntimeError("boom PROMPT-7f3a"), KeyError("PROMPT-7f3a"), ValueError(), AttributeError("x")],
    ids=["runtime", "key", "value", "attribute"],
)
def test_an_adapter_bug_is_a_recorded_adapter_error_and_the_fallback_drafts(
    server, sqlite_store, redactor, exc, caplog
):
    from lanes.engine import Engine

    config = rig_config(server)
    providers = {**build_providers(config, server.env()), "fast": _Broken(exc)}
    engine = Engine(config, sqlite_store, providers, redactor=redactor)
    server.script(LOCAL, Ok("Fallback draft."))

    result = ask(engine, "support", "PROMPT-7f3a")

    assert result.status == "drafted" and result.draft == "Fallback draft."
    assert kinds(sqlite_store, result.run_id) == [
        ("first", "fast", "failed", "adapter_error"),
        ("fallback", "local", "ok", None),
    ]
    error = sqlite_store.get_run(result.run_id).attempts[0].error or ""
    assert type(exc).__name__ in error and "PROMPT-7f3a" not in error
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warnings and all(not r.exc_info and "PROMPT-7f3a" not in r.getMessage() for r in warnings)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "slow", [Drip(0.02), Drip(0.02, headers=True), Hang()], ids=["drip-body", "drip-headers", "silent"]
)
def test_a_model_that_never_finishes_is_timed_out_at_its_deadline_and_the_fallback_drafts(
    server, sqlite_store, redactor, slow
):
    server.script(FAST, slow)
    server.script(LOCAL, Ok("Fallback draft."))
    engine = build_engine(rig_config(server, timeouts={"fast": 0.3}), sqlite_store, server, redactor)

    result = ask(engine, "support", "Hello")

    assert result.status == "drafted" and result.route_kind == "fallback"
    first, fallback = sqlite_store.get_run(result.run_id).attempts
    assert (first.reason_code, fallback.kind, fallback.outcome) == ("timeout", "fallback", "ok")
    assert 300 <= first.latency_ms < 3000, "ended at the deadline (10× bound only proves it ended)"
    assert "0.3s" in (first.error or "")


# --- one dispatch for every failure, whatever the attempt's position -------------------------------
WINDOWS = {"fast": 8_000, "local": 32_000, "strong": 200_000}
"""The windows of the matrix below: the input overflows fast, the fallback and the escalation model
are larger, so every next step is possible and the table shows which one each failure takes."""

TRANSIENT = ("fallback", "fallback", "fail", "fallback")
FAULT = ("fallback", "fallback", "fail", "fallback")  # the fallback has other credentials here
ERROR_KINDS = {
    "server_error": (Status(503), "server_error", TRANSIENT),
    "malformed": (Truncated(), "malformed_response", TRANSIENT),
    "html": (Html(), "malformed_response", TRANSIENT),
    "empty": (Empty(), "empty_answer", TRANSIENT),
    "timeout": (Hang(), "timeout", TRANSIENT),
    "retry_after": (Status(429, retry_after=0.01), "rate_limited", ("retry", "fallback", "fail", "retry")),
    "context_length": (ContextLength(), "context_length", ("escalation", "escalation", "escalation", "fail")),
    "content_policy": (ContentPolicy("Flagged"), "content_policy", ("human", "human", "human", "human")),
    "auth": (Auth(), "auth", FAULT),
    "quota": (QUOTA, "quota", FAULT),
    "bad_request": (Status(400), "bad_request", ("fail", "fail", "fail", "fail")),
    "model_not_found": (Status(404), "model_not_found", ("fail", "fail", "fail", "fail")),
}
POSITIONS = ("first", "retry", "fallback", "escalation")
TIER_AT = {"first": "fast", "retry": "fast", "fallback": "local", "escalation": "strong"}


def _put_failure_at(server, position, failure):
    """Script the models so that ``failure`` answers the attempt at ``position``."""
    if position == "first":
        server.script(FAST, failure)
    elif position == "retry":
        server.script(FAST, Status(429, retry_after=0.01), failure)
    elif position == "fallback":
        server.script(FAST, Status(503))
        server.script(LOCAL, failure)
    else:
        server.script(FAST, ContextLength())
        server.script(STRONG, failure)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("error_kind", sorted(ERROR_KINDS))
def test_every_failure_takes_the_same_next_step_whatever_its_position(
    server, sqlite_store, redactor, position, error_kind
):
    failure, reason_code, steps = ERROR_KINDS[error_kind]
    expected = steps[POSITIONS.index(position)]
    config = rig_config(server, timeouts={TIER_AT[position]: 0.3})
    models = {
        tier: spec.model_copy(update={"context_window": WINDOWS[tier]})
        for tier, spec in config.models.items()
    }
    config = config.model_copy(update={"models": models})
    _put_failure_at(server, position, failure)
    engine = build_engine(config, sqlite_store, server, redactor)

    result = ask(engine, "support", "Where is my parcel?")

    recorded = kinds(sqlite_store, result.run_id)
    at = 0 if position == "first" else 1
    assert recorded[at][2:] == ("failed", reason_code), recorded
    assert recorded[at][0] == position, recorded
    after = recorded[at + 1 :]
    if expected == "human":
        assert (result.status, after) == ("needs_human", []), recorded
    elif expected == "fail":
        assert (result.status, after) == ("failed", []), recorded
    else:
        assert after[0][0] == expected and result.status == "drafted", recorded
    assert len(recorded) == len(result.attempts), "every attempt is in the audit trail"
    assert sqlite_store.get_run(result.run_id).status == result.status
