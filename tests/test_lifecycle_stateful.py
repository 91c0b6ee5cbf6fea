"""The run lifecycle under any interleaving: a hypothesis state machine, on SQLite and PostgreSQL.

Each example gets an empty audit store (its own rows wiped, a new ``AuditStore``), a new engine
and decision service on a hand-moved clock, and the loopback model server, whose answer for each
request is picked by the scenario written into the request (``T<n>:<scenario>``), so it also tells
which run every request belongs to. The rules drive the real code paths:

- ``start``: a request through the real ``Engine`` (the real OpenAI/Anthropic SDKs over HTTP):
  an answer, a transient failure then the fallback, both down, a body nobody can read, a refusal,
  failed checks with and without a good escalation, unstorable text, a budget stop;
- ``decide``: approve / edit / reject through ``DecisionService`` as the lanes' owners and
  reviewers, the requester and a stranger, on an owner lane (support) and a two-person lane (code);
  ``race``: two approvers of a two-person run at the same instant, in two threads;
- ``expire``: the clock moves and ``bot.runtime.review_deadlines.expire_due`` sweeps;
- ``crash``: a run started (or queued) by an instance that then dies, an attempt on record;
  ``start_live``/``finish_live``: a live instance's long run, which recovery must leave alone;
  ``recover``: ``bot.runtime.recovery.Recovery.recover``.

After every step the invariants hold: every status change is an edge of ``TRANSITIONS``; once
recovery ran, no run is in flight without a live owner; at most one final decision, and one
exactly when the status is approved/edited/rejected/expired; the approval count equals the
approvals (plus a counted final); every model request has an attempt row; every run waiting for
review has a draft or a failed check; text that could not be stored as received was repaired and
the run says so.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from slack_sdk import WebClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from bot.runtime.recovery import Recovery, RecoverySettings
from bot.runtime.review_deadlines import expire_due
from lanes.audit import Attempt, NewRun, RunOutcome, RunRecord, needs_repair
from lanes.config import LanesConfig
from lanes.decisions import REJECT_REASONS, Action, DecisionResult, DecisionService
from lanes.engine import Engine
from lanes.errors import NotAuthorizedError
from lanes.lifecycle import AWAITING_REVIEW, IN_FLIGHT, TERMINAL_STATUSES, TRANSITIONS, transition
from lanes.providers.registry import build_providers
from lanes.values import RunRequest
from storage import models
from storage._base import to_record
from storage.db import make_engine
from storage.migrate import upgrade
from storage.redaction import Redactor
from storage.store import AuditStore
from tests.engine_rig import FAST, FakeTime, rig_config
from tests.fakes import ContentPolicy, Dynamic, Malformed, ModelServer, Ok, RecordedRequest, Status
from tests.fakes.model_servers import Behaviour

pytestmark = pytest.mark.timeout(300)

SETTINGS = settings(
    max_examples=20,
    stateful_step_count=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

GOOD = "Thanks for the details; a colleague follows up today"
BAD = "I have refunded you; also run rm -rf / to clean up"
"""Fails the checks of both lanes used here (support: a promised action; code: ``rm -rf /``)."""
UNSTORABLE = "a NUL \x00 and a lone \ud83d surrogate"

EXPECTED = {
    "ok": ("drafted", 1),
    "transient": ("drafted", 2),
    "both_down": ("failed", 2),
    "malformed": ("drafted", 2),
    "refusal": ("needs_human", 1),
    "check_fail": ("needs_human", 2),
    "check_then_ok": ("drafted", 2),
    "unstorable": ("drafted", 1),
    "budget": ("needs_confirmation", 0),
}
"""Each scenario's status after the engine, and how many model requests it makes."""

