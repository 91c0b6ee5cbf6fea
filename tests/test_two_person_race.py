"""Two approvers of a two-person review clicking at the same instant, from two OS processes.

Each process is a decider built like a bot instance (its own engine, ``AuditStore`` and
``DecisionService`` from the database URL; ``tests.procs.decider``), started once with
``multiprocessing``'s spawn context and driven round by round through a pipe. A shared barrier
releases both clicks of a round together; on *aligned* rounds a second barrier also holds each
first write until both deciders have read the run, so both decide on the same approval count and
exactly one guard can hold: the other must be answered stale and decide again (its count of stale
guards is reported back and checked). Every round must close the run once, with both approvals
counted and the approved text on the final decision.

The same rounds run in two threads on one SQLite file (two instances sharing a file).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lanes.audit import NewRun, RunOutcome, RunRecord
from lanes.lifecycle import transition
from storage.db import make_engine
from storage.migrate import upgrade
from storage.redaction import Redactor
from storage.store import AuditStore
from tests.procs.decider import WAIT_S, Click, Decider, run_in_threads, serve

pytestmark = pytest.mark.timeout(300)

A, B = "U0LEGAL", "U0COUNSEL"
"""Owner and reviewer of the two-person ``contract`` lane in lanes.toml."""
DRAFT = "Summary: either party may end the contract with written notice; fees are due net thirty."
T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
START_S = 120.0
"""A decider process imports the bot and builds a redactor before it is ready: seconds, more under load."""

Round = Callable[[list[Click]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Plan:
    approve_rounds: int
    edit_rounds: int


def drafted_two_person_run(store: AuditStore, n: int) -> str:
    run = NewRun(
        id=f"race{n:03d}",
        lane="contract",
        requester="U0ASKER",
        created_at=T0,
        risk="high",
        review_rule="two_person",
        input_text="the contract (redacted)",
    )
    assert store.start_run(run, transition("start")) == (run.id, True)
    outcome = RunOutcome(finished_at=T0, draft_text=DRAFT, expires_at=T0 + timedelta(hours=24))
    assert store.finish_run(run.id, transition("draft"), outcome)
    return run.id


def play(store: AuditStore, click_together: Round, plan: Plan) -> None:
    """``plan.approve_rounds`` rounds of A and B approving, then ``plan.edit_rounds`` of one editing
    (A and B in turn) while the other approves; every other round aligned."""
    for i in range(plan.approve_rounds):
        run_id, aligned = drafted_two_person_run(store, i), i % 2 == 0
        results = click_together(
            [Click(run_id, A, "approve", aligned=aligned), Click(run_id, B, "approve", aligned=aligned)]
        )
        closed_once(store.get_run(run_id), results, aligned, status="approved", text=None, round_=i)
    for i in range(plan.approve_rounds, plan.approve_rounds + plan.edit_rounds):
        run_id, aligned = drafted_two_person_run(store, i), i % 2 == 0
        edited = f"{DRAFT} Edited in round {i}."
        editor = i % 2
        clicks = [Click(run_id, actor, "approve", aligned=aligned) for actor in (A, B)]
        clicks[editor] = Click(run_id, (A, B)[editor], "edit", edited_text=edited, aligned=aligned)
        results = click_together(clicks)
        closed_once(store.get_run(run_id), results, aligned, status="edited", text=edited, round_=i)


def closed_once(
    run: RunRecord,
    results: list[dict[str, Any]],
    aligned: bool,
    *,
    status: str,
    text: str | None,
    round_: int,
) -> None:
    where = f"round {round_} ({'aligned' if aligned else 'free'}): {results}"
    assert all("error" not in r and "refused" not in r for r in results), where
    assert [r["applied"] for r in results] == [True, True], where
    assert sorted(r["completes"] for r in results) == [False, True], where
    finals = [d for d in run.decisions if d.final]
    approvals = [d for d in run.decisions if d.kind == "approval"]
    assert (run.status, len(finals), run.approval_count) == (status, 1, 2), where
    assert len(approvals) == 1 and {approvals[0].actor, finals[0].actor} == {A, B}, where
    assert finals[0].edited_text == text, where
    assert run.draft_text == DRAFT, "the draft itself is never edited in place"
    (completing,) = [r for r in results if r["completes"]]
    assert completing["status"] == status and completing["approved_text"] == text, where
    if aligned:
        assert sum(r["stale"] for r in results) == 1, f"both decided on one count, one guard held: {where}"


@contextmanager
def decider_processes(url: str, n: int = 2) -> Iterator[Round]:
    """``n`` decider processes (spawned, so nothing is shared with this one but the URL and the
    barriers); yields a function that plays one round: one click per process, all released together."""
    ctx = multiprocessing.get_context("spawn")
    go, aligned = ctx.Barrier(n), ctx.Barrier(n)
    pipes = [ctx.Pipe() for _ in range(n)]
    procs = [
        ctx.Process(target=serve, args=(url, child, go, aligned), name=f"decider-{i}", daemon=True)
        for i, (_, child) in enumerate(pipes)
    ]
    for proc in procs:
        proc.start()
    for _, child in pipes:
        child.close()  # the child's end lives in the child now: its exit is our EOF
    try:
        pids = {receive(parent, proc, START_S)[1] for (parent, _), proc in zip(pipes, procs, strict=True)}
        assert len(pids) == n and os.getpid() not in pids, "each decider is its own OS process"

        def play_round(clicks: list[Click]) -> list[dict[str, Any]]:
            for (parent, _), click in zip(pipes, clicks, strict=True):
                parent.send(click)
            return [receive(parent, proc, 2 * WAIT_S) for (parent, _), proc in zip(pipes, procs, strict=True)]

        yield play_round
    finally:
        for parent, _ in pipes:
            with suppress(OSError):
                parent.send(None)
        for proc in procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.kill()
                proc.join()


def receive(conn: Any, proc: Any, timeout: float) -> Any:
    """The next message from ``proc``; fails at once if it died, or after ``timeout`` if it hangs."""
    deadline = time.monotonic() + timeout
    while not conn.poll(0.1):
        if not proc.is_alive():
            raise AssertionError(f"{proc.name} exited with {proc.exitcode} before answering")
        if time.monotonic() > deadline:
            raise AssertionError(f"{proc.name} (pid {proc.pid}) did not answer within {timeout:g} s")
    try:
        return conn.recv()
    except EOFError:
        raise AssertionError(f"{proc.name} exited with {proc.exitcode} before answering") from None


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[AuditStore]:
    engine = make_engine(pg_url)
    upgrade(engine)
    yield AuditStore(engine)
    engine.dispose()


@pytest.mark.postgres
def test_two_processes_approving_at_once_close_every_two_person_run_once(
    pg_url: str, pg_store: AuditStore
) -> None:
    with decider_processes(pg_url) as click_together:
        play(pg_store, click_together, Plan(approve_rounds=50, edit_rounds=20))


def test_two_threads_on_one_sqlite_file_close_every_two_person_run_once(
    sqlite_url: str, redactor: Redactor
) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    store = AuditStore(engine)
    go, aligned = threading.Barrier(2), threading.Barrier(2)
    deciders = [Decider(sqlite_url, aligned, redactor) for _ in range(2)]
    try:
        play(
            store,
            lambda clicks: run_in_threads(deciders, clicks, go),
            Plan(approve_rounds=20, edit_rounds=10),
        )
    finally:
        for decider in deciders:
            decider.close()
        engine.dispose()
