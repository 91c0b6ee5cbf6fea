"""Requests acked as queued are on record before a worker takes them (``bot.runtime.queued_requests``).

The store's queued run and its adoption (both databases), the engine starting a queued run under
its id, the recovery rule for a live instance's own queue, and the whole path through the Slack
app: a command acked "queued" has a ``queued`` run at once, which becomes that request's only run.
The kill -9 case is in ``test_reliability_processes``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.runtime.queued_requests import IntakeJournal
from bot.runtime.recovery import max_queue_time, orphan_reason
from lanes.audit.records import NewRun
from lanes.config import load_config
from lanes.lifecycle import transition
from storage.db import make_engine
from storage.search import AuditQuery
from storage.store import AuditStore
from tests.engine_rig import FAST, FakeTime, ask, build_engine, rig_config
from tests.fakes import Gate, ModelServer, Ok
from tests.procs.harness import wait_until
from tests.slack_harness import lanes_config, running_bot, slack_and_models

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
KEY = "slack:T0LANEBOT:trigger-42"
START, ENQUEUE = transition("start"), transition("enqueue")


def queued(run_id: str = "q1", *, key: str = KEY, at: datetime = NOW, owner: str = "bot-a") -> NewRun:
    return NewRun(
        id=run_id,
        lane="support",
        requester="U0ASKER",
        created_at=at,
        channel="C0LANES",
        source="slack",
        input_chars=12,
        route_reasons=("default for lane support",),
        route_kind="default",
        tier="fast",
        idempotency_key=key,
        owner_instance=owner,
    )


def test_a_queued_run_is_recorded_once_without_text_and_adopted_once(store: AuditStore) -> None:
    assert store.start_run(queued(), ENQUEUE) == ("q1", True)
    assert store.start_run(queued("q2"), ENQUEUE) == ("q1", False)  # a repeated delivery: the key has its run
    row = store.get_run("q1")
    assert (row.status, row.input_text, row.started_at, row.owner_instance) == ("queued", None, None, "bot-a")

    starting = NewRun(
        id="w1",
        lane="support",
        requester="U0ASKER",
        created_at=NOW + timedelta(seconds=30),
        channel="C0LANES",
        source="slack",
        input_text="Where is my parcel?",
        input_chars=19,
        prompt_id="support/fast",
        idempotency_key=KEY,
        owner_instance="bot-b",
    )
    assert store.start_run(starting, START) == ("q1", True)  # the worker finds the queued run by its key
    assert not store.adopt_queued_run("q1", starting)  # only while it is queued: exactly once
    row = store.get_run("q1")
    assert (row.status, row.input_text, row.prompt_id, row.owner_instance) == (
        "running",
        "Where is my parcel?",
        "support/fast",
        "bot-b",
    )
    assert row.created_at == NOW  # the request's time (queue wait counts towards time to draft)
    assert row.started_at == NOW + timedelta(seconds=30)


def test_start_starts_a_new_run_adopts_a_queued_one_and_refuses_a_repeat(store: AuditStore) -> None:
    assert store.start_run(queued("n1", key="slack:T0LANEBOT:trigger-7"), START) == ("n1", True)
    store.start_run(queued(), ENQUEUE)
    assert store.start_run(queued("w1"), START) == ("q1", True)
    assert store.get_run("q1").status == "running"
    assert store.start_run(queued("w2"), START) == ("q1", False)  # a repeat


def test_the_engine_runs_a_queued_request_under_its_queued_run(store: AuditStore, redactor: object) -> None:
    with ModelServer() as server:
        server.always(FAST, Ok("A colleague will follow up today."))
        engine = build_engine(rig_config(server), store, server, redactor, FakeTime(now=NOW))  # type: ignore[arg-type]
        store.start_run(queued(), ENQUEUE)

        result = ask(engine, "support", "Where is my parcel?", idempotency_key=KEY, source="slack")

    assert result.run_id == "q1" and result.status == "drafted"
    run = store.get_run("q1")
    assert run.status == "drafted" and [a.outcome for a in run.attempts] == ["ok"]
    assert run.input_text == "Where is my parcel?"


def test_a_worker_that_knows_the_queued_id_starts_it_directly_or_creates_it(
    store: AuditStore, redactor: object
) -> None:
    with ModelServer() as server:
        server.always(FAST, Ok("A colleague will follow up today."))
        engine = build_engine(rig_config(server), store, server, redactor, FakeTime(now=NOW))  # type: ignore[arg-type]
        store.start_run(queued(), ENQUEUE)
        known = ask(engine, "support", "Parcel?", idempotency_key=KEY, source="slack", queued_run_id="q1")
        # the journal has not written this one yet: the run is created under the queued id, and
        # the journal's late write is refused rather than leaving a second, queued run behind
        other_key = "slack:T0LANEBOT:trigger-43"
        early = ask(
            engine, "support", "Refund?", idempotency_key=other_key, source="slack", queued_run_id="q2"
        )
        assert not store.start_run(queued("q2", key=other_key), ENQUEUE)[1]

    assert (known.run_id, known.status) == ("q1", "drafted")
    assert (early.run_id, early.status) == ("q2", "drafted")
    assert [store.get_run(i).status for i in ("q1", "q2")] == ["drafted", "drafted"]


def test_a_live_instance_keeps_its_own_queued_runs_for_as_long_as_its_queue_can_hold_them(
    store: AuditStore,
) -> None:
    config = load_config("lanes.toml")
    max_run = timedelta(minutes=7)
    wait = max_queue_time(config, max_run)
    assert wait == max_run * (1 + -(-config.runtime.queue_limit // config.runtime.workers))
    store.start_run(queued(), ENQUEUE)
    mine = store.get_run("q1")

    def why(*, now: datetime, starting: bool = False, me: str = "bot-a", beats=None) -> str | None:  # type: ignore[no-untyped-def]
        return orphan_reason(
            mine,
            me=me,
            starting=starting,
            beats=beats or {},
            now=now,
            stale_after=timedelta(seconds=60),
            max_run=max_run,
            max_queue_wait=wait,
        )

    assert why(now=NOW + max_run * 2) is None  # longer than a run, but it may still be waiting
    assert why(now=NOW + wait + timedelta(seconds=1)) == "bot-a dropped it from its queue"
    assert why(now=NOW, starting=True) == "bot-a restarted"  # a restart lost its queue
    other = {"bot-a": NOW - timedelta(seconds=61)}
    assert why(now=NOW, me="bot-b", beats=other) == "bot-a stopped"  # its owner died


def test_a_command_acked_as_queued_has_its_run_at_once_and_keeps_it(sqlite_url: str) -> None:
    held = threading.Event()
    with slack_and_models() as (stub, models):
        models.always(FAST, Gate(held, Ok("A colleague will follow up today.")))
        with running_bot(sqlite_url, models, stub, lanes_config(models, workers=1)) as bot:

            def statuses() -> list[str]:
                return sorted(r.status for r in bot.store.search(AuditQuery(limit=10)))

            first = bot.command("U0ASKER", "first: takes the only worker")
            models.wait_for_requests(1, timeout=10)
            second = bot.command("U0ASKER", "second: waits its turn")
            assert "is queued" not in first.response.body and "is queued" in second.response.body

            wait_until(lambda: statuses() == ["queued", "running"], timeout=10)
            (waiting,) = [r for r in bot.store.search(AuditQuery(status="queued"))]
            assert bot.run(waiting.id).input_text is None  # no text until it runs (then redacted)

            held.set()
            bot.settle()
            assert statuses() == ["drafted", "drafted"]  # two requests, two runs
            adopted = bot.run(waiting.id)  # the queued run became that request's run
            assert adopted.status == "drafted" and adopted.input_text == "second: waits its turn"
            assert adopted.slack_draft_ts is not None


def test_the_journal_goes_on_after_a_conflict(store: AuditStore) -> None:
    journal = IntakeJournal(store)
    journal.record(queued("q1"))
    journal.record(queued("q1", key="slack:T0LANEBOT:trigger-43"))  # same id: refused by the database
    journal.record(queued("q3", key="slack:T0LANEBOT:trigger-44"))
    journal.close()
    assert store.get_run("q1").idempotency_key == KEY
    assert store.get_run("q3").status == "queued"


def test_the_journal_reports_a_database_it_cannot_write_and_keeps_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/missing/dir/audit.db")  # nothing can be written there
    journal = IntakeJournal(AuditStore(engine))
    with caplog.at_level(logging.WARNING, logger="bot.runtime.queued_requests"):
        journal.record(queued("q1"))
        journal.record(queued("q2", key="slack:T0LANEBOT:trigger-43"))
        journal.close()
    engine.dispose()
    failed = [r for r in caplog.records if r.getMessage().startswith("queued request not recorded")]
    assert [getattr(r, "run_id", None) for r in failed] == ["q1", "q2"]  # both tried, both reported