LANES = {  # lane: (review rule, deciders)
    "support": ("owner", ("U0OWNER", "U0REVIEW")),
    "code": ("two_person", ("U0LEAD", "U0DEV1", "U0DEV2")),
    "contract": ("owner", ("U0LEGAL", "U0COUNSEL")),
}
STRANGERS = ("U0ASKER", "U0STRANGER")
FINAL_STATUS = {"approve": "approved", "edit": "edited", "reject": "rejected", "expire": "expired"}
CLOSED_BY_DECISION = frozenset(FINAL_STATUS.values())
TOKEN = re.compile(r"\bT(\d+):(\w+)")
LIVE, WATCHER = "live-1", "watcher"
STALE_AFTER = timedelta(seconds=60)


def answer(request: RecordedRequest) -> Behaviour:
    """The model's behaviour for ``request``: by its scenario, and whether it is the first tier."""
    match = TOKEN.search(request.prompt)
    scenario, token = (match[2], match[0]) if match else ("ok", "?")
    first = request.model == FAST
    good = Ok(f"{GOOD} ({token}).")
    behaviours: dict[str, Behaviour] = {
        "transient": Status(503) if first else good,
        "both_down": Status(503) if first else Status(500),
        "malformed": Malformed() if first else good,
        "refusal": ContentPolicy() if first else good,
        "check_fail": Ok(f"{BAD} ({token})."),
        "check_then_ok": Ok(f"{BAD} ({token}).") if first else good,
        "unstorable": Ok(f"{GOOD} with {UNSTORABLE} ({token})."),
    }
    return behaviours.get(scenario, good)


def lifecycle_config(server: ModelServer) -> LanesConfig:
    """Support (owner review), code (two-person review) and contract (every run over its per-run
    cap: a budget stop), review timeouts of hours, and a breaker that never opens (its own tests
    cover it; here it would make a scenario's outcome depend on the ones before)."""
    config = rig_config(
        server,
        support={"review_timeout": "3h"},
        code={"review": "two_person", "review_timeout": "5h"},
        contract={"schema": None, "evidence_required": False, "checks": {}, "max_cost_per_run_usd": 0.0},
    )
    runtime = config.runtime.model_copy(update={"breaker_failures": 10_000})
    return config.model_copy(update={"runtime": runtime})


@dataclass
class World:
    """What outlives one example: the database, the model server, the redactor."""

    db_url: str
    server: ModelServer
    redactor: Redactor

    def __post_init__(self) -> None:
        self.engine = make_engine(self.db_url)
        upgrade(self.engine)
        self.config = lifecycle_config(self.server)
        self.providers = build_providers(self.config, self.server.env())
        """Built once: the SDK clients are stateless (and each costs tens of ms to build)."""

    def fresh_store(self) -> AuditStore:
        """An empty store for a new example: every row of the previous one deleted."""
        with self.engine.begin() as connection:
            for table in reversed(models.Base.metadata.sorted_tables):
                connection.execute(delete(table))
        self.server.clear()
        self.server.always("*", Dynamic(answer))
        return AuditStore(self.engine)


