"""The pieces under crash recovery and readiness, with plain values and both databases: who counts
as dead (pure rules), the heartbeat and take-over statements (exactly once under a race), and the
readiness probe's bound on a hung database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.runtime.health import ReadinessProbe
from bot.runtime.recovery import max_run_time, orphan_reason
from lanes.audit.records import NewRun, RunOutcome, RunRecord
from lanes.config import load_config
from lanes.errors import AuditStoreError
from lanes.lifecycle import transition
from storage.store import AuditStore

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
STALE = timedelta(seconds=60)
MAX_RUN = timedelta(minutes=7)


def a_run(store: AuditStore, run_id: str, owner: str | None, started: datetime = NOW) -> RunRecord:
    store.start_run(
        NewRun(id=run_id, lane="support", requester="U0ASKER", created_at=started, owner_instance=owner),
        transition("start"),
    )
    return store.get_run(run_id)


def reason(
    run: RunRecord, beats: dict[str, datetime], *, starting: bool = False, now: datetime = NOW
) -> str | None:
    return orphan_reason(
        run,
        me="bot-a",
        starting=starting,
        beats=beats,
        now=now,
        stale_after=STALE,
        max_run=MAX_RUN,
        max_queue_wait=MAX_RUN * 2,
    )


def test_who_counts_as_gone(store: AuditStore) -> None:
    theirs = a_run(store, "r-b", "bot-b")
    assert reason(theirs, {"bot-b": NOW - timedelta(seconds=5)}) is None  # beating: alive, however long
    assert reason(theirs, {"bot-b": NOW - timedelta(seconds=61)}) == "bot-b stopped"
    cli = a_run(store, "r-cli", "local")  # never beats: only a run older than any run can be
    assert reason(cli, {}) is None
    assert reason(cli, {}, now=NOW + MAX_RUN + timedelta(seconds=1)) == "local stopped"
    mine = a_run(store, "r-a", "bot-a")
    assert reason(mine, {}) is None
    assert reason(mine, {}, starting=True) == "bot-a restarted"
    assert reason(mine, {}, now=NOW + MAX_RUN + timedelta(seconds=1)) == "bot-a stopped"
    assert reason(replace(mine, owner_instance=None), {}, now=NOW + MAX_RUN * 2) == "its process stopped"


def test_max_run_covers_every_tier_with_a_retry() -> None:
    config = load_config("lanes.toml")
    total = sum(spec.timeout_s for spec in config.models.values())
    assert max_run_time(config) == timedelta(seconds=3 * total + 60)


def test_heartbeats_are_upserted_per_instance(store: AuditStore) -> None:
    store.beat("bot-a", NOW)
    store.beat("bot-a", NOW + timedelta(seconds=10))
    store.beat("bot-b", NOW)
    assert store.heartbeats() == {"bot-a": NOW + timedelta(seconds=10), "bot-b": NOW}


def test_interrupting_a_run_happens_once_under_a_race(store: AuditStore) -> None:
    a_run(store, "r-1", "bot-dead")
    with ThreadPoolExecutor(8) as pool:
        won = list(
            pool.map(lambda _: store.interrupt_run("r-1", NOW, "interrupted: bot-dead stopped"), range(8))
        )
    assert won.count(True) == 1
    run = store.get_run("r-1")
    assert run.status == "failed" and run.error == "interrupted: bot-dead stopped"
    assert [(d.kind, d.reason) for d in run.decisions] == [("fail", "interrupted")]
    assert store.runs_in_flight() == []


def test_a_finished_run_is_never_interrupted(store: AuditStore) -> None:
    a_run(store, "r-2", "bot-dead")
    store.finish_run("r-2", transition("draft"), RunOutcome(finished_at=NOW, draft_text="hi"))
    assert not store.interrupt_run("r-2", NOW, "interrupted")
    assert store.get_run("r-2").status == "drafted"


def test_a_late_delivery_is_claimed_once_and_can_be_given_back(store: AuditStore) -> None:
    store.start_run(
        NewRun(id="r-3", lane="support", requester="U0ASKER", created_at=NOW, source="slack"),
        transition("start"),
    )
    store.finish_run("r-3", transition("draft"), RunOutcome(finished_at=NOW, draft_text="hi"))
    store.attach_slack("r-3", channel="C0LANES", root_ts="1.0")
    assert [r.id for r in store.undelivered_runs()] == ["r-3"]
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda _: store.claim_delivery("r-3"), range(8)))
    assert claims.count(True) == 1 and store.undelivered_runs() == []
    store.finish_delivery("r-3", None)  # the post failed: back in the queue
    assert [r.id for r in store.undelivered_runs()] == ["r-3"]
    assert store.claim_delivery("r-3")
    store.finish_delivery("r-3", "2.0")
    assert store.undelivered_runs() == [] and store.get_run("r-3").slack_draft_ts == "2.0"


def test_readiness_answers_within_its_bound_when_the_database_hangs() -> None:
    release, calls = threading.Event(), []

    def hung_ping() -> None:
        calls.append(1)
        release.wait(30)

    probe = ReadinessProbe(hung_ping, timeout_s=0.2)
    first, second = probe.check(), probe.check()
    assert not first.ready and "did not answer within 0.2 s" in first.detail
    assert not second.ready and len(calls) == 1  # the second probe joined the hung check
    release.set()


@pytest.mark.parametrize(
    ("ping_error", "ready", "detail"),
    [
        (None, True, "the audit database answers"),
        (AuditStoreError("the audit store could not be read (OperationalError)"), False, "could not be read"),
        (RuntimeError("driver bug"), False, "check failed (RuntimeError)"),
    ],
)
def test_readiness_reports_what_the_database_said(
    ping_error: Exception | None, ready: bool, detail: str
) -> None:
    def ping() -> None:
        if ping_error is not None:
            raise ping_error

    readiness = ReadinessProbe(ping).check()
    assert readiness.ready is ready and detail in readiness.detail
