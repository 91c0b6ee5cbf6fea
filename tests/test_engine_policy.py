"""Execution rules 4, 5, 6 and 8, plus input validation, idempotency and redaction of what the
engine stores and sends."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text

from lanes.config import Price
from lanes.errors import AuditStoreError, AuditWriteError, DuplicateRequestError, InvalidRequestError
from lanes.values import RunRequest
from storage.search import AuditQuery
from tests.engine_rig import FAST, LOCAL, STRONG, ask, build_engine, kinds, rig_config
from tests.fakes.model_servers import Echo, Json, ModelServer, Ok
from tests.planted import PERSONAL_FAMILIES, PLANTED, PRIVATE_KEY_BODY, planted_request

CONTRACT = (
    "This Services Agreement is made between Acme GmbH and Globex Ltd. "
    "The agreement renews automatically on 1 March 2027. "
    "Invoices are payable within 30 days of receipt. "
    "Either party may terminate with 90 days written notice."
)


def summary(**overrides):
    base = {
        "summary": "Services agreement between Acme and Globex.",
        "parties": ["Acme GmbH", "Globex Ltd"],
        "renewal_date": "2027-03-01",
        "payment_terms": "30 days",
        "termination": "90 days notice",
        "risks": ["auto-renewal"],
        "evidence": [
            {"field": "renewal_date", "quote": "renews automatically on 1 March 2027"},
            {"field": "payment_terms", "quote": "payable within 30 days of receipt"},
        ],
    }
    return {**base, **overrides}


@pytest.fixture
def server():
    with ModelServer() as server:
        yield server


# --- rule 4: failed checks ------------------------------------------------------------------------


def test_failed_check_on_a_low_risk_lane_escalates_once(server, store, redactor):
    server.script(FAST, Ok("Good news: I have refunded your order."))
    server.script(STRONG, Ok("A colleague will review the charge and follow up today."))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Charged twice")

    assert result.status == "drafted" and result.route_kind == "escalation"
    assert result.draft == "A colleague will review the charge and follow up today."
    assert "forbidden pattern" in (result.escalation_reason or "")
    assert kinds(store, result.run_id) == [
        ("first", "fast", "check_failed", None),
        ("escalation", "strong", "ok", None),
    ]
    assert "forbidden pattern" in (store.get_run(result.run_id).attempts[0].error or "")


def test_a_run_routed_to_the_escalation_tier_records_the_rule_that_sent_it(server, store, redactor):
    """The digest counts escalation reasons from the run row: a keyword escalation is not "unspecified"."""
    server.script(STRONG, Ok("A colleague will look at the refund request today."))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "I want a refund for the double charge")

    assert result.route_kind == "escalation" and result.attempts[0].kind == "first"
    assert result.escalation_reason is not None and "refund" in result.escalation_reason
    assert store.get_run(result.run_id).escalation_reason == result.escalation_reason


def test_escalation_failing_its_check_too_goes_to_a_human_never_a_loop(server, store, redactor):
    server.script(FAST, Ok("x" * 1300))
    server.script(STRONG, Ok("y" * 1500))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Charged twice")

    assert result.status == "needs_human" and result.route_kind == "human"
    assert result.failed_check == "too long: 1,500 chars > 1,200"
    assert [a.kind for a in result.attempts] == ["first", "escalation"]
    assert len(server.requests) == 2


def test_high_risk_lane_never_bounces_a_failed_check_to_another_model(server, store, redactor):
    server.script(STRONG, Json(summary(evidence=[{"field": "termination", "quote": "terminate at will"}])))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "contract", CONTRACT)

    assert result.status == "needs_human"
    assert "evidence not found" in (result.failed_check or "")
    assert kinds(store, result.run_id) == [("first", "strong", "check_failed", None)]
    assert len(server.requests) == 1


def test_invalid_json_on_a_schema_lane_goes_to_a_human(server, store, redactor):
    server.script(STRONG, Ok("Here is the summary: it renews in March."))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "contract", CONTRACT)

    assert result.status == "needs_human"
    assert "schema" in (result.failed_check or "") or "JSON" in (result.failed_check or "")


def test_valid_contract_summary_with_verbatim_evidence_is_drafted(server, store, redactor):
    server.script(STRONG, Json(summary()))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "contract", CONTRACT)

    assert result.status == "drafted", result.failed_check
    assert json.loads(result.draft or "{}")["renewal_date"] == "2027-03-01"
    assert result.review_rule == "two_person"


# --- rule 5: cross-check --------------------------------------------------------------------------


def cross_checked(server):
    return rig_config(server, contract={"cross_check": True})


def test_cross_check_agreement_drafts_the_first_answer(server, store, redactor):
    server.script(STRONG, Json(summary()))
    server.script(FAST, Json(summary(summary="Agreement Acme/Globex", termination="90 Days Notice")))
    engine = build_engine(cross_checked(server), store, server, redactor)

    result = ask(engine, "contract", CONTRACT)

    assert result.status == "drafted"
    assert kinds(store, result.run_id) == [
        ("first", "strong", "ok", None),
        ("cross_check", "fast", "ok", None),
    ]


def test_cross_check_disagreement_goes_to_a_human_with_both_drafts(server, store, redactor):
    server.script(STRONG, Json(summary()))
    server.script(FAST, Json(summary(payment_terms="60 days")))
    engine = build_engine(cross_checked(server), store, server, redactor)

    result = ask(engine, "contract", CONTRACT)

    assert result.status == "needs_human"
    assert result.failed_check == "cross-check disagreement on payment_terms"
    assert len(result.alternatives) == 2
    assert json.loads(result.alternatives[1])["payment_terms"] == "60 days"


# --- rule 6: budgets ------------------------------------------------------------------------------


def test_over_the_per_run_cap_takes_the_cheaper_route(server, store, redactor):
    engine = build_engine(
        rig_config(server, support={"max_cost_per_run_usd": 0.0000001}), store, server, redactor
    )

    result = ask(engine, "support", "Hello")

    assert result.status == "drafted" and result.tier == "local"
    assert "budget" in result.route.explain()
    assert server.requests_for(FAST) == [] and len(server.requests_for(LOCAL)) == 1


def test_nothing_fits_the_budget_stops_for_confirmation_then_run_anyway(server, store, redactor):
    config = rig_config(server, support={"max_cost_per_run_usd": 0.0000001})
    local = config.models["local"].model_copy(
        update={"price": Price(input_per_mtok=50.0, output_per_mtok=50.0)}
    )
    config = config.model_copy(update={"models": {**config.models, "local": local}})
    engine = build_engine(config, store, server, redactor)

    stopped = ask(engine, "support", "Hello")

    assert stopped.status == "needs_confirmation" and stopped.draft is None
    assert server.requests == []
    run = store.get_run(stopped.run_id)
    assert run.status == "needs_confirmation" and "cap" in (run.error or "")
    confirmed = ask(engine, "support", "Hello", confirmed_tier=stopped.route.confirm_tier)
    assert confirmed.status == "drafted"
    assert "run anyway" in confirmed.route.explain()


def test_daily_budget_counts_what_the_lane_already_spent(server, store, redactor):
    config = rig_config(server, support={"budget_daily_usd": 0.0015})
    server.always(FAST, Ok("ok", input_tokens=1000, output_tokens=1000))  # ~$0.00225
    engine = build_engine(config, store, server, redactor)

    first = ask(engine, "support", "one")
    second = ask(engine, "support", "two")

    assert first.tier == "fast"
    assert second.status == "needs_confirmation", "spent today is over the cap: even a free route breaks it"
    assert "budget: daily cap $0.0015 reached, fast route not taken" in second.route.explain()


# --- rule 8: no log, no draft ---------------------------------------------------------------------


class Sabotage:
    """A model behaviour that breaks the audit store while the model is 'thinking', then answers."""

    def __init__(self, store):
        self.store = store

    def act(self, exchange):
        with self.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE attempts RENAME TO attempts_gone"))
        Ok("A draft nobody may see.").act(exchange)


def test_no_log_no_draft_when_the_store_breaks_mid_run(server, store, redactor):
    server.script(FAST, Sabotage(store))
    engine = build_engine(rig_config(server), store, server, redactor)

    with pytest.raises(AuditWriteError, match="no draft"):
        ask(engine, "support", "Hello")

    with store.engine.connect() as conn:
        status, draft = conn.execute(text("SELECT status, draft_text FROM runs WHERE id = 'run0001'")).one()
    assert status == "failed" and draft is None


def test_no_run_at_all_when_the_store_is_unwritable_from_the_start(server, store, redactor):
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE runs RENAME TO runs_gone"))
    engine = build_engine(rig_config(server), store, server, redactor)

    with pytest.raises(AuditStoreError):
        ask(engine, "support", "Hello")
    assert server.requests == [], "no model is called without an audit record"


# --- validation, idempotency ----------------------------------------------------------------------


@pytest.mark.parametrize(("text_", "message"), [("   ", "needs some text"), ("x" * 8001, "at most 8,000")])
def test_bad_input_is_refused_before_anything_runs(server, store, redactor, text_, message):
    engine = build_engine(rig_config(server), store, server, redactor)

    with pytest.raises(InvalidRequestError, match=message):
        ask(engine, "support", text_)
    assert store.search(AuditQuery()) == [] and server.requests == []


def test_unknown_lane_names_the_known_ones(server, store, redactor):
    engine = build_engine(rig_config(server), store, server, redactor)
    with pytest.raises(InvalidRequestError, match="code, contract, support"):
        ask(engine, "nope", "hi")


def test_a_retried_delivery_never_starts_a_second_run(server, store, redactor):
    engine = build_engine(rig_config(server), store, server, redactor)
    first = ask(engine, "support", "Hello", idempotency_key="slack:T1:trigger-1")

    with pytest.raises(DuplicateRequestError) as raised:
        ask(engine, "support", "Hello", idempotency_key="slack:T1:trigger-1")
    assert raised.value.run_id == first.run_id
    assert len(server.requests) == 1


# --- redaction ------------------------------------------------------------------------------------


def test_planted_secrets_and_personal_data_never_reach_the_database_or_logs(
    server, store, redactor, caplog, tmp_path
):
    server.always(FAST, Echo())  # the model repeats everything back: the draft is full of secrets too
    engine = build_engine(
        rig_config(server, support={"max_input_chars": 8000, "checks": {}}), store, server, redactor
    )
    caplog.set_level(logging.DEBUG)

    result = ask(engine, "support", planted_request())

    assert result.status == "drafted"
    for family in PLANTED.keys() - PERSONAL_FAMILIES:
        assert PLANTED[family] not in (result.draft or ""), f"{family} shown in the draft"
    raw = dump_database(store)
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    for family, value in PLANTED.items():
        stored = (value, value.encode().decode("latin-1"))  # the SQLite file is read as latin-1
        assert not any(form in raw for form in stored), f"{family} stored in the database"
        assert value not in logged, f"{family} logged"
    assert PRIVATE_KEY_BODY not in raw and PRIVATE_KEY_BODY not in logged
    assert "[EMAIL]" in raw and "[CARD]" in raw


def dump_database(store) -> str:
    """Every byte the database holds, as text: the SQLite file and its WAL, or every PG row."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        store.engine.dispose()
        path = url.database
        chunks = []
        for suffix in ("", "-wal", "-shm"):
            try:
                with open(f"{path}{suffix}", "rb") as handle:
                    chunks.append(handle.read().decode("latin-1"))
            except FileNotFoundError:
                pass
        return "\n".join(chunks)
    with store.engine.connect() as conn:
        return "\n".join(
            row[0]
            for table in ("runs", "attempts", "decisions")
            for row in conn.execute(text(f"SELECT row_to_json(t)::text FROM {table} t"))
        )


def test_store_text_none_keeps_metadata_only(server, store, redactor):
    engine = build_engine(rig_config(server, support={"store_text": "none"}), store, server, redactor)
    result = ask(engine, "support", "Hello from dana@example.org")

    run = store.get_run(result.run_id)
    assert run.input_text is None and run.draft_text is None
    assert run.input_chars == len("Hello from dana@example.org") and run.status == "drafted"


def test_redact_before_model_keeps_personal_data_away_from_the_model(server, store, redactor):
    server.script(STRONG, Json(summary()))
    engine = build_engine(rig_config(server), store, server, redactor)

    ask(engine, "contract", CONTRACT + " Contact: dana.smith@example.org, +1 415 555 0132.")

    sent = server.requests_for(STRONG)[0].prompt
    assert "dana.smith@example.org" not in sent and "[EMAIL]" in sent
    assert "415 555 0132" not in sent


def test_sensitive_code_request_needs_two_approvers(server, store, redactor):
    engine = build_engine(rig_config(server), store, server, redactor)

    result = engine.run(
        RunRequest(lane="code", text="Refactor the password reset handler", requester="U0DEV1")
    )

    assert result.review_rule == "two_person"
    assert store.get_run(result.run_id).review_rule == "two_person"
