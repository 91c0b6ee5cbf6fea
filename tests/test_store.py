"""The audit store's promises, each checked on a SQLite file and on PostgreSQL (the ``store`` fixture).

The concurrency tests use real threads against the real database: "exactly one decision" and
"exactly once" are properties of SQL (conditional updates, unique keys), so that is where they are
tested, not with locks or mocks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import ColumnElement, func, select

from lanes.audit.records import DecisionOutcome, NewDecision, NewRun, RunOutcome
from lanes.errors import AuditWriteError, RunNotFoundError
from lanes.lifecycle import DecisionGuard, transition
from lanes.values import Attempt
from storage import models
from storage.db import make_engine
from storage.migrate import upgrade
from storage.store import AuditStore

T = TypeVar("T")
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
RACERS = 8


def new_run(run_id: str, *, lane: str = "support", at: datetime = T0, key: str | None = None) -> NewRun:
    return NewRun(
        id=run_id,
        lane=lane,
        requester="U_REQ",
        created_at=at,
        input_text="customer asks about [EMAIL]",
        input_chars=28,
        route_reasons=("default tier",),
        route_kind="default",
        tier="fast",
        idempotency_key=key,
    )


START, DRAFT, FAIL = transition("start"), transition("draft"), transition("fail")
GUARDED = {
    "approve": "approve",
    "edit": "edit",
    "reject": "reject",
    "approval": "approve_partly",
    "expire": "expire",
}


def drafted(at: datetime = T0, *, cost: float | None = 0.01) -> RunOutcome:
    return RunOutcome(
        finished_at=at + timedelta(seconds=3),
        provider="openai",
        model="gpt-4o-mini-2024-07-18",
        draft_text="Thanks for writing in",
        cost_usd=cost,
        input_tokens=120,
        output_tokens=40,
        latency_ms=812.5,
    )


def attempt(kind: str = "first", *, outcome: str = "ok", at: datetime = T0) -> Attempt:
    return Attempt(
        kind=kind,  # type: ignore[arg-type]
        tier="fast",
        provider="openai",
        model_requested="gpt-4o-mini",
        outcome=outcome,  # type: ignore[arg-type]
        started_at=at,
        latency_ms=812.5,
        model_answered="gpt-4o-mini-2024-07-18" if outcome == "ok" else None,
        input_tokens=120,
        output_tokens=40,
        cost_usd=0.01,
        reason_code=None if outcome == "ok" else "timeout",
    )


def drafted_run(store: AuditStore, run_id: str = "r1") -> str:
    assert store.start_run(new_run(run_id), START) == (run_id, True)
    assert store.finish_run(run_id, DRAFT, drafted())
    return run_id


def decision(run_id: str, actor: str, kind: str = "approve", *, final: bool = True) -> NewDecision:
    return NewDecision(
        run_id=run_id, kind=kind, actor=actor, created_at=T0 + timedelta(minutes=5), final=final
    )


def apply(store: AuditStore, d: NewDecision, seen: int | None = None) -> DecisionOutcome:
    """Apply ``d`` guarded by the approval count ``seen`` (default: as the run stands now)."""
    seen = store.get_run(d.run_id).approval_count if seen is None else seen
    return store.apply_decision(d, DecisionGuard(transition(GUARDED[d.kind]), seen))


def race(n: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(i)`` in ``n`` threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def go(i: int) -> T:
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(go, range(n)))


def count(store: AuditStore, *where: ColumnElement[bool]) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(models.Decision).where(*where)) or 0)


# --- runs -----------------------------------------------------------------------------------


def test_start_run_then_read_it_back(store: AuditStore) -> None:
    assert store.start_run(new_run("r1"), START) == ("r1", True)
    record = store.get_run("r1")
    assert (record.lane, record.requester, record.status) == ("support", "U_REQ", "running")
    assert record.route_reasons == ("default tier",)
    assert record.started_at == T0
    assert record.attempts == () and record.decisions == ()


def test_idempotency_key_returns_the_existing_run(store: AuditStore) -> None:
    assert store.start_run(new_run("r1", key="slack:Ev1"), START) == ("r1", True)
    assert store.start_run(new_run("r2", key="slack:Ev1"), START) == ("r1", False)
    with pytest.raises(RunNotFoundError):
        store.get_run("r2")


def test_same_id_without_key_is_refused(store: AuditStore) -> None:
    store.start_run(new_run("r1"), START)
    with pytest.raises(AuditWriteError, match="already exists"):
        store.start_run(new_run("r1"), START)


def test_unknown_run_names_the_command_to_list_runs(store: AuditStore) -> None:
    with pytest.raises(RunNotFoundError, match="lanebot audit"):
        store.get_run("nope")


def test_record_attempt_keeps_every_attempt_in_order(store: AuditStore) -> None:
    store.start_run(new_run("r1"), START)
    store.record_attempt("r1", 2, attempt("fallback", at=T0 + timedelta(seconds=2)))
    store.record_attempt("r1", 1, attempt("first", outcome="failed"))
    attempts = store.get_run("r1").attempts
    assert [(a.seq, a.kind, a.outcome, a.reason_code) for a in attempts] == [
        (1, "first", "failed", "timeout"),
        (2, "fallback", "ok", None),
    ]
    assert attempts[1].model_answered == "gpt-4o-mini-2024-07-18"
    assert attempts[1].started_at == T0 + timedelta(seconds=2)


def test_finish_run_only_from_running(store: AuditStore) -> None:
    store.start_run(new_run("r1"), START)
    assert store.finish_run("r1", DRAFT, drafted()) is True
    failed = RunOutcome(finished_at=T0, error="late failure")
    assert store.finish_run("r1", FAIL, failed) is False
    record = store.get_run("r1")
    assert (record.status, record.error, record.model) == ("drafted", None, "gpt-4o-mini-2024-07-18")
    assert record.drafted_at == T0 + timedelta(seconds=3)


def test_finish_run_of_a_missing_run_changes_nothing(store: AuditStore) -> None:
    assert store.finish_run("ghost", DRAFT, drafted()) is False


def test_a_transition_is_conditional_on_its_sources(store: AuditStore) -> None:
    drafted_run(store)
    assert apply(store, decision("r1", "lanebot", "expire"))
    assert not apply(store, decision("r1", "lanebot", "expire")).applied
    assert store.get_run("r1").status == "expired"


def test_a_transition_that_creates_a_run_is_not_an_update(store: AuditStore) -> None:
    drafted_run(store)
    with pytest.raises(ValueError, match="creates a run"):
        store.finish_run("r1", START, drafted())


def test_spent_since_sums_one_lane_from_a_time(store: AuditStore) -> None:
    for run_id, lane, at, cost in (
        ("old", "support", T0 - timedelta(days=1), 5.0),
        ("a", "support", T0, 0.25),
        ("b", "support", T0 + timedelta(hours=1), 0.5),
        ("unknown", "support", T0 + timedelta(hours=2), None),
        ("other", "sales", T0, 7.0),
    ):
        store.start_run(new_run(run_id, lane=lane, at=at), START)
        store.finish_run(run_id, DRAFT, drafted(at, cost=cost))
    assert store.spent_since("support", T0) == pytest.approx(0.75)
    assert store.spent_since("support", T0 - timedelta(days=2)) == pytest.approx(5.75)
    assert store.spent_since("nobody", T0) == 0.0


def test_datetimes_round_trip_as_aware_utc(store: AuditStore) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2026, 11, 16, 14, 30, 15, 123456, tzinfo=india)
    store.start_run(new_run("r1", at=local), START)
    store.record_attempt("r1", 1, attempt(at=local))
    record = store.get_run("r1")
    assert record.created_at == local
    assert record.created_at.utcoffset() == timedelta(0)
    assert record.created_at == datetime(2026, 11, 16, 9, 0, 15, 123456, tzinfo=UTC)
    assert record.attempts[0].started_at.tzinfo is not None
    assert record.attempts[0].started_at == local


# --- decisions ------------------------------------------------------------------------------


def test_final_decision_closes_the_run(store: AuditStore) -> None:
    drafted_run(store)
    outcome = apply(store, decision("r1", "U_OWNER", "reject"), seen=0)
    assert (outcome.applied, outcome.status) == (True, "rejected")
    record = store.get_run("r1")
    assert record.status == "rejected"
    assert record.decided_at == T0 + timedelta(minutes=5)
    assert record.final_decision is not None and record.final_decision.actor == "U_OWNER"


def test_second_decision_is_told_who_came_first(store: AuditStore) -> None:
    drafted_run(store)
    apply(store, decision("r1", "U_A", "edit"), seen=0)
    late = apply(store, decision("r1", "U_B", "approve"), seen=0)
    assert (late.applied, late.status, late.decided_by, late.decided_kind) == (False, "edited", "U_A", "edit")
    assert count(store, models.Decision.run_id == "r1") == 1


def test_decision_on_a_run_still_running_is_not_applied(store: AuditStore) -> None:
    store.start_run(new_run("r1"), START)
    outcome = apply(store, decision("r1", "U_A"), seen=0)
    assert (outcome.applied, outcome.status, outcome.decided_by) == (False, "running", None)
    assert count(store) == 0


def test_exactly_one_final_decision_under_a_race(store: AuditStore) -> None:
    drafted_run(store)
    outcomes = race(RACERS, lambda i: apply(store, decision("r1", f"U{i}", "approve"), seen=0))
    winners = [o for o in outcomes if o.applied]
    assert len(winners) == 1
    record = store.get_run("r1")
    assert record.status == "approved"
    assert record.final_decision is not None
    winner = record.final_decision.actor
    losers = [o for o in outcomes if not o.applied]
    assert len(losers) == RACERS - 1
    assert all(o.decided_by == winner and o.status == "approved" for o in losers)
    assert count(store, models.Decision.run_id == "r1", models.Decision.final.is_(True)) == 1
    assert count(store, models.Decision.run_id == "r1") == 1


def test_two_person_approvals_count_each_actor_once(store: AuditStore) -> None:
    drafted_run(store)
    first = apply(store, decision("r1", "U_A", "approval", final=False))
    again = apply(store, decision("r1", "U_A", "approval", final=False))
    other = apply(store, decision("r1", "U_B", "approval", final=False))
    assert first.applied and other.applied
    assert (again.applied, again.status, again.decided_by) == (False, "drafted", None)
    record = store.get_run("r1")
    assert record.approvals == frozenset({"U_A", "U_B"})
    assert record.status == "drafted" and record.final_decision is None


def test_same_actor_approving_twice_at_once_records_one_approval(store: AuditStore) -> None:
    drafted_run(store)
    outcomes = race(RACERS, lambda _: apply(store, decision("r1", "U_A", "approval", final=False), seen=0))
    assert sum(o.applied for o in outcomes) == 1
    assert count(store, models.Decision.kind == "approval") == 1


def test_approval_after_the_run_closed_is_not_recorded(store: AuditStore) -> None:
    drafted_run(store)
    apply(store, decision("r1", "U_A", "reject"), seen=0)
    late = apply(store, decision("r1", "U_B", "approval", final=False), seen=0)
    assert (late.applied, late.status, late.decided_by) == (False, "rejected", "U_A")
    assert store.get_run("r1").approvals == frozenset()


def test_approvals_racing_a_final_decision_never_land_after_it(store: AuditStore) -> None:
    drafted_run(store)

    def click(i: int) -> DecisionOutcome:
        if i % 2:
            return apply(store, decision("r1", f"U{i}", "reject"), seen=0)
        return apply(store, decision("r1", f"U{i}", "approval", final=False))

    outcomes = race(RACERS, click)
    record = store.get_run("r1")
    final = record.final_decision
    assert final is not None and sum(o.applied and o.status == "rejected" for o in outcomes) == 1
    assert all(d.id < final.id for d in record.decisions if d.kind == "approval")
    refused = [o for o in outcomes if not o.applied]
    assert all(o.decided_by == final.actor for o in refused)
    assert len(record.decisions) == RACERS - len(refused)


def test_record_event_appends_without_closing(store: AuditStore) -> None:
    drafted_run(store)
    store.record_event("r1", "refused", "U_X", T0, note="approve: not a reviewer of support")
    store.record_event("r1", "refused", "U_X", T0, note="approve: not a reviewer of support")
    record = store.get_run("r1")
    assert [(d.kind, d.final) for d in record.decisions] == [("refused", False), ("refused", False)]
    assert record.status == "drafted"


# --- claims ---------------------------------------------------------------------------------


def test_claim_event_is_true_once(store: AuditStore) -> None:
    assert store.claim_event("Ev1", T0) is True
    assert store.claim_event("Ev1", T0) is False
    assert store.claim_event("Ev2", T0) is True


def test_claim_event_exactly_once_under_a_race(store: AuditStore) -> None:
    results = race(RACERS, lambda _: store.claim_event("Ev1:retry-1", T0))
    assert results.count(True) == 1


def test_claim_job_exactly_once_across_instances(store: AuditStore) -> None:
    results = race(RACERS, lambda i: store.claim_job("digest:2026-W47", f"instance-{i}", T0))
    assert results.count(True) == 1
    assert store.claim_job("digest:2026-W48", "instance-0", T0) is True


# --- failure --------------------------------------------------------------------------------


def test_unwritable_database_raises_audit_write_error_naming_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    writable = make_engine(f"sqlite:///{path}")
    upgrade(writable)
    writable.dispose()
    read_only = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    store = AuditStore(read_only)
    try:
        with pytest.raises(AuditWriteError) as raised:
            store.start_run(new_run("r1"), START)
    finally:
        read_only.dispose()
    assert "readonly" in str(raised.value.__cause__)
    message = str(raised.value)
    assert "DATABASE_URL" in message and "writable" in message
    assert "no draft" in message


def test_two_approvers_on_the_same_count_cannot_both_be_recorded(store: AuditStore) -> None:
    """The M-of-N guard: of racing approvals that all saw no approval, exactly one lands; the
    others are told the run changed under them (``stale``), not that someone decided."""
    drafted_run(store)
    outcomes = race(RACERS, lambda i: apply(store, decision("r1", f"U{i}", "approval", final=False), seen=0))
    assert sum(o.applied for o in outcomes) == 1
    assert all(o.stale and o.status == "drafted" for o in outcomes if not o.applied)
    record = store.get_run("r1")
    assert record.approval_count == 1 and len(record.approvals) == 1


def test_a_completing_approval_needs_the_count_it_decided_on(store: AuditStore) -> None:
    drafted_run(store)
    assert apply(store, decision("r1", "U_A", "approval", final=False)).applied
    late = apply(store, decision("r1", "U_B", "approve"), seen=0)  # decided before U_A's landed
    assert (late.applied, late.stale) == (False, True)
    done = apply(store, decision("r1", "U_B", "approve"))
    assert done.applied and store.get_run("r1").status == "approved"
    assert store.get_run("r1").approval_count == 2


def test_text_no_database_takes_is_repaired_and_the_run_says_so(store: AuditStore) -> None:
    run = replace(new_run("r1"), input_text="nul\x00 and lone \ud83d surrogate")
    store.start_run(run, START)
    store.record_attempt("r1", 1, replace(attempt(outcome="failed"), error="bad \x00 byte"))
    store.finish_run("r1", DRAFT, replace(drafted(), draft_text="answer \udc00 here"))
    record = store.get_run("r1")
    assert record.input_text == "nul and lone \ufffd surrogate"
    assert record.draft_text == "answer \ufffd here"
    assert record.attempts[0].error == "bad  byte"
    assert record.text_repaired is True
    assert store.get_run(drafted_run(store, "r2")).text_repaired is False


def test_spent_claims_are_pruned_and_live_ones_kept(store: AuditStore) -> None:
    """``job_claims`` and ``processed_events`` used to grow forever: a job slot every few minutes,
    a key per Slack delivery. Old rows go; a live instance's heartbeat and recent claims stay."""
    old, recent = T0 - timedelta(days=40), T0 - timedelta(hours=1)
    assert store.claim_job("expiry-sweep:old", "bot-a", old)
    assert store.claim_job("expiry-sweep:recent", "bot-a", recent)
    store.beat("bot-dead", old)
    store.beat("bot-live", recent)
    assert store.claim_event("slack:old-delivery", T0 - timedelta(days=8))
    assert store.claim_event("slack:recent-delivery", recent)

    assert store.prune_claims(T0) == 3
    assert store.prune_claims(T0) == 0  # nothing left to prune: safe to run anywhere, any time

    assert set(store.heartbeats()) == {"bot-live"}
    assert not store.claim_job("expiry-sweep:recent", "bot-b", T0)  # still claimed
    assert store.claim_job("expiry-sweep:old", "bot-b", T0)  # its slot is free again
    assert not store.claim_event("slack:recent-delivery", T0)
    assert store.claim_event("slack:old-delivery", T0)
