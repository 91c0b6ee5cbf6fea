"""Audit search on SQLite and PostgreSQL: every filter alone and combined, literal text matching,
and the published summary format (``SUMMARY_KEYS``) in JSON and CSV.

The trail is written through the store's own methods, the way the engine writes it, so these
tests also pin how search reads what the workflow records.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from lanes.audit.records import NewDecision, NewRun, RunOutcome
from lanes.errors import InvalidRequestError
from lanes.lifecycle import DecisionGuard, transition
from lanes.values import Attempt, AttemptKind
from storage.search import SUMMARY_KEYS, AuditQuery, RunSummary, escape_like, search, to_csv
from storage.store import AuditStore

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINI, MINI_ANSWERED, HAIKU = "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "claude-3-5-haiku-latest"


def _start(store: AuditStore, run_id: str, lane: str, requester: str, at: datetime, text: str | None) -> None:
    store.start_run(
        NewRun(
            id=run_id,
            lane=lane,
            requester=requester,
            created_at=at,
            input_text=text,
            input_chars=len(text or ""),
            route_kind="default",
            tier="fast",
            prompt_id=f"{lane}.reply",
            prompt_version="3",
            policy_version="2",
        ),
        transition("start"),
    )


def _attempt(
    store: AuditStore, run_id: str, seq: int, kind: AttemptKind, asked: str, got: str | None, at: datetime
) -> None:
    store.record_attempt(
        run_id,
        seq,
        Attempt(
            kind=kind,
            tier="fast",
            provider="openai",
            model_requested=asked,
            outcome="ok" if got else "failed",
            started_at=at,
            latency_ms=500.0,
            model_answered=got,
        ),
    )


def _draft(store: AuditStore, run_id: str, at: datetime, **values: Any) -> None:
    fields: dict[str, Any] = {
        "finished_at": at + timedelta(seconds=4),
        "provider": "openai",
        "model": MINI_ANSWERED,
        "draft_text": "Thanks for writing in",
        "cost_usd": 0.002,
        "input_tokens": 200,
        "output_tokens": 60,
        "latency_ms": 1500.0,
    }
    fields.update(values)
    assert store.finish_run(run_id, transition("draft"), RunOutcome(**fields))


def _decide(store: AuditStore, run_id: str, actor: str, kind: str, at: datetime, **values: Any) -> None:
    final = kind in ("approve", "edit", "reject")
    guard = DecisionGuard(
        transition(kind if final else "approve_partly"), store.get_run(run_id).approval_count
    )
    outcome = store.apply_decision(
        NewDecision(run_id=run_id, kind=kind, actor=actor, created_at=at, final=final, **values), guard
    )
    assert outcome.applied


@pytest.fixture
def trail(store: AuditStore) -> AuditStore:
    """Five runs, newest first: r4 (sales, drafted), r3 (sales, edited after a first approval),
    r2 (support, fallback, rejected), r1 (support, approved), r5 (support, a day earlier, failed)."""
    _start(store, "r1", "support", "U_ALICE", T0, "Refund for order 50%_off, reply to [EMAIL]")
    _attempt(store, "r1", 1, "first", MINI, MINI_ANSWERED, T0)
    _draft(store, "r1", T0)
    _decide(store, "r1", "U_OWNER", "approve", T0 + HOUR / 2)

    _start(store, "r2", "support", "U_CAROL", T0 + HOUR, "Where is my parcel? path C:\\temp\\x")
    _attempt(store, "r2", 1, "first", MINI, None, T0 + HOUR)
    _attempt(store, "r2", 2, "fallback", HAIKU, HAIKU, T0 + HOUR)
    _draft(
        store,
        "r2",
        T0 + HOUR,
        provider="anthropic",
        model=HAIKU,
        route_kind="fallback",
        fallback_reason="openai timed out",
        draft_text="Your parcel is on its way",
    )
    _decide(store, "r2", "U_BOB", "reject", T0 + 2 * HOUR, reason="wrong tone")

    _start(store, "r3", "sales", "U_ALICE", T0 + 2 * HOUR, "Pricing FOR Q4 order_id 17")
    _attempt(store, "r3", 1, "first", MINI, MINI_ANSWERED, T0 + 2 * HOUR)
    _draft(store, "r3", T0 + 2 * HOUR, draft_text="Our Q4 pricing")
    _decide(store, "r3", "U_DAVE", "approval", T0 + 3 * HOUR)
    _decide(store, "r3", "U_OWNER", "edit", T0 + 4 * HOUR, edited_text="Our Q4 prices", edit_distance=7)

    _start(store, "r4", "sales", "U_BOB", T0 + 3 * HOUR, "50 percent off orderXid")
    _attempt(store, "r4", 1, "escalation", "gpt-4o", "gpt-4o", T0 + 3 * HOUR)
    _draft(
        store,
        "r4",
        T0 + 3 * HOUR,
        model="gpt-4o",
        tier="strong",
        route_kind="escalation",
        escalation_reason="risk is high",
        draft_text="A discount of half",
    )
    store.record_event("r4", "refused", "U_MALLORY", T0 + 4 * HOUR, note="approve: not a reviewer")

    _start(store, "r5", "support", "U_CAROL", T0 - 24 * HOUR, None)
    store.finish_run(
        "r5", transition("fail"), RunOutcome(finished_at=T0 - 24 * HOUR, error="all tiers failed")
    )
    return store


def ids(store: AuditStore, **filters: object) -> list[str]:
    return [row.id for row in store.search(AuditQuery(**filters))]  # type: ignore[arg-type]


# --- filters --------------------------------------------------------------------------------


def test_no_filter_lists_every_run_newest_first(trail: AuditStore) -> None:
    assert ids(trail) == ["r4", "r3", "r2", "r1", "r5"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lane": "support"}, ["r2", "r1", "r5"]),
        ({"lane": "nobody"}, []),
        ({"status": "rejected"}, ["r2"]),
        ({"status": "drafted"}, ["r4"]),
        ({"requester": "U_ALICE"}, ["r3", "r1"]),
        ({"model": HAIKU}, ["r2"]),
        ({"model": MINI}, ["r3", "r2", "r1"]),
        ({"model": MINI_ANSWERED}, ["r3", "r1"]),
        ({"model": "strong"}, ["r4"]),
        ({"reviewer": "U_OWNER"}, ["r3", "r1"]),
        ({"reviewer": "U_DAVE"}, ["r3"]),
        ({"reviewer": "U_BOB"}, ["r2"]),
        ({"reviewer": "U_MALLORY"}, []),
        ({"since": T0 + HOUR}, ["r4", "r3", "r2"]),
        ({"until": T0 + HOUR}, ["r1", "r5"]),
        ({"since": T0 + HOUR, "until": T0 + 3 * HOUR}, ["r3", "r2"]),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None,
)
def test_each_filter_alone(trail: AuditStore, filters: dict[str, object], expected: list[str]) -> None:
    assert ids(trail, **filters) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"lane": "support", "reviewer": "U_OWNER"}, ["r1"]),
        ({"lane": "sales", "requester": "U_ALICE", "model": MINI}, ["r3"]),
        ({"lane": "support", "since": T0 - HOUR, "text": "parcel"}, ["r2"]),
        ({"status": "approved", "lane": "sales"}, []),
        ({"reviewer": "U_OWNER", "until": T0 + HOUR}, ["r1"]),
        ({"requester": "U_ALICE", "text": "order", "status": "edited"}, ["r3"]),
    ],
)
def test_filters_combine_with_and(trail: AuditStore, filters: dict[str, object], expected: list[str]) -> None:
    assert ids(trail, **filters) == expected


def test_reviewer_matches_once_per_run_however_many_decisions(trail: AuditStore) -> None:
    trail.record_event("r1", "remind", "lanebot", T0 + HOUR)
    assert ids(trail, reviewer="U_OWNER") == ["r3", "r1"]
    assert ids(trail, model=MINI, lane="support") == ["r2", "r1"]


def test_limit_and_offset_page_through_newest_first(trail: AuditStore) -> None:
    assert ids(trail, limit=2) == ["r4", "r3"]
    assert ids(trail, limit=2, offset=2) == ["r2", "r1"]
    assert ids(trail, limit=2, offset=4) == ["r5"]
    assert ids(trail, offset=10) == []


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("refund", ["r1"]),
        ("PRICING for", ["r3"]),
        ("on its way", ["r2"]),
        ("our q4", ["r3"]),
        ("50%", ["r1"]),
        ("50%_off", ["r1"]),
        ("order_id", ["r3"]),
        ("%", ["r1"]),
        ("_", ["r3", "r1"]),
        ("C:\\temp", ["r2"]),
        ("\\", ["r2"]),
        ("[EMAIL]", ["r1"]),
        ("nowhere", []),
    ],
)
def test_text_matches_literally_and_ignores_case(trail: AuditStore, needle: str, expected: list[str]) -> None:
    assert ids(trail, text=needle) == expected


def test_text_looks_at_draft_as_well_as_input(trail: AuditStore) -> None:
    assert ids(trail, text="thanks for writing") == ["r1"]
    assert ids(trail, text="discount") == ["r4"]


def test_escape_like_doubles_the_escape_first() -> None:
    assert escape_like("50%_off\\x") == "50\\%\\_off\\\\x"


# --- summaries ------------------------------------------------------------------------------


def test_summary_reports_route_cost_and_final_decision(trail: AuditStore) -> None:
    rows = {row.id: row for row in trail.search(AuditQuery())}
    rejected = rows["r2"]
    assert (rejected.route, rejected.model, rejected.provider) == ("fallback", HAIKU, "anthropic")
    assert (rejected.reviewer, rejected.rejection_reason, rejected.edit_distance) == (
        "U_BOB",
        "wrong tone",
        None,
    )
    assert rejected.fallback_reason == "openai timed out"
    assert rejected.decided_at == T0 + 2 * HOUR
    edited = rows["r3"]
    assert (edited.reviewer, edited.edit_distance, edited.rejection_reason) == ("U_OWNER", 7, None)
    approved = rows["r1"]
    assert (approved.prompt_id, approved.prompt_version, approved.policy_version) == (
        "support.reply",
        "3",
        "2",
    )
    assert (approved.cost_usd, approved.input_tokens, approved.output_tokens) == (0.002, 200, 60)
    assert approved.latency_ms == 1500.0 and approved.created_at == T0
    open_run = rows["r4"]
    assert (open_run.reviewer, open_run.decided_at, open_run.escalation_reason) == (
        None,
        None,
        "risk is high",
    )
    assert (rows["r5"].status, rows["r5"].model, rows["r5"].cost_usd) == ("failed", None, None)


def test_json_keys_are_exactly_summary_keys_in_order(trail: AuditStore) -> None:
    assert SUMMARY_KEYS == (
        "id", "lane", "status", "model", "provider", "route", "prompt_id", "prompt_version", "policy_version",
        "requester", "reviewer", "cost_usd", "input_tokens", "output_tokens", "latency_ms", "fallback_reason",
        "escalation_reason", "rejection_reason", "edit_distance", "created_at", "decided_at",
        "cost_estimated",
    )  # fmt: skip
    for row in trail.search(AuditQuery()):
        data = row.as_json()
        assert tuple(data) == SUMMARY_KEYS
        json.dumps(data)
    r2 = next(row for row in trail.search(AuditQuery(status="rejected")))
    data = r2.as_json()
    assert data["created_at"] == "2026-11-16T10:00:00+00:00"
    assert datetime.fromisoformat(data["decided_at"]) == T0 + 2 * HOUR
    assert data["rejection_reason"] == "wrong tone" and data["edit_distance"] is None


def test_csv_has_the_summary_header_and_one_line_per_run(trail: AuditStore) -> None:
    rows = trail.search(AuditQuery())
    text = to_csv(rows)
    lines = text.splitlines()
    assert lines[0] == ",".join(SUMMARY_KEYS)
    assert len(lines) == 1 + len(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [line["id"] for line in parsed] == ["r4", "r3", "r2", "r1", "r5"]
    r2 = parsed[2]
    assert (r2["reviewer"], r2["rejection_reason"], r2["edit_distance"]) == ("U_BOB", "wrong tone", "")
    assert r2["created_at"] == "2026-11-16T10:00:00+00:00"
    assert parsed[4]["cost_usd"] == "" and parsed[4]["decided_at"] == ""


def test_csv_of_nothing_is_just_the_header() -> None:
    assert to_csv([]) == ",".join(SUMMARY_KEYS) + "\n"


def test_store_export_in_both_formats(trail: AuditStore) -> None:
    query = AuditQuery(lane="sales")
    as_json = json.loads(trail.export(query))
    assert [row["id"] for row in as_json] == ["r4", "r3"]
    assert all(tuple(row) == SUMMARY_KEYS for row in as_json)
    assert trail.export(query, "csv") == to_csv(trail.search(query))


# --- how search runs ------------------------------------------------------------------------


def test_search_is_one_statement_whatever_the_page(trail: AuditStore) -> None:
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with trail.engine.connect() as connection:
        event.listen(trail.engine, "before_cursor_execute", seen)
        try:
            rows = search(connection, AuditQuery(model=MINI, reviewer="U_OWNER", text="o"))
        finally:
            event.remove(trail.engine, "before_cursor_execute", seen)
    assert [row.id for row in rows] == ["r3", "r1"]
    assert len(statements) == 1


def test_search_takes_an_engine_or_a_session(trail: AuditStore) -> None:
    by_engine = search(trail.engine, AuditQuery(lane="sales"))
    with Session(trail.engine) as session:
        by_session = search(session, AuditQuery(lane="sales"))
    assert by_engine == by_session
    assert all(isinstance(row, RunSummary) for row in by_engine)


@pytest.mark.parametrize(
    ("filters", "fix"),
    [
        ({"since": datetime(2026, 11, 1)}, "aware time"),
        ({"until": datetime(2026, 11, 1)}, "aware time"),
        ({"limit": 0}, "between 1 and"),
        ({"offset": -1}, "0 or more"),
    ],
)
def test_bad_queries_are_refused_with_the_fix(filters: dict[str, object], fix: str) -> None:
    with pytest.raises(InvalidRequestError, match=fix):
        AuditQuery(**filters)  # type: ignore[arg-type]
