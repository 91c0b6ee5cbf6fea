"""Shadow routes: a lane's [shadow] tier answers sampled live runs, unseen, capped, never in the way.

The engine runs against the real OpenAI client over HTTP (``tests.fakes.ModelServer``); the shadow
tier is its own model name there, so the server tells exactly which calls were the shadow's. The
Slack test drives a signed slash command through the running bot and the Web API stand-in. The
budget is checked three ways: sequentially against the arithmetic of the reservation, with every
shadow call held in flight (reservations alone must stop the rest), and from two OS processes on
PostgreSQL reserving at once.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.cli.shadow_report import render, summarise
from lanes.audit import NewRun
from lanes.config import LanesConfig, ModelSpec, ShadowSettings
from lanes.lifecycle import transition
from lanes.prompts import render as render_prompt
from lanes.shadow_routes import ShadowRequest, sampled, worst_case_usd
from storage.db import make_engine
from storage.migrate import upgrade
from storage.redaction import Redactor
from storage.store import AuditStore
from tests.engine_rig import FAST, FakeTime, ask, build_engine, rig_config
from tests.fakes import Gate, ModelServer, Ok, Status
from tests.procs.harness import wait_until
from tests.procs.shadow_reserver import AT, BUDGET_USD, RESERVE_USD, reserve_in_process
from tests.slack_harness import lanes_config, posted_json, running_bot, slack_and_models

pytestmark = pytest.mark.timeout(180)

CANDIDATE = "gpt-5-candidate"
SHADOW_TEXT = "SHADOW-ONLY draft: a colleague will write back today."
LIVE_TEXT = "Your parcel is on its way."
REQUEST = "Where is my parcel?"
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def with_shadow(config: LanesConfig, *, rate: float = 1.0, budget: float = 10.0) -> LanesConfig:
    """``config`` with a ``candidate`` tier (priced, so it can be capped) shadowing lane support."""
    candidate = ModelSpec.model_validate(
        {
            "provider": "openai",
            "model": CANDIDATE,
            "timeout_s": 10,
            "price": {"input_per_mtok": 1.0, "output_per_mtok": 10.0},
        }
    )
    shadow = ShadowSettings(tier="candidate", sample_rate=rate, budget_daily_usd=budget)
    support = config.lanes["support"].model_copy(update={"shadow": shadow})
    return config.model_copy(
        update={
            "models": {**config.models, "candidate": candidate},
            "lanes": {**config.lanes, "support": support},
        }
    )


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        server.always(FAST, Ok(LIVE_TEXT))
        yield server


def shadow_rows(store: AuditStore) -> list[object]:
    return list(store.shadow_records(SINCE))


def reserve_for(config: LanesConfig, text: str = REQUEST) -> float:
    lane = config.lanes["support"]
    prompt = render_prompt(lane, "candidate", text)
    worst = worst_case_usd(config, lane, "candidate", prompt.system + prompt.prompt)
    assert worst is not None
    return worst


# --- every sampled run, once, never shown -----------------------------------------------------------
def test_every_live_run_gets_one_shadow_attempt_and_the_live_run_is_untouched(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    server.always(CANDIDATE, Ok(SHADOW_TEXT))
    engine = build_engine(with_shadow(rig_config(server)), store, server, redactor)
    shadows = engine.start_shadows(store)
    assert shadows is not None

    results = [ask(engine, "support", f"{REQUEST} order {n}") for n in range(5)]
    shadows.close(wait=True)

    rows = store.shadow_records(SINCE)
    assert sorted(r.run_id for r in rows) == sorted(r.run_id for r in results)
    assert {(r.status, r.model, r.draft_text) for r in rows} == {("ok", CANDIDATE, SHADOW_TEXT)}
    assert all(r.cost_usd is not None and r.cost_usd > 0 for r in rows)
    for result in results:
        run = store.get_run(result.run_id)
        assert (run.status, run.draft_text) == ("drafted", LIVE_TEXT)
        assert [a.model_requested for a in run.attempts] == [FAST], "no shadow call among the attempts"
        assert run.cost_usd == sum(a.cost_usd or 0 for a in run.attempts), "shadow cost is not the run's"
    assert len(server.requests_for(CANDIDATE)) == 5


def test_a_run_is_shadowed_at_most_once_even_when_offered_twice(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    server.always(CANDIDATE, Ok(SHADOW_TEXT))
    engine = build_engine(with_shadow(rig_config(server)), store, server, redactor)
    shadows = engine.start_shadows(store)
    assert shadows is not None
    result = ask(engine, "support", REQUEST)

    again = ShadowRequest(result.run_id, engine.config.lanes["support"], REQUEST, datetime.now(UTC))
    future = shadows.offer(again)  # a second instance offering the same run
    assert future is not None
    future.result(timeout=30)
    shadows.close(wait=True)

    assert [r.run_id for r in store.shadow_records(SINCE)] == [result.run_id]
    assert len(server.requests_for(CANDIDATE)) == 1


def test_sampling_is_by_run_id_and_matches_the_rate() -> None:
    ids = [f"run{n:05d}" for n in range(4000)]
    share = sum(sampled(i, 0.25) for i in ids) / len(ids)

    assert 0.22 < share < 0.28
    assert [sampled(i, 0.25) for i in ids] == [sampled(i, 0.25) for i in ids], "stable"
    assert all(sampled(i, 1.0) for i in ids)


def test_a_lane_without_a_shadow_turns_nothing_on(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    engine = build_engine(rig_config(server), store, server, redactor)

    assert engine.start_shadows(store) is None
    ask(engine, "support", REQUEST)
    assert store.shadow_records(SINCE) == []


def test_the_shadow_draft_never_reaches_slack(sqlite_url: str) -> None:
    with slack_and_models() as (stub, models):
        models.always(FAST, Ok(LIVE_TEXT))
        models.always(CANDIDATE, Ok(SHADOW_TEXT))
        config = with_shadow(lanes_config(models, keep_only=("support",)))
        with running_bot(sqlite_url, models, stub, config) as bot:
            run = bot.ask("U0ASKER", REQUEST)
            shadows = bot.runtime.core.engine.shadows
            assert shadows is not None
            shadows.close(wait=True)

            (row,) = bot.store.shadow_records(SINCE)
            assert (row.run_id, row.status, row.draft_text) == (run.id, "ok", SHADOW_TEXT)
            visible = posted_json(bot)
            assert LIVE_TEXT in visible and "SHADOW-ONLY" not in visible


# --- never in the way -------------------------------------------------------------------------------
def test_a_slow_shadow_does_not_hold_the_live_run(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    held = threading.Event()
    server.always(CANDIDATE, Gate(held, Ok(SHADOW_TEXT)))
    engine = build_engine(with_shadow(rig_config(server)), store, server, redactor)
    shadows = engine.start_shadows(store)
    assert shadows is not None

    try:
        results = [ask(engine, "support", f"{REQUEST} #{n}") for n in range(3)]
        # Every live run has its draft while the shadow model has not answered any of them.
        assert [r.status for r in results] == ["drafted"] * 3
        server.wait_for_requests(1, timeout=30)
        assert [r.status for r in store.shadow_records(SINCE)].count("running") >= 1
    finally:
        held.set()
        shadows.close(wait=True)
    assert {r.status for r in store.shadow_records(SINCE)} == {"ok"}


@pytest.mark.parametrize(
    ("answer", "status"),
    [(Status(500), "failed"), (Ok("I have refunded your order."), "check_failed")],
    ids=["shadow-model-down", "shadow-draft-fails-checks"],
)
def test_a_failing_shadow_is_recorded_and_the_live_run_is_not_touched(
    server: ModelServer, store: AuditStore, redactor: Redactor, answer: object, status: str
) -> None:
    server.always(CANDIDATE, answer)  # type: ignore[arg-type]
    engine = build_engine(with_shadow(rig_config(server)), store, server, redactor)
    shadows = engine.start_shadows(store)
    assert shadows is not None

    result = ask(engine, "support", REQUEST)
    shadows.close(wait=True)

    assert (result.status, result.draft, result.route_kind) == ("drafted", LIVE_TEXT, "default")
    (row,) = store.shadow_records(SINCE)
    assert row.status == status
    assert row.reason or row.failed_checks, "the shadow row says why"
    assert [a.model_requested for a in store.get_run(result.run_id).attempts] == [FAST]


# --- the daily cap ------------------------------------------------------------------------------------
def test_the_budget_holds_exactly_one_call_after_another(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    # Answers near the worst case (most of the output allowance), so the cap is reached in a few calls.
    server.always(CANDIDATE, Ok(SHADOW_TEXT, input_tokens=200, output_tokens=400))
    config = rig_config(server)
    reserve = reserve_for(with_shadow(config))
    budget = 2.5 * reserve
    engine = build_engine(with_shadow(config, budget=budget), store, server, redactor, FakeTime())
    shadows = engine.start_shadows(store, workers=1)  # one at a time: each settles before the next
    assert shadows is not None

    for _ in range(8):
        ask(engine, "support", REQUEST)
    shadows.close(wait=True)

    rows = sorted(store.shadow_records(SINCE), key=lambda r: r.created_at)
    spent = 0.0
    for row in rows:  # each call went out exactly when its worst case still fitted
        if row.status == "ok":
            assert spent + reserve <= budget + 1e-12, "a call went out that could have passed the cap"
            assert row.cost_usd is not None and row.cost_usd <= reserve
            spent += row.cost_usd
        else:
            assert row.status == "skipped" and "budget" in (row.reason or "")
            assert spent + reserve > budget, "a call was skipped although its worst case fitted"
    assert 2 <= sum(r.status == "ok" for r in rows) < 8
    day = rows[0].created_at.date().isoformat()
    assert store.shadow_spent("support", day) == pytest.approx((spent, 0.0))
    assert spent <= budget


def test_calls_in_flight_hold_their_reservation_so_the_rest_are_skipped(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    held = threading.Event()
    server.always(CANDIDATE, Gate(held, Ok(SHADOW_TEXT)))
    config = rig_config(server)
    reserve = reserve_for(with_shadow(config))
    engine = build_engine(with_shadow(config, budget=2.5 * reserve), store, server, redactor)
    shadows = engine.start_shadows(store, workers=6)  # all six calls at once
    assert shadows is not None
    try:
        for _ in range(6):
            ask(engine, "support", REQUEST)
        server.wait_for_requests(2, timeout=30)  # two calls held in flight with their reservations
        wait_until(lambda: len(store.shadow_records(SINCE)) == 6)
        rows = store.shadow_records(SINCE)
        assert sorted(r.status for r in rows) == ["running"] * 2 + ["skipped"] * 4
    finally:
        held.set()
        shadows.close(wait=True)
    rows = store.shadow_records(SINCE)
    assert sorted(r.status for r in rows) == ["ok", "ok"] + ["skipped"] * 4
    assert len(server.requests_for(CANDIDATE)) == 2


def test_two_processes_reserving_at_once_never_pass_the_cap(pg_url: str) -> None:
    """Two instances on PostgreSQL, 30 reservations each, released together: the cap admits ten."""
    engine = make_engine(pg_url)
    upgrade(engine)
    store = AuditStore(engine)
    for prefix in ("a", "b"):
        for n in range(30):
            store.start_run(
                NewRun(id=f"{prefix}{n:03d}", lane="support", requester="U0ASKER", created_at=AT),
                transition("start"),
            )
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(target=reserve_in_process, args=(pg_url, prefix, 30, barrier, results))
        for prefix in ("a", "b")
    ]
    for process in processes:
        process.start()
    counts = dict(results.get(timeout=150) for _ in processes)
    for process in processes:
        process.join(timeout=30)

    assert sum(counts.values()) == round(BUDGET_USD / RESERVE_USD), counts
    assert store.shadow_spent("support", AT.date().isoformat()) == pytest.approx((0.0, BUDGET_USD))
    assert [process.exitcode for process in processes] == [0, 0]
    engine.dispose()


# --- the report -----------------------------------------------------------------------------------------
def test_the_report_compares_shadow_and_live_against_what_people_approved(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    server.always(CANDIDATE, Ok(LIVE_TEXT + " Thanks!"))
    engine = build_engine(with_shadow(rig_config(server)), store, server, redactor)
    shadows = engine.start_shadows(store)
    assert shadows is not None
    ask(engine, "support", REQUEST)
    shadows.close(wait=True)

    (lane,) = summarise(store.shadow_records(SINCE))
    assert (lane.lane, lane.tiers, lane.shadowed, lane.answered, lane.passed_checks) == (
        "support",
        ("candidate",),
        1,
        1,
        1,
    )
    assert lane.shadow_cost_usd > 0 and lane.decided == 0
    text = render([lane], "2026-11-11 00:00 UTC")
    assert "support" in text and "candidate" in text
    assert "no shadow attempts" in render([], "2026-11-11 00:00 UTC")
