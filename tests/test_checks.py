"""Draft checks, sensitive patterns and cross-check comparison, with plain values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lanes.checks import (
    CheckResult,
    check_draft,
    compare_key_fields,
    effective_review_rule,
    parse_json_draft,
    sensitive_matches,
)
from lanes.config import LaneConfig

CONTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "renewal_date", "evidence"],
    "additionalProperties": False,
    "properties": {
        "summary": {"type": "string"},
        "renewal_date": {"type": ["string", "null"]},
        "payment_terms": {"type": ["string", "null"]},
        "evidence": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "quote"],
                "properties": {"field": {"type": "string"}, "quote": {"type": "string"}},
            },
        },
    },
}
CONTRACT_TEXT = """MASTER SERVICES AGREEMENT
This agreement renews automatically on
   1 March 2026 unless either party gives notice.
Invoices are payable within 30 days."""


def make_lane(**overrides: Any) -> LaneConfig:
    data: dict[str, Any] = {
        "name": "support",
        "command": "/support",
        "default": "fast",
        "fallback": "local",
        "escalate_to": "strong",
        "prompts": {"fast": {}, "strong": {}},
    }
    data.update(overrides)
    return LaneConfig.model_validate(data)


def contract_lane(**overrides: Any) -> LaneConfig:
    return make_lane(
        name="contract",
        command="/contract",
        schema=CONTRACT_SCHEMA,
        evidence_required=True,
        cross_check_fields=["renewal_date", "payment_terms"],
        **overrides,
    )


def summary(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "summary": "Auto-renewing services agreement.",
        "renewal_date": "2026-03-01",
        "evidence": [{"field": "renewal_date", "quote": "renews automatically on 1 March 2026"}],
    }
    value.update(overrides)
    return value


# --- max_chars and forbid -----------------------------------------------------------------------


def test_a_plain_draft_passes() -> None:
    lane = make_lane(checks={"max_chars": 1200, "forbid": ["(?i)i have refunded"]})
    assert check_draft(lane, "Thanks, we are looking into it.", "where is my parcel") == CheckResult(
        passed=True, failed=(), parsed=None
    )


def test_too_long_names_both_numbers() -> None:
    lane = make_lane(checks={"max_chars": 1200})
    result = check_draft(lane, "x" * 1530, "")
    assert not result.passed
    assert result.failed == ("too long: 1,530 chars > 1,200",)


def test_exactly_max_chars_passes() -> None:
    assert check_draft(make_lane(checks={"max_chars": 1200}), "x" * 1200, "").passed


def test_forbidden_pattern_is_named() -> None:
    lane = make_lane(checks={"forbid": ["(?i)i have refunded", "(?i)rm -rf /"]})
    result = check_draft(lane, "Good news: I HAVE REFUNDED your order.", "")
    assert result.failed == ("forbidden pattern '(?i)i have refunded' matched",)


def test_every_failure_is_reported() -> None:
    lane = make_lane(checks={"max_chars": 10, "forbid": ["refunded", "deleted"]})
    result = check_draft(lane, "I refunded and deleted it", "")
    assert result.failed == (
        "too long: 25 chars > 10",
        "forbidden pattern 'refunded' matched",
        "forbidden pattern 'deleted' matched",
    )


# --- schema -------------------------------------------------------------------------------------


def test_valid_json_passes_and_is_parsed() -> None:
    result = check_draft(contract_lane(), json.dumps(summary()), CONTRACT_TEXT)
    assert result.passed, result.failed
    assert result.parsed == summary()


def test_fenced_json_block_is_tolerated() -> None:
    draft = "```json\n" + json.dumps(summary(), indent=2) + "\n```\n"
    result = check_draft(contract_lane(), draft, CONTRACT_TEXT)
    assert result.passed, result.failed
    assert result.parsed is not None and result.parsed["renewal_date"] == "2026-03-01"


def test_bare_fence_is_tolerated() -> None:
    assert parse_json_draft('```\n{"a": 1}\n```') == {"a": 1}


def test_missing_required_property() -> None:
    draft = summary()
    del draft["renewal_date"]
    result = check_draft(contract_lane(), json.dumps(draft), CONTRACT_TEXT)
    assert result.failed == ("schema: 'renewal_date' is a required property",)
    assert result.parsed == draft


def test_nested_schema_error_names_the_path() -> None:
    draft = summary(evidence=[{"field": "renewal_date"}])
    result = check_draft(contract_lane(), json.dumps(draft), CONTRACT_TEXT)
    assert result.failed[0] == "schema: evidence[0]: 'quote' is a required property"


def test_not_json_says_so() -> None:
    result = check_draft(contract_lane(), "Here is the summary: it renews in March.", CONTRACT_TEXT)
    assert result.parsed is None
    assert len(result.failed) == 1
    assert result.failed[0].startswith(
        "schema: the draft is not valid JSON (Expecting value: line 1 column 1"
    )


def test_non_object_json_fails_the_schema_and_is_not_parsed() -> None:
    result = check_draft(contract_lane(), "[1, 2]", CONTRACT_TEXT)
    assert result.parsed is None
    assert result.failed == ("schema: [1, 2] is not of type 'object'",)


def test_many_schema_errors_are_capped() -> None:
    result = check_draft(contract_lane(), json.dumps({"a": 1, "summary": 2}), CONTRACT_TEXT)
    assert result.failed == (
        "schema: 'evidence' is a required property",
        "schema: 'renewal_date' is a required property",
        "schema: Additional properties are not allowed ('a' was unexpected)",
        "schema: 1 more problem",
    )


def test_long_schema_messages_are_truncated() -> None:
    result = check_draft(contract_lane(), json.dumps(summary(summary=["y" * 1000])), CONTRACT_TEXT)
    assert len(result.failed) == 1
    assert result.failed[0].startswith("schema: summary: ['yyy")
    assert result.failed[0].endswith("…")
    assert len(result.failed[0]) <= len("schema: summary: ") + 200


def test_an_invalid_lane_schema_is_reported_not_raised() -> None:
    lane = make_lane(schema={"type": "no-such-type"})
    result = check_draft(lane, "{}", "")
    assert result.failed[0].startswith("schema: the lane's schema itself is invalid")
    assert result.failed[0].endswith("fix it in lanes.toml")


# --- evidence -----------------------------------------------------------------------------------


def test_evidence_matches_across_whitespace_differences() -> None:
    result = check_draft(contract_lane(), json.dumps(summary()), CONTRACT_TEXT)
    assert result.passed


def test_invented_evidence_is_named() -> None:
    draft = summary(evidence=[{"field": "payment_terms", "quote": "Invoices are payable within 60 days."}])
    result = check_draft(contract_lane(), json.dumps(draft), CONTRACT_TEXT)
    assert result.failed == ('evidence not found in input: "Invoices are payable within 60 days."',)


def test_evidence_is_verbatim_not_case_insensitive() -> None:
    draft = summary(evidence=[{"field": "renewal_date", "quote": "RENEWS AUTOMATICALLY"}])
    assert not check_draft(contract_lane(), json.dumps(draft), CONTRACT_TEXT).passed


def test_long_missing_quote_is_truncated() -> None:
    quote = "The supplier shall indemnify the customer against all losses " * 3
    draft = summary(evidence=[{"field": "risks", "quote": quote}])
    (failure,) = check_draft(contract_lane(), json.dumps(draft), CONTRACT_TEXT).failed
    assert (
        failure
        == 'evidence not found in input: "The supplier shall indemnify the customer against all losse…"'
    )


def test_empty_evidence_fails() -> None:
    result = check_draft(contract_lane(), json.dumps(summary(evidence=[])), CONTRACT_TEXT)
    assert result.failed == ("evidence missing: every claim needs a quote copied from the input",)


def test_blank_quote_fails() -> None:
    draft = summary(evidence=[{"field": "renewal_date", "quote": "   "}])
    assert check_draft(contract_lane(), json.dumps(draft), CONTRACT_TEXT).failed == (
        "evidence quote is empty",
    )


def test_evidence_not_required_is_not_checked() -> None:
    lane = contract_lane().model_copy(update={"evidence_required": False})
    draft = summary(evidence=[{"field": "x", "quote": "not in the contract"}])
    assert check_draft(lane, json.dumps(draft), CONTRACT_TEXT).passed


# --- sensitive patterns and review rule ---------------------------------------------------------

CODE_SENSITIVE = [r"(?i)\bauth(entication|orization)?\b", r"(?i)\bpassword", r"(?i)\bbilling\b"]


def test_sensitive_matches_name_the_patterns_in_config_order() -> None:
    lane = make_lane(sensitive=CODE_SENSITIVE)
    assert sensitive_matches(lane, "reset the Password flow", "touches billing") == (
        r"(?i)\bpassword",
        r"(?i)\bbilling\b",
    )
    assert sensitive_matches(lane, "rename a variable") == ()


def test_sensitive_request_or_draft_raises_review_to_two_people() -> None:
    lane = make_lane(sensitive=CODE_SENSITIVE, review="owner")
    assert effective_review_rule(lane, "fix the authorization check", "diff...") == "two_person"
    assert effective_review_rule(lane, "fix a typo", "also changed billing totals") == "two_person"
    assert effective_review_rule(lane, "fix a typo", "fixed") == "owner"


def test_lane_without_sensitive_patterns_keeps_its_rule() -> None:
    assert effective_review_rule(make_lane(review="none"), "password", "password") == "none"


# --- cross-check comparison ---------------------------------------------------------------------


def test_key_fields_compare_ignoring_case_and_whitespace() -> None:
    lane = contract_lane()
    a = {"renewal_date": "1 March  2026", "payment_terms": "Net 30"}
    b = {"renewal_date": " 1 march 2026", "payment_terms": "net\n30"}
    assert compare_key_fields(lane, a, b) == ()


def test_disagreeing_key_fields_are_named() -> None:
    lane = contract_lane()
    a = {"renewal_date": "2026-03-01", "payment_terms": "Net 30", "summary": "one"}
    b = {"renewal_date": "2026-04-01", "payment_terms": "Net 30", "summary": "two"}
    assert compare_key_fields(lane, a, b) == ("renewal_date",)


@pytest.mark.parametrize(
    ("a", "b", "differs"), [({}, {"payment_terms": None}, False), ({}, {"payment_terms": "x"}, True)]
)
def test_missing_field_counts_as_null(a: dict[str, Any], b: dict[str, Any], differs: bool) -> None:
    assert compare_key_fields(contract_lane(), a, b) == (("payment_terms",) if differs else ())


def test_nested_values_are_normalised_too() -> None:
    lane = make_lane(cross_check_fields=["parties"])
    assert compare_key_fields(lane, {"parties": ["ACME  Ltd", "Bob"]}, {"parties": ["acme ltd", "bob"]}) == ()
    assert compare_key_fields(lane, {"parties": ["ACME"]}, {"parties": ["ACME", "Bob"]}) == ("parties",)