@dataclass
class Tracked:
    """What the machine knows of one run, to check the store against; ``status`` and
    ``approval_count`` as the invariants last saw them (so preconditions need no query)."""

    lane: str
    requester: str
    owner: str  # "local" (the engine, finished before it returns), LIVE, or a dead instance
    token: str | None = None
    unstorable: bool = False
    status: str | None = None
    approval_count: int = 0


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.config = world.config
        self.store = world.fresh_store()
        self.time = FakeTime()
        self.numbers = count(1)
        """Run ids and request tokens: deterministic, so a replayed example draws the same runs."""
        self.engine = Engine(
            self.config,
            self.store,
            world.providers,
            redactor=world.redactor,
            clock=self.time.clock,
            sleep=self.time.sleep,
            new_id=lambda: f"run{next(self.numbers):03d}",
        )
        self.decisions = DecisionService(self.config, self.store, world.redactor, clock=self.time.clock)
        self.client = WebClient(token="xoxb-never-called", base_url="http://127.0.0.1:9/api/")
        self.recovery = Recovery(
            self.store,
            self.client,
            self.config,
            WATCHER,
            clock=self.time.clock,
            settings=RecoverySettings(stale_after=STALE_AFTER),
        )
        self.runs: dict[str, Tracked] = {}
        self.recovered = False
        self.store.beat(LIVE, self.time.now)

    # --- rules: runs ----------------------------------------------------------------------------

    @initialize(
        first=st.lists(st.tuples(st.sampled_from(sorted(EXPECTED)), st.booleans()), min_size=1, max_size=3)
    )
    def some_runs(self, first: list[tuple[str, bool]]) -> None:
        """A few runs before anything else, so every example has drafts to decide on (one of them
        a plain two-person draft, for ``race``)."""
        for scenario, two_person in [("ok", True), *first]:
            self.start(scenario, two_person, by_owner=False, unstorable_input=False)

    @rule(
        scenario=st.sampled_from(sorted(EXPECTED)),
        two_person=st.booleans(),
        by_owner=st.booleans(),
        unstorable_input=st.booleans(),
    )
    def start(self, scenario: str, two_person: bool, by_owner: bool, unstorable_input: bool) -> None:
        """A request through the real engine; its outcome is the scenario's, on record before it returns."""
        lane = "contract" if scenario == "budget" else ("code" if two_person else "support")
        requester = LANES[lane][1][0] if by_owner else "U0ASKER"
        n = next(self.numbers)
        token = f"T{n}:{scenario}"
        text = f"Please look at ticket {token}" + (f" with {UNSTORABLE}" if unstorable_input else "")
        result = self.engine.run(RunRequest(lane=lane, text=text, requester=requester))
        status, calls = EXPECTED[scenario]
        assert result.status == status, (scenario, result.message)
        assert len(self._requests_of(f"T{n}:")) == calls, scenario
        unstorable = unstorable_input or scenario == "unstorable"
        self.runs[result.run_id] = Tracked(lane, requester, "local", f"T{n}:", unstorable)

    @rule(alive=st.booleans(), queued=st.booleans())
    def start_elsewhere(self, alive: bool, queued: bool) -> None:
        """A run another instance started (or queued, every worker busy), its first attempt on
        record; that instance is alive (it beats whenever the clock moves) or has crashed."""
        n = next(self.numbers)
        owner, now = (LIVE if alive else f"dead-{n}"), self.time.now
        run = NewRun(
            id=f"other{n}", lane="support", requester="U0ASKER", created_at=now, owner_instance=owner
        )
        assert self.store.start_run(run, transition("enqueue" if queued else "start")) == (run.id, True)
        if not queued:
            self.store.record_attempt(run.id, 1, _failed_attempt(now))
        if not alive:
            self.store.beat(owner, now - 10 * STALE_AFTER)
            self.recovered = False
        self.runs[run.id] = Tracked("support", "U0ASKER", owner)

    @precondition(lambda self: self._ids(lambda t: t.owner == LIVE and t.status == "running"))
    @rule(data=st.data())
    def finish_live(self, data: st.DataObject) -> None:
        """The live instance's run ends with a draft, through the same transition as the engine's."""
        run_id = data.draw(st.sampled_from(self._ids(lambda t: t.owner == LIVE and t.status == "running")))
        now = self.time.now
        outcome = RunOutcome(
            finished_at=now, draft_text=f"{GOOD} (live).", expires_at=now + timedelta(hours=3)
        )
        assert self.store.finish_run(run_id, transition("draft"), outcome)

    @rule()
    def recover(self) -> None:
        """Recovery takes exactly the in-flight runs whose owner died, none of the live instance's."""
        orphans = self._ids(lambda t: t.owner.startswith("dead-") and t.status in IN_FLIGHT)
        assert sorted(self.recovery.recover()) == orphans
        self.recovered = True

    # --- rules: decisions and time --------------------------------------------------------------

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        self._decide(data, "approve")

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        self._decide(data, "edit")

    @precondition(lambda self: self.runs)
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        self._decide(data, "reject")

    def _decide(self, data: st.DataObject, action: Action) -> None:
        """``action`` on a run waiting for review (now and then on any run), by one of the lane's
        deciders (now and then by anyone: the requester, a stranger). A refusal is on record; an
        applied decision agrees with the store."""
        waiting = self._ids(lambda t: t.status in AWAITING_REVIEW)
        any_run = not waiting or data.draw(st.sampled_from([False, False, True]), label="any run")
        run_id = data.draw(st.sampled_from(sorted(self.runs) if any_run else waiting), label="run")
        tracked = self.runs[run_id]
        deciders = LANES[tracked.lane][1]
        anyone = (*deciders, *deciders, tracked.requester, *STRANGERS)
        actor = data.draw(st.sampled_from(anyone), label="actor")
        unstorable = action == "edit" and data.draw(st.booleans(), label="unstorable edit")
        edit = f"Edited by {actor}" + (f" with {UNSTORABLE}" if unstorable else "")
        refused_before = self._refusals(run_id)
        try:
            result = self.decisions.decide(
                run_id,
                actor,
                action,
                reason=REJECT_REASONS[0] if action == "reject" else None,
                edited_text=edit if action == "edit" else None,
            )
        except NotAuthorizedError:
            assert self._refusals(run_id) == refused_before + 1, "a refused decision is on record"
            return
        self._check_result(run_id, result)
        tracked.unstorable |= unstorable and result.applied

    @precondition(lambda self: self._two_person_open())
    @rule(data=st.data())
    def race(self, data: st.DataObject) -> None:
        """Two approvers of a two-person run click at the same instant: both count, the run closes."""
        run_id = data.draw(st.sampled_from(self._two_person_open()))
        requester = self.runs[run_id].requester
        actors = [a for a in LANES["code"][1] if a != requester][:2]
        barrier = threading.Barrier(2)

        def click(actor: str) -> DecisionResult:
            barrier.wait(timeout=30)
            return self.decisions.decide(run_id, actor, "approve")

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(click, actors))
        assert [r.applied for r in results] == [True, True]
        assert sorted(r.completes for r in results) == [False, True]
        run = self.store.get_run(run_id)
        assert (run.status, run.approval_count) == ("approved", 2)

    @rule(hours=st.sampled_from([1, 3, 6]))
    def expire(self, hours: int) -> None:
        """Time passes; the sweep expires exactly the drafts past their deadline."""
        self.time.advance(hours * 3600)
        now = self.time.now
        self.store.beat(LIVE, now)
        before = self._records()
        due = {r.id for r in before if r.status in AWAITING_REVIEW and r.expires_at and r.expires_at <= now}
        expired_before = {r.id for r in before if r.status == "expired"}
        assert expire_due(self.store, self.client, self.config, now) == len(due)
        assert {r.id for r in self._records() if r.status == "expired"} == expired_before | due

    # --- invariants -----------------------------------------------------------------------------

    @invariant()
    def every_run_and_request_is_accounted_for(self) -> None:
        records = self._records()
        assert {r.id for r in records} == set(self.runs)
        assert all(TOKEN.search(r.prompt) for r in self.world.server.requests), "a request of no run"
        for run in records:
            self._check_run(run, self.runs[run.id])

    def _check_run(self, run: RunRecord, tracked: Tracked) -> None:
        self._moved_by_a_transition(tracked.status, run.status, run.id)
        tracked.status, tracked.approval_count = run.status, run.approval_count
        self._decisions_agree_with_the_status(run)
        self._attempts_match_the_requests(run, tracked)
        self._text_is_storable(run, tracked)
        if run.status in AWAITING_REVIEW:
            assert run.draft_text is not None or run.failed_check is not None, run.id
        if run.status in IN_FLIGHT and self.recovered:
            assert run.owner_instance == LIVE, f"{run.id} is in flight without a live owner"
        if tracked.owner == LIVE:
            assert run.status != "failed", "recovery took a live instance's run"

    # --- helpers --------------------------------------------------------------------------------

    def _records(self) -> list[RunRecord]:
        """Every run of the example with its attempts and decisions, in three queries."""
        with Session(self.world.engine) as session:
            rows = session.scalars(
                select(models.Run)
                .order_by(models.Run.id)
                .options(selectinload(models.Run.attempts), selectinload(models.Run.decisions))
            ).all()
            return [to_record(row) for row in rows]

    def _ids(self, where: Callable[[Tracked], bool]) -> list[str]:
        return sorted(run_id for run_id, tracked in self.runs.items() if where(tracked))

    def _two_person_open(self) -> list[str]:
        return self._ids(lambda t: t.lane == "code" and t.status in AWAITING_REVIEW and t.approval_count == 0)

    def _requests_of(self, token: str) -> list[RecordedRequest]:
        return [r for r in self.world.server.requests if token in r.prompt]

    def _refusals(self, run_id: str) -> int:
        return sum(d.kind == "refused" for d in self.store.get_run(run_id).decisions)

    def _check_result(self, run_id: str, result: DecisionResult) -> None:
        run = self.store.get_run(run_id)
        assert result.status == run.status, (result, run.status)
        if result.applied and result.completes:
            final = run.final_decision
            assert final is not None and final.actor == result.decided_by
            assert run.status == ("edited" if final.edited_text is not None else FINAL_STATUS[final.kind])

    @staticmethod
    def _moved_by_a_transition(before: str | None, after: str, run_id: str) -> None:
        if before is None or before == after:
            return
        assert before not in TERMINAL_STATUSES, f"{run_id} left terminal status {before} for {after}"
        edges = {(s, t.target) for t in TRANSITIONS for s in t.sources if t.target}
        assert (before, after) in edges, f"{run_id} moved {before} -> {after}: not a transition"

    @staticmethod
    def _decisions_agree_with_the_status(run: RunRecord) -> None:
        finals = [d for d in run.decisions if d.final]
        assert len(finals) <= 1, f"{run.id} has {len(finals)} final decisions"
        assert bool(finals) == (run.status in CLOSED_BY_DECISION), (run.id, run.status, finals)
        approvals = [d for d in run.decisions if d.kind == "approval"]
        counted = [d for d in finals if d.kind in ("approve", "edit")]
        assert run.approval_count == len(approvals) + len(counted), run.id
        assert len({d.actor for d in approvals + counted}) == len(approvals) + len(counted), run.id
        if finals:
            final = finals[0]
            wanted = "edited" if final.kind in ("approve", "edit") and final.edited_text else None
            assert run.status == (wanted or FINAL_STATUS[final.kind]), (run.id, run.status, final)
        interrupted = [d for d in run.decisions if d.kind == "fail" and d.reason == "interrupted"]
        assert len(interrupted) <= 1 and (not interrupted or run.status == "failed"), run.id

    def _attempts_match_the_requests(self, run: RunRecord, tracked: Tracked) -> None:
        assert [a.seq for a in run.attempts] == list(range(1, len(run.attempts) + 1)), run.id
        if tracked.token is not None:
            assert len(run.attempts) == len(self._requests_of(tracked.token)), (run.id, run.attempts)

    @staticmethod
    def _text_is_storable(run: RunRecord, tracked: Tracked) -> None:
        texts = [run.input_text, run.draft_text, run.error, run.failed_check]
        texts += [a.error for a in run.attempts] + [d.edited_text for d in run.decisions]
        texts += [d.note for d in run.decisions]
        assert not any(needs_repair(t) for t in texts if t), run.id
        if tracked.unstorable:
            assert run.text_repaired, f"{run.id} was given text no store takes and does not say so"


def _failed_attempt(at: datetime) -> Attempt:
    return Attempt(
        kind="first",
        tier="fast",
        provider="openai",
        model_requested="gpt-5-mini",
        outcome="failed",
        started_at=at,
        latency_ms=20_000.0,
        reason_code="timeout",
        error="fast did not answer within 20s",
    )


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def test_the_run_lifecycle_holds_whatever_happens_in_whatever_order(
    db_url: str, server: ModelServer, redactor: Redactor
) -> None:
    world = World(db_url, server, redactor)

    class OnThisDatabase(LifecycleMachine):
        def __init__(self) -> None:
            super().__init__(world)

    try:
        run_state_machine_as_test(OnThisDatabase, settings=SETTINGS)
    finally:
        world.engine.dispose()
