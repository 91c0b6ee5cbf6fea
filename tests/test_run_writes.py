"""The per-run audit writes (``storage.run_writes``) and the spend a daily budget reads
(``lanes.spend``): fewer transactions and no query per run, with the same promises — every attempt
on record before the next model call and before a draft is returned, the budget counting what
this process spent at once and what other instances spent within the tracker's TTL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from lanes.audit.records import NewRun, RunOutcome
from lanes.engine import Engine
from lanes.errors import AuditStoreError, AuditWriteError
from lanes.lifecycle import transition
from lanes.providers.registry import build_providers
from lanes.spend import SpendTracker
from lanes.values import Attempt
from tests.engine_rig import FAST, STRONG, FakeTime, ask, build_engine, kinds, rig_config
from tests.fakes.model_servers import Json, ModelServer, Ok, Status
from tests.test_engine_policy import CONTRACT, summary

T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def server():
    with ModelServer() as server:
        yield server


def commits(store):
    """Commits made through ``store`` from now on (a list that fills as they happen)."""
    seen: list[int] = []
    event.listen(store.engine, "commit", lambda connection: seen.append(1))
    return seen


# --- the engine's writes ---------------------------------------------------------------------------


def test_a_drafted_run_costs_two_commits_and_no_spend_query_after_the_first(server, store, redactor):
    server.always(FAST, Ok("We are on it.", input_tokens=100, output_tokens=20))
    time = FakeTime()
    engine = build_engine(rig_config(server), store, server, redactor, time, monotonic=time.monotonic)
    ask(engine, "support", "first run reads today's spend")
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    made = commits(store)

    result = ask(engine, "support", "Where is my parcel?")

    assert result.status == "drafted"
    assert len(made) == 2, "the run row, then the outcome with its attempt"
    assert not [sql for sql in statements if "sum(" in sql.lower()], "today's spend came from memory"
    assert kinds(store, result.run_id) == [("first", "fast", "ok", None)]
    assert store.get_run(result.run_id).attempts[0].seq == 1


def test_an_answer_is_on_record_before_the_next_model_call_starts(server, store, redactor):
    """Cross-check: the first model's answer is written before the second model is asked."""
    seen_during_second_call: list[list[tuple[str, str]]] = []

    class LookFirst:
        def act(self, exchange):
            with store.engine.connect() as conn:
                rows = conn.execute(text("SELECT kind, outcome FROM attempts ORDER BY seq")).all()
            seen_during_second_call.append([tuple(row) for row in rows])
            Json(summary()).act(exchange)

    server.script(STRONG, Json(summary()))
    server.script(FAST, LookFirst())
    engine = build_engine(rig_config(server, contract={"cross_check": True}), store, server, redactor)

    result = ask(engine, "contract", CONTRACT)

    assert result.status == "drafted"
    assert seen_during_second_call == [[("first", "ok")]]
    assert kinds(store, result.run_id) == [
        ("first", "strong", "ok", None),
        ("cross_check", "fast", "ok", None),
    ]


def test_a_failed_attempt_is_on_record_before_the_fallback_is_called(server, store, redactor):
    seen: list[list[tuple[str, str]]] = []

    class LookFirst:
        def act(self, exchange):
            with store.engine.connect() as conn:
                seen.append(
                    [tuple(r) for r in conn.execute(text("SELECT kind, outcome FROM attempts")).all()]
                )
            Ok("Fallback draft.").act(exchange)

    server.script(FAST, Status(503))
    server.always("llama3.1:8b", LookFirst())
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Where is my parcel?")

    assert result.status == "drafted" and result.route_kind == "fallback"
    assert seen == [[("first", "failed")]]


def test_when_the_outcome_cannot_be_written_there_is_no_draft_and_the_run_is_failed(server, store, redactor):
    """The outcome and the draft's attempt go in one transaction; if the attempt is rejected, the
    outcome is rolled back with it, the run is marked failed and no draft comes back."""

    class DropAttempts:
        def act(self, exchange):
            with store.engine.begin() as conn:
                conn.execute(text("DROP TABLE attempts"))
            Ok("A draft nobody may see.").act(exchange)

    server.script(FAST, DropAttempts())
    engine = build_engine(rig_config(server), store, server, redactor)

    with pytest.raises(AuditWriteError, match="no draft"):
        ask(engine, "support", "Hello")

    with store.engine.connect() as conn:
        status, draft, error = conn.execute(text("SELECT status, draft_text, error FROM runs")).one()
    assert (status, draft) == ("failed", None)
    assert "did not accept the outcome" in error


# --- the daily budget ------------------------------------------------------------------------------


def test_budget_counts_this_process_at_once_and_another_instance_within_the_ttl(server, store, redactor):
    """Two instances on one database: each sees its own spend at once, the other's once its figure
    is older than ``spend_ttl_s``."""
    server.always(FAST, Ok("ok", input_tokens=1000, output_tokens=1000))  # ~$0.00225 a run
    config = rig_config(server, support={"budget_daily_usd": 0.003})
    time = FakeTime()
    ours, theirs = (instance(config, store, server, redactor, time, name) for name in ("ours", "theirs"))
    assert ours.spent_today("support") == 0.0

    spent = ask(theirs, "support", "one").cost_usd or 0.0
    assert spent > 0.002
    assert theirs.spent_today("support") == pytest.approx(spent), "its own run counts at once"
    assert ours.spent_today("support") == 0.0, "the other instance's run is not seen yet"

    assert ask(ours, "support", "two").tier == "fast"
    assert ours.spent_today("support") == pytest.approx(spent)
    time.advance(5)
    assert ours.spent_today("support") == pytest.approx(2 * spent), "both instances' runs, re-read"
    assert ask(ours, "support", "three").status == "needs_confirmation"


