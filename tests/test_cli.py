"""`lanebot ask`, `decide`, `audit` and `db`, driven through ``bot.cli.main`` as a person types them.

Every test starts from a fresh audit store (a SQLite file under tmp_path, or a private PostgreSQL
schema) passed with ``--database-url``. Runs use the offline sample model, or the real openai and
anthropic SDK clients talking to a loopback ``ModelServer`` through the same environment
variables a deployment sets. Assertions read the CLI's own output (``audit --json``,
``audit show``), so the trail a person can see is what is checked.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz.distance import Levenshtein

from bot.cli import main
from lanes.providers.offline import BANNER
from storage.migrate import head_revision
from tests.fakes.model_servers import (
    REMOVE,
    TEST_OPENAI_KEY,
    Auth,
    ContentPolicy,
    Drip,
    Html,
    ModelServer,
    Ok,
    Raw,
    Reshaped,
    Status,
    Truncated,
)

ROOT = Path(__file__).resolve().parent.parent
FAST, LOCAL = "gpt-5-mini", "llama3.1:8b"
RUN_ID = re.compile(r"^run {6}([0-9a-f]{32})$", re.M)

AUDIT_KEYS = [
    "id",
    "lane",
    "status",
    "model",
    "provider",
    "route",
    "prompt_id",
    "prompt_version",
    "policy_version",
    "requester",
    "reviewer",
    "cost_usd",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "fallback_reason",
    "escalation_reason",
    "rejection_reason",
    "edit_distance",
    "created_at",
    "decided_at",
    "cost_estimated",
]
ASK_KEYS = [
    "run_id",
    "lane",
    "status",
    "route",
    "route_reasons",
    "tier",
    "model",
    "provider",
    "draft",
    "message",
    "failed_check",
    "fallback_reason",
    "escalation_reason",
    "review_rule",
    "cost_usd",
    "cost_known",
    "cost_estimated",
    "latency_ms",
    "prompt_id",
    "prompt_version",
    "policy_version",
    "attempts",
]
CONTRACT = (
    "This Services Agreement is made between Acme Inc. and Beta LLC. The agreement renews "
    "automatically on 2027-03-01. Payment is due net 30 days after invoice. Either party may "
    "terminate it with 30 days written notice."
)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """``lanebot --database-url URL ...`` in-process, with what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str], database: str, config: Path = ROOT / "lanes.toml"):
        self._capsys = capsys
        self.database = database
        self.config = config

    def __call__(self, *argv: str) -> Outcome:
        self._capsys.readouterr()
        code = main([*argv, "--database-url", self.database, "--config", str(self.config)])
        captured = self._capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def ask(self, lane: str, text: str, *, actor: str = "U0REQUEST") -> dict[str, Any]:
        """An offline run as JSON; it must draft."""
        result = self("ask", lane, text, "--offline", "--json", "--as", actor)
        assert result.code == 0, result.err
        return result.json()

    def audit(self, *filters: str) -> list[dict[str, Any]]:
        result = self("audit", "--json", *filters)
        assert result.code == 0, result.err
        return result.json()

    def lineage(self, run_id: str) -> dict[str, Any]:
        result = self("audit", "show", run_id, "--json")
        assert result.code == 0, result.err
        return result.json()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No settings leak in from the machine; the root logger is restored after ``main`` set it up."""
    for name in ("LANEBOT_CONFIG", "DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> Cli:
    return Cli(capsys, sqlite_url)


# --- ask ------------------------------------------------------------------------------------------
def test_ask_offline_on_a_fresh_sqlite_file_prints_route_draft_and_run_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database = tmp_path / "fresh" / "audit.db"
    database.parent.mkdir()
    cli = Cli(capsys, f"sqlite:///{database}")

    result = cli("ask", "support", "--offline", "--as", "U0REQUEST", "Hi, I was charged twice in November.")

    assert result.code == 0, result.err
    assert database.exists()
    run_id = RUN_ID.search(result.out)
    assert run_id is not None, result.out
    lines = result.out.splitlines()
    assert "status   drafted" in lines
    assert "route    default → fast: default for lane support" in lines
    assert re.search(
        r"^model    offline sample · would have used gpt-5-mini · est\. \$0\.\d{4}$", result.out, re.M
    )
    assert re.search(r"^cost     est\. \$0\.\d{4} · ", result.out, re.M)
    assert BANNER in lines
    assert "Thank you for flagging the charges." in result.out  # the billing reply
    assert lines[-1] == f"Decide with: lanebot decide {run_id.group(1)} approve|edit|reject --as <user id>"
    (row,) = cli.audit()
    assert (row["id"], row["status"], row["requester"], row["model"]) == (
        run_id.group(1),
        "drafted",
        "U0REQUEST",
        "gpt-5-mini",
    )
    assert row["cost_estimated"] is True and row["cost_usd"] > 0


def test_ask_prints_why_a_run_escalated(cli: Cli) -> None:
    result = cli("ask", "support", "I want a refund for the broken kettle", "--offline")

    assert result.code == 0
    assert "route    escalation → strong: escalated: keyword 'refund'" in result.out.splitlines()


def test_ask_json_has_the_stable_keys(cli: Cli) -> None:
    data = cli.ask("support", "Where is my parcel?")

    assert list(data) == ASK_KEYS
    assert (data["status"], data["route"], data["tier"], data["model"], data["provider"]) == (
        "drafted",
        "default",
        "fast",
        "gpt-5-mini",
        "openai",
    )
    assert data["route_reasons"] == ["default for lane support"]
    assert data["draft"].startswith(BANNER)
    assert data["prompt_id"] == "support/fast" and data["cost_usd"] > 0 and data["cost_known"] is True
    assert data["cost_estimated"] is True
    (attempt,) = data["attempts"]
    assert list(attempt) == ["kind", "tier", "model", "outcome", "reason_code", "latency_ms"]
    assert (attempt["kind"], attempt["outcome"]) == ("first", "ok")


def test_ask_reads_the_request_from_standard_input(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("My parcel\nnever arrived.\n"))

    result = cli("ask", "support", "--offline", "--json")

    assert result.code == 0, result.err
    data = result.json()
    assert "Sorry your parcel has not reached you yet" in data["draft"]
    assert cli.lineage(data["run_id"])["input_text"] == "My parcel\nnever arrived.\n"
    assert cli.lineage(data["run_id"])["requester"].startswith("cli:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope", "hello"], "lanebot: unknown lane 'nope'; lanes: code, contract, support\n"),
        (
            ["support", "   "],
            "lanebot: /support needs some text: /support <draft a reply to a customer message>\n",
        ),
    ],
    ids=["unknown-lane", "blank-text"],
)
def test_ask_refuses_a_request_it_cannot_run_and_writes_nothing(
    cli: Cli, argv: list[str], message: str
) -> None:
    result = cli("ask", *argv, "--offline")

    assert (result.code, result.out, result.err) == (1, "", message)
    assert cli.audit() == []


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def online(cli: Cli, server: ModelServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """The CLI with the shipped lanes.toml sent to ``server``: openai and anthropic tiers through the
    process environment (as in production), the self-hosted tier through its ``base_url``."""
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    text = (ROOT / "lanes.toml").read_text(encoding="utf-8")
    config = tmp_path / "lanes.toml"
    config.write_text(text.replace("http://localhost:11434/v1", server.openai_base_url), encoding="utf-8")
    return Cli(cli._capsys, cli.database, config)


def test_ask_against_real_sdk_clients_shows_the_fallback_when_the_first_model_503s(
    online: Cli, server: ModelServer
) -> None:
    server.script(FAST, Status(503))
    server.script(LOCAL, Ok("Sorry for the double charge; we are looking into it."))

    result = online("ask", "support", "I was charged twice.", "--as", "U0REQUEST")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "route    fallback → local: default for lane support" in lines
    fallback = next(line for line in lines if line.startswith("fallback "))
    assert "server error" in fallback
    assert f"model    {LOCAL} (openai_compatible)" in lines
    assert "Sorry for the double charge; we are looking into it." in lines
    assert [request.api_key for request in server.requests_for(FAST)] == [TEST_OPENAI_KEY]
    assert len(server.requests_for(LOCAL)) == 1
    run_id = RUN_ID.search(result.out)
    assert run_id is not None, result.out
    shown = online("audit", "show", run_id.group(1))
    assert re.search(rf"1\. first +fast +{FAST} → -: failed \(server_error\)", shown.out)
    assert re.search(rf"2\. fallback +local +{LOCAL} → {LOCAL}: ok", shown.out)
    (row,) = online.audit("--lane", "support")
    assert row["route"] == "fallback" and "server error" in row["fallback_reason"]


def test_ask_exit_code_says_a_human_must_look(online: Cli, server: ModelServer) -> None:
    server.script(FAST, ContentPolicy("Flagged: violence"))

    result = online("ask", "support", "Hello there", "--json")

    assert result.code == 3
    data = result.json()
    assert data["status"] == "needs_human" and data["draft"] is None
    assert "Flagged: violence" in data["message"]


def test_ask_without_keys_prints_one_paragraph_saying_what_to_set(cli: Cli) -> None:
    result = cli("ask", "support", "Hello there", "--as", "U0REQUEST")

    assert result.code == 1 and result.out == ""
    assert "Traceback" not in result.err and "{" not in result.err, "no raw JSON log line"
    (line,) = result.err.splitlines()
    assert line.startswith("lanebot: the support run failed: fast failed (auth: OPENAI_API_KEY is not set")
    assert "--offline" in line and "gpt-5-mini" in line
    assert "Decide with" not in line, "a failed run cannot be decided"
    (row,) = cli.audit()
    assert row["status"] == "failed" and f"lanebot audit show {row['id']}" in line


def test_lanebot_offline_in_the_environment_is_the_same_as_offline(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEBOT_OFFLINE", "1")

    data = cli("ask", "support", "Where is my parcel?", "--json").json()

    assert (data["status"], data["model"], data["cost_estimated"]) == ("drafted", "gpt-5-mini", True)


def test_ask_a_run_stopped_for_its_budget_offers_no_decision(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", TEST_OPENAI_KEY)
    text = (ROOT / "lanes.toml").read_text(encoding="utf-8")
    text = text.replace("max_cost_per_run_usd = 0.05", "max_cost_per_run_usd = 0.0000001", 1)
    text = text.replace(
        "price = { input_per_mtok = 0.0, output_per_mtok = 0.0 }",
        "price = { input_per_mtok = 90.0, output_per_mtok = 90.0 }",
    )
    config = tmp_path / "lanes.toml"
    config.write_text(text, encoding="utf-8")

    result = Cli(cli._capsys, cli.database, config)("ask", "support", "Where is my parcel?")

    assert result.code == 4, result.err
    assert "status   needs_confirmation" in result.out
    assert "Decide with" not in result.out
    assert (
        result.out.splitlines()[-1]
        == "No model was called. Ask in Slack, where an owner can run it anyway, or raise the budget."
    )


@pytest.mark.parametrize(
    ("lane", "message"),
    [
        (
            "suport",
            "lanebot: unknown lane 'suport'; did you mean 'support'? lanes: code, contract, support\n",
        ),
        (
            "Contract",
            "lanebot: unknown lane 'Contract'; did you mean 'contract'? lanes: code, contract, support\n",
        ),
    ],
)
def test_ask_guesses_a_mistyped_lane(cli: Cli, lane: str, message: str) -> None:
    result = cli("ask", lane, "hello", "--offline")

    assert (result.code, result.out, result.err) == (1, "", message)


# --- ask as a process: what a person sees when a model misbehaves ---------------------------------
def lanebot_ask(
    cli: Cli, server: ModelServer, tmp_path: Path, text: str, fast_timeout_s: int = 15
) -> Outcome:
    """``lanebot ask support TEXT --json`` as its own process, every tier sent to ``server`` (as a
    deployment's environment would); every tier times out after 15 s, ``fast`` after ``fast_timeout_s``."""
    config = tmp_path / "lanes-online.toml"
    source = (ROOT / "lanes.toml").read_text(encoding="utf-8")
    source = source.replace("http://localhost:11434/v1", server.openai_base_url)
    source = re.sub(r"timeout_s = \d+", "timeout_s = 15", source)
    config.write_text(source.replace("timeout_s = 15", f"timeout_s = {fast_timeout_s}", 1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANEBOT_", "OPENAI_", "ANTHROPIC_"))}
    env |= {**server.env(), "PYTHONPATH": str(ROOT), "DATABASE_URL": cli.database}
    argv = [sys.executable, "-m", "bot.cli", "ask", "support", text, "--json", "--config", str(config)]
    done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("first", "fallback", "code", "status", "reasons"),
    [
        (Truncated(), Ok("Fallback draft."), 0, "drafted", ["malformed_response", None]),
        (Html(), Raw(b""), 1, "failed", ["malformed_response", "malformed_response"]),
        (Drip(0.05), Ok("Fallback draft."), 0, "drafted", ["timeout", None]),
        (Auth(), Reshaped({"choices.0.message": REMOVE}), 1, "failed", ["auth", "malformed_response"]),
    ],
    ids=["truncated-json-then-ok", "html-then-empty-body", "drip-fed-then-ok", "bad-key-then-wrong-shape"],
)
def test_ask_process_exits_as_documented_with_every_attempt_recorded_and_no_traceback(
    cli: Cli, server: ModelServer, tmp_path: Path, first: Any, fallback: Any, code: int, status: str,
    reasons: list[str | None],
) -> None:  # fmt: skip
    server.script(FAST, first)
    server.script(LOCAL, fallback)

    slow = isinstance(first, Drip)  # a short deadline only where it is the point
    result = lanebot_ask(cli, server, tmp_path, "Where is my parcel?", fast_timeout_s=1 if slow else 15)

    assert "Traceback" not in result.err, result.err
    assert result.code == code, result.err
    data = result.json()
    assert data["status"] == status and [a["reason_code"] for a in data["attempts"]] == reasons
    lineage = cli.lineage(data["run_id"])
    assert lineage["status"] == status
    assert [(a["kind"], a["reason_code"]) for a in lineage["attempts"]] == [
        ("first", reasons[0]),
        ("fallback", reasons[1]),
    ]
    if status == "failed":
        assert data["draft"] is None and "fallback local failed too" in data["message"]


def test_ask_process_sends_a_refusal_after_an_honoured_retry_to_a_human(
    cli: Cli, server: ModelServer, tmp_path: Path
) -> None:
    server.script(FAST, Status(429, retry_after=0.1), ContentPolicy("Flagged: violence"))

    result = lanebot_ask(cli, server, tmp_path, "Hello there")

    assert "Traceback" not in result.err, result.err
    assert result.code == 3
    data = result.json()
    assert data["status"] == "needs_human" and data["draft"] is None
    assert [(a["kind"], a["reason_code"]) for a in data["attempts"]] == [
        ("first", "rate_limited"),
        ("retry", "content_policy"),
    ]
    assert server.requests_for(LOCAL) == [], "a refusal goes to a person, not to another model"
    assert cli.lineage(data["run_id"])["status"] == "needs_human"


# --- audit ----------------------------------------------------------------------------------------
def test_audit_lists_runs_as_a_table_json_and_csv(cli: Cli) -> None:
    first = cli.ask("support", "Where is my parcel?")
    second = cli.ask("code", "Rename the helper in utils.py", actor="U0DEV9")

    table = cli("audit")
    rows = cli.audit()
    csv = cli("audit", "--csv")

    assert table.code == 0
    header, *lines = table.out.splitlines()
    assert header.split()[:4] == ["created", "(UTC)", "run", "id"]
    assert [line.split()[1] for line in lines] == [second["run_id"], first["run_id"]], "newest first"
    assert [row["id"] for row in rows] == [second["run_id"], first["run_id"]]
    for row in rows:
        assert list(row) == AUDIT_KEYS
    assert rows[0]["requester"] == "U0DEV9" and rows[0]["lane"] == "code"
    csv_lines = csv.out.splitlines()
    assert csv_lines[0] == ",".join(AUDIT_KEYS)
    assert [line.split(",")[0] for line in csv_lines[1:]] == [second["run_id"], first["run_id"]]


def test_audit_filters_by_lane_status_requester_time_and_text(cli: Cli) -> None:
    parcel = cli.ask("support", "Where is my parcel? Mail me at dana@example.com", actor="U0DANA")
    code = cli.ask("code", "Rename the helper in utils.py", actor="U0DEV9")
    cli.ask("support", "Can I change my delivery address?", actor="U0SAM")
    assert cli("decide", parcel["run_id"], "approve", "--as", "U0OWNER").code == 0

    def ids(*filters: str) -> list[str]:
        return [row["id"] for row in cli.audit(*filters)]

    assert ids("--lane", "code") == [code["run_id"]]
    assert ids("--status", "approved") == [parcel["run_id"]]
    assert ids("--requester", "U0DANA") == [parcel["run_id"]]
    assert ids("--lane", "support", "--status", "drafted") == ids("--requester", "U0SAM")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert ids("--since", tomorrow) == []
    assert len(ids("--since", yesterday)) == 3
    assert ids("--text", "my parcel") == [parcel["run_id"]]  # the delivery replies say "your parcel"
    assert ids("--text", "dana@example.com") == [], "stored text is redacted, so the address is not there"
    assert ids("--text", "[EMAIL]") == [parcel["run_id"]]
    assert cli("audit", "--lane", "support", "--since", "1h", "--until", "30m").out == "no runs match\n"


def test_audit_refuses_a_date_it_cannot_read(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("audit", "--since", "last tuesday")

    assert exit_info.value.code == 2


def test_audit_show_prints_the_lineage_attempts_and_decisions(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?")
    cli("decide", run["run_id"], "approve", "--as", "U0NOBODY")
    cli("decide", run["run_id"], "approve", "--as", "U0OWNER")

    shown = cli("audit", "show", run["run_id"])

    assert shown.code == 0
    lines = shown.out.splitlines()
    assert lines[0] == f"run {run['run_id']} — lane support, approved"
    assert "  route: default — default for lane support" in lines
    assert re.search(r"^  1\. first +fast +gpt-5-mini → offline-sample: ok, \d+ ms$", shown.out, re.M)
    decisions = lines[lines.index("decisions:") + 1 :]
    assert len(decisions) == 2
    assert decisions[0].endswith(
        "refused by U0NOBODY: approve: only the owners or reviewers of lane support can approve its drafts"
    )
    assert decisions[1].endswith("approve (final) by U0OWNER")
    lineage = cli.lineage(run["run_id"])
    assert [a["kind"] for a in lineage["attempts"]] == ["first"]
    assert [(d["kind"], d["actor"]) for d in lineage["decisions"]] == [
        ("refused", "U0NOBODY"),
        ("approve", "U0OWNER"),
    ]


def test_audit_show_of_an_unknown_run_says_how_to_find_one(cli: Cli) -> None:
    result = cli("audit", "show", "0" * 32)

    assert result.code == 1
    assert result.err == f"lanebot: no run '{'0' * 32}'; list recent runs with `lanebot audit`\n"


# --- decide ---------------------------------------------------------------------------------------
def test_an_owner_approves_from_the_terminal(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?")

    result = cli("decide", run["run_id"], "approve", "--as", "U0OWNER")

    assert result.code == 0, result.err
    assert result.out == f"approve recorded for run {run['run_id']}: approved — approved\n"
    (row,) = cli.audit()
    assert (row["status"], row["reviewer"]) == ("approved", "U0OWNER")
    assert row["decided_at"] is not None


def test_someone_who_is_not_an_owner_is_refused_and_the_refusal_is_recorded(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?")

    result = cli("decide", run["run_id"], "approve", "--as", "U0STRANGER")

    assert result.code == 1 and result.out == ""
    assert result.err == "lanebot: only the owners or reviewers of lane support can approve its drafts\n"
    lineage = cli.lineage(run["run_id"])
    assert lineage["status"] == "drafted"
    (refusal,) = lineage["decisions"]
    assert (refusal["kind"], refusal["actor"], refusal["final"]) == ("refused", "U0STRANGER", False)
    assert refusal["note"].startswith("approve: only the owners")


def test_the_requester_cannot_approve_their_own_run(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?", actor="U0OWNER")

    result = cli("decide", run["run_id"], "approve", "--as", "U0OWNER")

    assert result.code == 1
    assert "you requested this run, so someone else must approve it" in result.err
    assert cli.lineage(run["run_id"])["status"] == "drafted"


def test_a_rejection_needs_a_reason(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?")

    without = cli("decide", run["run_id"], "reject", "--as", "U0OWNER")
    with_reason = cli("decide", run["run_id"], "reject", "--as", "U0OWNER", "--reason", "wrong tone")

    assert without.code == 1
    assert (
        "a rejection needs a reason: one of wrong facts, wrong tone, incomplete, unsafe, other" in without.err
    )
    assert with_reason.code == 0, with_reason.err
    (row,) = cli.audit()
    assert (row["status"], row["rejection_reason"], row["reviewer"]) == ("rejected", "wrong tone", "U0OWNER")


def test_an_edit_from_a_file_records_its_edit_distance(cli: Cli, tmp_path: Path) -> None:
    run = cli.ask("support", "Where is my parcel?")
    edited = "Hi! Your parcel left our warehouse yesterday; here is the tracking link."
    text_file = tmp_path / "reply.txt"
    text_file.write_text(edited, encoding="utf-8")
    distance = Levenshtein.distance(run["draft"], edited)

    result = cli("decide", run["run_id"], "edit", "--as", "U0REVIEW", "--text-file", str(text_file))

    assert result.code == 0, result.err
    assert result.out.endswith(f"(edit distance {distance})\n")
    (row,) = cli.audit()
    assert (row["status"], row["edit_distance"], row["reviewer"]) == ("edited", distance, "U0REVIEW")
    (decision,) = cli.lineage(run["run_id"])["decisions"]
    assert decision["edited_text"] == edited


def test_an_edit_without_text_is_refused(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?")

    result = cli("decide", run["run_id"], "edit", "--as", "U0OWNER")

    assert result.code == 1 and "an edit needs the edited text" in result.err


def test_a_two_person_lane_needs_two_different_approvers(cli: Cli) -> None:
    run = cli.ask("contract", CONTRACT + " Notices go to legal@acme.example.")
    run_id = run["run_id"]
    assert run["review_rule"] == "two_person"
    assert cli.lineage(run_id)["input_text"].endswith("Notices go to [EMAIL].")

    first = cli("decide", run_id, "approve", "--as", "U0LEGAL")
    again = cli("decide", run_id, "approve", "--as", "U0LEGAL")
    status_after_one = cli.lineage(run_id)["status"]
    second = cli("decide", run_id, "approve", "--as", "U0COUNSEL")

    assert first.code == 0 and "1 of 2 approvals; a second person must approve" in first.out
    assert again.code == 1
    assert "you already approved this run; a second, different person must approve it" in again.err
    assert status_after_one == "drafted"
    assert second.code == 0 and "2 of 2 approvals" in second.out
    lineage = cli.lineage(run_id)
    assert lineage["status"] == "approved"
    assert [(d["kind"], d["actor"], d["final"]) for d in lineage["decisions"]] == [
        ("approval", "U0LEGAL", False),
        ("refused", "U0LEGAL", False),
        ("approve", "U0COUNSEL", True),
    ]


def test_a_decided_run_cannot_be_decided_again(cli: Cli) -> None:
    run = cli.ask("support", "Where is my parcel?")
    cli("decide", run["run_id"], "approve", "--as", "U0OWNER")

    result = cli("decide", run["run_id"], "reject", "--as", "U0REVIEW", "--reason", "other")

    assert result.code == 1 and result.err == "lanebot: already approved\n"
    (row,) = cli.audit()
    assert (row["status"], row["reviewer"]) == ("approved", "U0OWNER")


# --- db and PostgreSQL ----------------------------------------------------------------------------
def test_db_upgrade_prints_the_revision(cli: Cli) -> None:
    head = head_revision()

    upgraded = cli("db", "upgrade")
    current = cli("db", "current")

    assert upgraded.code == 0
    assert upgraded.out == f"schema revision: {head} (head: {head})\n"
    assert current.out == upgraded.out


def test_the_whole_loop_runs_on_postgresql(capsys: pytest.CaptureFixture[str], pg_url: str) -> None:
    cli = Cli(capsys, pg_url)

    assert cli("db", "upgrade").out == f"schema revision: {head_revision()} (head: {head_revision()})\n"
    run = cli.ask("contract", CONTRACT)
    assert cli("decide", run["run_id"], "approve", "--as", "U0LEGAL").code == 0
    assert cli("decide", run["run_id"], "approve", "--as", "U0COUNSEL").code == 0

    (row,) = cli.audit("--lane", "contract", "--text", "Acme")
    assert (row["id"], row["status"], row["reviewer"]) == (run["run_id"], "approved", "U0COUNSEL")
    shown = cli("audit", "show", run["run_id"])
    assert "approval by U0LEGAL" in shown.out and "approve (final) by U0COUNSEL" in shown.out
