"""The offline sample model: each lane's draft is of its own kind and honest about its source.

Contracts: fields that are in the text are found, fields that are not are ``null`` and named as
not found, and every evidence quote is a verbatim slice of the input. Support: the reply fits
what the message is about and obeys the support lane's own checks. Code: the draft holds a
well-formed unified diff that applies to the quoted code. Runs: recorded under the configured
model that would have answered, with an estimated cost flagged as such, and shown that way.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from bot.runtime.core import Core, build_core
from bot.runtime.metrics import Metrics
from bot.slack.views import run_context
from lanes.checks import check_draft
from lanes.config import LanesConfig, load_config
from lanes.estimates import offline_line
from lanes.pricing import cost_usd
from lanes.providers.offline import (
    BANNER,
    OFFLINE_MODEL,
    code_suggestion,
    contract_summary,
    support_reply,
    topic_of,
)
from lanes.values import RunRequest

ROOT = Path(__file__).resolve().parent.parent

FULL_CONTRACT = "\n".join(
    (
        "SOFTWARE SUBSCRIPTION AGREEMENT",
        'This Agreement is made between Northwind Traders Inc. ("Customer") and Contoso Cloud Ltd. '
        '("Provider"), dated 2 January 2026.',
        "1. Term. The subscription starts on 2026-02-01 and renews automatically on 2027-02-01 for "
        "successive one-year terms.",
        "2. Fees. Customer shall pay $2,400 per month, payable within thirty (30) days of invoice.",
        "3. Termination. Either party may terminate this Agreement on 90 days' written notice.",
    )
)
SPARSE_CONTRACT = (
    "Memorandum of understanding between Fabrikam GmbH and Tailspin Toys AG. The parties will "
    "cooperate on a joint marketing campaign in spring. Each party bears its own costs."
)
NO_PARTIES = "The supplier delivers the goods to the warehouse. Invoices are payable net 45."


@pytest.fixture(scope="module")
def config() -> LanesConfig:
    return load_config(ROOT / "lanes.toml")


def _found(summary: dict[str, object], field: str) -> list[str]:
    evidence = summary["evidence"]
    assert isinstance(evidence, list)
    return [item["quote"] for item in evidence if item["field"] == field]


# --- contract -------------------------------------------------------------------------------------
def test_contract_fields_in_the_text_are_found_with_verbatim_evidence(config: LanesConfig) -> None:
    summary = contract_summary(FULL_CONTRACT)

    jsonschema.validate(summary, config.lane("contract").output_schema or {})
    assert summary["parties"] == ["Northwind Traders Inc.", "Contoso Cloud Ltd."]
    assert summary["renewal_date"] == "2027-02-01"
    assert summary["payment_terms"] == "$2,400 per month; within thirty (30) days of invoice"
    assert summary["termination"] == "Either party may terminate this Agreement on 90 days' written notice."
    assert "Not found" not in summary["summary"] and summary["summary"].startswith(BANNER)
    assert "Dates in the text: 2 January 2026, 2026-02-01, 2027-02-01." in summary["summary"]
    assert len(_found(summary, "dates")) == 2  # the opening clause and the term clause
    for field in ("summary", "parties", "renewal_date", "payment_terms", "termination"):
        assert _found(summary, field), f"{field} has no evidence"
    assert all(item["quote"] in FULL_CONTRACT for item in summary["evidence"])
    assert "2027-02-01" in _found(summary, "renewal_date")[0]
    assert "$2,400 per month" in _found(summary, "payment_terms")[0]


def test_contract_fields_not_in_the_text_are_null_and_said_not_found(config: LanesConfig) -> None:
    summary = contract_summary(SPARSE_CONTRACT)

    jsonschema.validate(summary, config.lane("contract").output_schema or {})
    assert summary["parties"] == ["Fabrikam GmbH", "Tailspin Toys AG"]
    assert (summary["renewal_date"], summary["payment_terms"], summary["termination"]) == (None, None, None)
    assert "Not found in the text: renewal date, payment terms, termination, dates." in summary["summary"]
    assert {item["field"] for item in summary["evidence"]} == {"summary", "parties"}
    assert all(item["quote"] in SPARSE_CONTRACT for item in summary["evidence"])


def test_contract_without_named_parties_invents_none() -> None:
    summary = contract_summary(NO_PARTIES)

    assert summary["parties"] == [] and "parties" in summary["summary"]
    assert summary["payment_terms"] == "net 45"
    assert all(item["quote"] in NO_PARTIES for item in summary["evidence"])


def test_a_renewal_clause_without_a_date_gives_no_date() -> None:
    summary = contract_summary("This Agreement renews each year unless cancelled by the Customer.")

    assert summary["renewal_date"] is None and not _found(summary, "renewal_date")
    assert summary["termination"] is not None  # "cancelled" is a termination clause


def test_the_contract_lane_accepts_the_offline_summary_through_its_checks(core: Core) -> None:
    result = core.engine.run(RunRequest(lane="contract", text=FULL_CONTRACT, requester="U0LEGAL"))

    assert result.status == "drafted", result.message
    assert result.draft is not None
    parsed = json.loads(result.draft)
    assert parsed["renewal_date"] == "2027-02-01"
    assert check_draft(core.config.lane("contract"), result.draft, FULL_CONTRACT).passed


# --- support --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "topic", "phrase"),
    [
        ("Where is my parcel? Order 77812 was due on Monday.", "delivery", "parcel has not reached you"),
        ("I'd like a refund for my order 55120, it's not what I expected.", "refund", "reviews refunds"),
        ("I can't log in, the password reset link never arrives.", "login", "Forgot password"),
        ("Hi, my invoice shows two charges for November. Thanks, Dana", "billing", "flagging the charges"),
        ("The kettle arrived broken, the lid is cracked.", "damaged", "photo of the damage"),
        ("Please cancel my subscription at the end of the month.", "cancel", "cancellation terms"),
        ("Do you have the blue jacket in size M?", "general", "A colleague will look into it"),
    ],
)
def test_support_reply_fits_the_topic_and_the_lane_rules(
    config: LanesConfig, message: str, topic: str, phrase: str
) -> None:
    reply = support_reply(message)

    assert topic_of(message) == topic
    assert reply.startswith(BANNER) and phrase in reply
    assert check_draft(config.lane("support"), reply, message).passed
    assert len(reply.split()) <= 150


def test_support_reply_uses_the_name_and_the_order_number_given() -> None:
    reply = support_reply("My package with order #A-99812 never came.\nBest,\nPriya")

    assert "Hi Priya," in reply and "(order A-99812)" in reply
    assert "Hi there," in support_reply("Where is my parcel?")


# --- code -----------------------------------------------------------------------------------------
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_unified_diff(diff: str) -> tuple[str, str, list[str], list[str]]:
    """Old path, new path, old lines and new lines of a one-file diff; fails on a malformed one."""
    lines = diff.splitlines()
    assert lines[0].startswith("--- ") and lines[1].startswith("+++ "), lines[:2]
    old_path, new_path = lines[0][4:], lines[1][4:]
    old: list[str] = []
    new: list[str] = []
    index = 2
    while index < len(lines):
        header = HUNK.match(lines[index])
        assert header is not None, f"not a hunk header: {lines[index]!r}"
        old_count = int(header.group(2) or 1)
        new_count = int(header.group(4) or 1)
        index += 1
        seen_old = seen_new = 0
        while index < len(lines) and not lines[index].startswith("@@"):
            tag, text = lines[index][:1], lines[index][1:]
            assert tag in (" ", "+", "-"), f"bad diff line {lines[index]!r}"
            if tag != "+":
                old.append(text)
                seen_old += 1
            if tag != "-":
                new.append(text)
                seen_new += 1
            index += 1
        assert (seen_old, seen_new) == (old_count, new_count), "hunk counts do not match its lines"
    return old_path, new_path, old, new


def _diff_of(draft: str) -> str:
    fenced = re.search(r"```diff\n(.*?)\n```", draft, re.S)
    assert fenced is not None, draft
    return fenced.group(1)


def test_code_draft_is_a_unified_diff_that_applies_to_the_quoted_code(config: LanesConfig) -> None:
    request = (
        "Fix the crash when name is None in app/users.py:\n"
        "```python\ndef greet(name):\n    return 'Hello ' + name.upper()\n```"
    )
    draft = code_suggestion(request)

    old_path, new_path, old, new = parse_unified_diff(_diff_of(draft))
    assert draft.startswith(BANNER) and (old_path, new_path) == ("a/app/users.py", "b/app/users.py")
    assert old == ["def greet(name):", "    return 'Hello ' + name.upper()"]
    assert new[1:3] == ["    if name is None:", '        raise ValueError("name is required")']
    assert check_draft(config.lane("code"), draft, request).passed


def test_git_applies_the_code_draft_to_the_quoted_file(tmp_path: Path) -> None:
    request = (
        "Handle a missing value in app/cart.py:\n```python\ndef total(items):\n    return sum(items)\n```"
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cart.py").write_text("def total(items):\n    return sum(items)\n")
    (tmp_path / "change.diff").write_text(_diff_of(code_suggestion(request)) + "\n")

    applied = subprocess.run(
        ["git", "apply", "--unsafe-paths", "change.diff"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert applied.returncode == 0, applied.stderr
    assert (tmp_path / "app" / "cart.py").read_text().splitlines()[1] == "    if items is None:"


def test_code_draft_marks_the_spot_when_it_cannot_guard() -> None:
    request = "Rename the helper in utils/strings.js\nconst slug = (s) => s.toLowerCase()"
    old_path, _, old, new = parse_unified_diff(_diff_of(code_suggestion(request)))

    assert old_path == "a/utils/strings.js" and old == ["const slug = (s) => s.toLowerCase()"]
    assert new == ["// TODO: Rename the helper in utils/strings.js", *old]


def test_code_draft_without_code_adds_a_stub_to_a_new_file() -> None:
    old_path, new_path, old, new = parse_unified_diff(_diff_of(code_suggestion("Add a retry helper")))

    assert (old_path, new_path, old) == ("/dev/null", "b/example.py", [])
    assert new[0] == "# TODO: Add a retry helper"


# --- the run: would-have-used model and estimated cost ---------------------------------------------
@pytest.fixture
def core(sqlite_url: str, config: LanesConfig, redactor: object) -> Iterator[Core]:
    built = build_core(config=config, database=sqlite_url, env={}, offline=True, redactor=redactor)  # type: ignore[arg-type]
    yield built
    built.close()


def test_an_offline_run_records_the_configured_model_and_a_flagged_estimate(core: Core) -> None:
    result = core.engine.run(RunRequest(lane="support", text="Where is my parcel?", requester="U0REQUEST"))
    record = core.store.get_run(result.run_id)

    assert record is not None
    (attempt,) = record.attempts
    assert (attempt.model_requested, attempt.model_answered, attempt.cost_estimated) == (
        "gpt-5-mini",
        OFFLINE_MODEL,
        True,
    )
    expected = cost_usd(core.config.models["fast"], attempt.input_tokens, attempt.output_tokens)
    assert expected is not None and expected > 0
    assert attempt.cost_usd == pytest.approx(expected)
    assert (record.model, record.provider, record.cost_estimated) == ("gpt-5-mini", "openai", True)
    assert record.cost_usd == pytest.approx(expected) and record.cost_known
    assert (result.model_answered, result.cost_estimated) == ("gpt-5-mini", True)
    line = offline_line("gpt-5-mini", result.cost_usd, True)
    assert re.fullmatch(r"offline sample · would have used gpt-5-mini · est\. \$0\.\d{4}", line)
    assert run_context(result)[0] == line


def test_an_escalated_offline_run_would_have_used_the_strong_model(core: Core) -> None:
    result = core.engine.run(RunRequest(lane="support", text="I want a refund now", requester="U0REQUEST"))
    record = core.store.get_run(result.run_id)

    assert record is not None and record.route_kind == "escalation"
    assert (record.tier, record.model, record.cost_estimated) == ("strong", "claude-sonnet-4-6", True)


def test_an_estimate_is_not_counted_as_spend_in_the_metrics(core: Core) -> None:
    metrics = Metrics()
    result = core.engine.run(RunRequest(lane="support", text="Where is my parcel?", requester="U0REQUEST"))

    for attempt in result.attempts:
        metrics.attempt_finished("support", attempt)

    exported = metrics.render()[0].decode()
    assert "lanebot_model_latency_seconds_count" in exported
    assert not re.search(r"^lanebot_cost_usd_total\{", exported, re.M)