def instance(config, store, server, redactor, time, name):
    """An engine as one bot instance builds it, with its own run ids and the test's clocks."""
    ids = iter(range(1, 100))
    return Engine(
        config,
        store,
        build_providers(config, server.env()),
        redactor=redactor,
        clock=time.clock,
        monotonic=time.monotonic,
        new_id=lambda: f"{name}{next(ids):04d}",
        instance=name,
        spend_ttl_s=5,
    )


# --- the tracker on its own ------------------------------------------------------------------------


class Reads:
    """A store stand-in: the spend it reports, and how often it was asked."""

    def __init__(self, spent: float = 0.0) -> None:
        self.spent = spent
        self.calls: list[tuple[str, datetime]] = []

    def __call__(self, lane: str, since: datetime) -> float:
        self.calls.append((lane, since))
        return self.spent


def test_tracker_reads_once_per_ttl_and_adds_local_runs_in_between() -> None:
    reads, mono = Reads(1.0), [0.0]
    tracker = SpendTracker(reads, monotonic=lambda: mono[0], ttl_s=5)

    assert tracker.spent("support", T0) == 1.0
    tracker.add("support", T0, 0.25)
    mono[0] = 4.9
    assert tracker.spent("support", T0) == 1.25
    assert reads.calls == [("support", T0.replace(hour=0))]
    reads.spent = 2.0
    mono[0] = 5.0
    assert tracker.spent("support", T0) == 2.0, "re-read: the store's figure replaces the local sum"
    assert len(reads.calls) == 2


def test_tracker_starts_each_day_from_the_store_and_ignores_runs_of_the_day_before() -> None:
    reads = Reads(3.0)
    tracker = SpendTracker(reads, monotonic=lambda: 0.0, ttl_s=60)
    tracker.spent("support", T0)
    reads.spent = 0.0

    tomorrow = T0 + timedelta(days=1)
    assert tracker.spent("support", tomorrow) == 0.0
    tracker.add("support", T0, 1.0)  # created yesterday, finished today: not today's spend
    assert tracker.spent("support", tomorrow) == 0.0
    assert reads.calls[-1] == ("support", tomorrow.replace(hour=0))


def test_tracker_counts_runs_that_finish_during_a_read() -> None:
    """The read may have missed them (they committed after it started): count them on top."""
    started, release = threading.Event(), threading.Event()
    tracker: SpendTracker

    def slow_read(lane: str, since: datetime) -> float:
        started.set()
        release.wait(5)
        return 1.0

    tracker = SpendTracker(slow_read, monotonic=lambda: 0.0)
    reader = threading.Thread(target=lambda: tracker.spent("support", T0))
    reader.start()
    assert started.wait(5)
    tracker.add("support", T0, 0.5)
    release.set()
    reader.join(5)

    assert tracker.spent("support", T0) == 1.5


def test_tracker_lets_store_errors_through_and_asks_again_next_time() -> None:
    calls: list[int] = []

    def failing(lane: str, since: datetime) -> float:
        calls.append(1)
        if len(calls) == 1:
            raise AuditStoreError("the audit store could not be read")
        return 0.5

    tracker = SpendTracker(failing, monotonic=lambda: 0.0)
    with pytest.raises(AuditStoreError):
        tracker.spent("support", T0)
    assert tracker.spent("support", T0) == 0.5


# --- the store's combined write ----------------------------------------------------------------------


def test_finish_run_writes_the_outcome_and_its_attempts_together(store) -> None:
    store.start_run(NewRun(id="r1", lane="support", requester="U1", created_at=T0), transition("start"))
    answer = Attempt(
        kind="first",
        tier="fast",
        provider="openai",
        model_requested="gpt-5-mini",
        outcome="ok",
        started_at=T0,
        latency_ms=812.5,
        input_tokens=120,
        output_tokens=40,
        cost_usd=0.0001,
    )
    outcome = RunOutcome(finished_at=T0 + timedelta(seconds=1), draft_text="Hi", cost_usd=0.0001)

    assert store.finish_run("r1", transition("draft"), outcome, attempts=[(1, answer)]) is True

    run = store.get_run("r1")
    assert (run.status, run.draft_text, run.drafted_at) == ("drafted", "Hi", T0 + timedelta(seconds=1))
    (stored,) = run.attempts
    assert (stored.seq, stored.kind, stored.latency_ms, stored.started_at) == (1, "first", 812.5, T0)
    assert store.finish_run("r1", transition("recover"), outcome) is False


def test_attach_slack_sets_only_the_ids_given(store) -> None:
    store.start_run(NewRun(id="r1", lane="support", requester="U1", created_at=T0), transition("start"))
    store.attach_slack("r1", channel="C1", root_ts="1.0")
    store.attach_slack("r1", channel="C1", draft_ts="2.0")

    run = store.get_run("r1")
    assert (run.slack_channel, run.slack_root_ts, run.slack_draft_ts, run.status) == (
        "C1",
        "1.0",
        "2.0",
        "running",
    )
