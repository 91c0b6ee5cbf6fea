"""Several real bot processes on one PostgreSQL, and processes killed with SIGKILL mid-run.

Each bot here is its own interpreter running the production ``serve_http`` (``tests.procs``);
Slack is the stand-in and the models the loopback model server, both in this test process. The
database is the machine's PostgreSQL, in a private schema per test (the ``pg_url`` fixture's
``search_path`` option travels with the URL to the children).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.playground.slackstub import SlackStubServer, demo_workspace
from bot.slack import ids
from lanes.audit.records import RunRecord
from lanes.values import TERMINAL_STATUSES
from storage.db import make_engine
from storage.search import AuditQuery
from storage.store import AuditStore
from tests.fakes import Gate, ModelServer, Ok
from tests.procs.harness import BotProcess, Processes, bot_processes, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]  # each starts real interpreters

DRAFT = "Thanks for your message; a colleague will follow up today."
NO_CHECKS = {"support": {"checks": {}}}
CHANNEL = "C0LANES"


@pytest.fixture
def world(pg_url: str, tmp_path: Path) -> Iterator[tuple[str, SlackStubServer, ModelServer, Processes]]:
    with (
        SlackStubServer(demo_workspace()) as stub,
        ModelServer() as models,
        bot_processes(tmp_path) as procs,
    ):
        yield pg_url, stub, models, procs


@pytest.fixture
def audit(pg_url: str) -> Iterator[AuditStore]:
    engine = make_engine(pg_url)
    yield AuditStore(engine)
    engine.dispose()


def all_runs(store: AuditStore) -> list[RunRecord]:
    return [store.get_run(row.id) for row in store.search(AuditQuery(limit=1000))]


def command(bot: BotProcess, text: str, user: str = "U0ASKER") -> None:
    delivery = bot.sim.slash_command(user, CHANNEL, "/support", text)
    assert delivery.response.status == 200, delivery.response


def draft_ts_of(store: AuditStore, run_id: str) -> str | None:
    run = store.get_run(run_id)
    return run.slack_draft_ts if run.status in ("drafted", "needs_human") else None


def test_kill_9_during_the_model_call_is_found_on_restart_and_the_requester_told(world, audit) -> None:  # type: ignore[no-untyped-def]
    db_url, stub, models, procs = world
    held = threading.Event()
    models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
    a = procs.start("bot-a", db_url=db_url, stub=stub, models=models, lanes=NO_CHECKS)
    command(a, "Where is my parcel?")
    models.wait_for_requests(1, timeout=30)  # the model call is in flight in bot-a

    a.kill()
    (orphan,) = all_runs(audit)
    assert orphan.status == "running" and orphan.owner_instance == "bot-a"

    restarted = procs.start("bot-a-again", db_url=db_url, stub=stub, models=models, instance="bot-a")
    run = audit.get_run(orphan.id)
    assert run.status == "failed" and run.error is not None and run.error.startswith("interrupted")
    (event,) = [d for d in run.decisions if d.kind == "fail"]
    assert event.reason == "interrupted" and event.actor == "lanebot"
    told = [m for m in stub.workspace.messages(CHANNEL) if run.id in m.text and "was interrupted" in m.text]
    assert len(told) == 1 and "<@U0ASKER>" in told[0].text
    assert not any(b.get("type") == "actions" for m in stub.workspace.all_messages() for b in m.blocks)
    logged = [r for r in restarted.log_records() if r.get("run_id") == run.id]
    assert any(r["msg"].startswith("run interrupted") and r["owner"] == "bot-a" for r in logged)
    held.set()


def test_requests_queued_behind_busy_workers_survive_a_kill_9(world, audit) -> None:  # type: ignore[no-untyped-def]
    """Acked "queued" and held only in the worker pool's memory, they are on record all the same
    (``bot.runtime.queued_requests``): the restart closes them and tells each requester, like the
    running one."""
    db_url, stub, models, procs = world
    held = threading.Event()
    models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
    a = procs.start("bot-a", db_url=db_url, stub=stub, models=models, lanes=NO_CHECKS, workers=1)
    command(a, "first: on the only worker")
    models.wait_for_requests(1, timeout=30)
    for user in ("U0OWNER", "U0REVIEW"):
        delivery = a.sim.slash_command(user, CHANNEL, "/support", f"queued request from {user}")
        assert "is queued" in delivery.response.body
    wait_until(lambda: sorted(r.status for r in all_runs(audit)) == ["queued", "queued", "running"])

    a.kill()
    procs.start("bot-a-again", db_url=db_url, stub=stub, models=models, instance="bot-a", workers=1)
    runs = all_runs(audit)
    assert len(runs) == 3 and all(r.status == "failed" for r in runs)
    assert sum("before the run started" in (r.error or "") for r in runs) == 2
    told = [m for m in stub.workspace.messages(CHANNEL) if "was interrupted" in m.text]
    assert sorted(next(r.id for r in runs if r.id in m.text) for m in told) == sorted(r.id for r in runs)
    assert {r.requester for r in runs} == {"U0ASKER", "U0OWNER", "U0REVIEW"}
    assert all(f"<@{r.requester}>" in m.text for r in runs for m in told if r.id in m.text)
    held.set()


def test_a_dead_instances_run_is_taken_once_and_a_live_instances_run_never(world, audit) -> None:  # type: ignore[no-untyped-def]
    db_url, stub, models, procs = world
    held = threading.Event()
    models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
    knobs = {"lanes": NO_CHECKS, "beat_every_s": 0.3, "stale_after_s": 2.0}
    live, doomed, watcher = procs.start_many(
        ["bot-live", "bot-doomed", "bot-watcher"], db_url=db_url, stub=stub, models=models, **knobs
    )
    command(live, "first request, on the live instance")
    models.wait_for_requests(1, timeout=30)
    command(doomed, "second request, on the instance about to die")
    models.wait_for_requests(2, timeout=30)
    by_owner = {run.owner_instance: run.id for run in all_runs(audit)}

    doomed.kill()
    wait_until(lambda: audit.get_run(by_owner["bot-doomed"]).status == "failed", timeout=30)
    wait_until(lambda: any("was interrupted" in m.text for m in stub.workspace.messages(CHANNEL)))
    live_run = audit.get_run(by_owner["bot-live"])
    assert live_run.status == "running"  # running for longer than stale_after, yet not taken

    held.set()
    wait_until(lambda: draft_ts_of(audit, live_run.id), timeout=30)
    assert audit.get_run(live_run.id).status == "drafted"
    interrupted = [m for m in stub.workspace.messages(CHANNEL) if "was interrupted" in m.text]
    assert len(interrupted) == 1 and by_owner["bot-doomed"] in interrupted[0].text
    fails = [d for d in audit.get_run(by_owner["bot-doomed"]).decisions if d.kind == "fail"]
    assert len(fails) == 1  # two live instances raced to recover it; one won
    assert watcher.proc.poll() is None and live.proc.poll() is None


def test_two_processes_behind_a_balancer_act_once_on_everything(world, audit) -> None:  # type: ignore[no-untyped-def]
    """Commands, Slack's retries and replays, racing clicks, reminders, expiry and the digest, with
    both processes' schedulers sweeping twice a second: each happens exactly once."""
    db_url, stub, models, procs = world
    models.always("gpt-5-mini", Ok(DRAFT))
    knobs = {
        "lanes": {"support": {"checks": {}, "review_timeout": "10s"}},
        "sweep_every_s": 0.5,
        "reminder_every_s": 0.5,
        "catch_up_every_s": 1,
    }
    a, b = procs.start_many(["bot-a", "bot-b"], db_url=db_url, stub=stub, models=models, **knobs)
    for i in range(4):
        first, other = (a, b) if i % 2 == 0 else (b, a)
        payload = first.sim.payloads.slash_command(
            user="U0ASKER", channel=CHANNEL, command="/support", text=f"Where is parcel {i}?"
        )
        signed = first.sim.sender.sign(payload)
        assert first.sim.sender.send(signed).status == 200
        assert other.sim.sender.send(signed).status == 200  # a replay, balanced to the other process
        retry = first.sim.sender.sign(payload, retry_num=1, retry_reason="http_timeout")
        assert other.sim.sender.send(retry).status == 200  # Slack's own retry, on the other process
    runs = wait_until(lambda: _all_drafted(audit, 4), timeout=60)
    assert len(models.requests) == 4

    for run in runs[:2]:  # owner and reviewer click at once, each on a different process
        barrier = threading.Barrier(4)

        def click(
            bot: BotProcess, user: str, run: RunRecord = run, barrier: threading.Barrier = barrier
        ) -> None:
            barrier.wait()
            assert run.slack_draft_ts is not None
            bot.sim.click(user, CHANNEL, run.slack_draft_ts, ids.APPROVE)

        pairs = ((a, "U0OWNER"), (b, "U0REVIEW"), (b, "U0OWNER"), (a, "U0REVIEW"))
        threads = [threading.Thread(target=click, args=pair) for pair in pairs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    wait_until(lambda: all(audit.get_run(r.id).status in TERMINAL_STATUSES for r in runs), timeout=60)
    final = {r.id: [d for d in audit.get_run(r.id).decisions if d.final] for r in runs}
    assert [len(f) for f in final.values()] == [1, 1, 1, 1]
    assert [f[0].kind for f in final.values()] == ["approve", "approve", "expire", "expire"]
    for run in runs[2:]:
        record = audit.get_run(run.id)
        assert [d.kind for d in record.decisions].count("remind") == 1
        reminders = [
            m for m in stub.workspace.replies(CHANNEL, record.slack_root_ts or "") if "expires" in m.text
        ]
        assert len(reminders) == 1
        assert "expired" in str(stub.workspace.message(CHANNEL, record.slack_draft_ts or "").blocks).lower()
    for run in runs[:2]:
        assert "*Approved* by" in str(stub.workspace.message(CHANNEL, run.slack_draft_ts or "").blocks)
    roots = [m for m in stub.workspace.messages(CHANNEL) if not m.is_reply]
    assert len(roots) == 4
    wait_until(lambda: stub.workspace.history("C0DIGEST"), timeout=30)
    assert len([m for m in stub.workspace.history("C0DIGEST") if not m.is_reply]) == 1


def _all_drafted(store: AuditStore, count: int) -> list[RunRecord] | None:
    runs = sorted(all_runs(store), key=lambda r: r.created_at)
    if len(runs) == count and all(r.status == "drafted" and r.slack_draft_ts for r in runs):
        return runs
    return None
