"""Every figure of a digest, checked against a hand-computed audit history, on SQLite and PostgreSQL.

The history is written through the real ``AuditStore`` (start_run → finish_run → apply_decision),
so the digest reads exactly what the bot writes. The expected numbers below were worked out by
hand from the table in ``HISTORY``; a comment next to each says where it comes from.

Week 2026-W47 in Europe/Berlin runs from Mon 16 Nov 00:00 CET (15 Nov 23:00 UTC) to Mon 23 Nov
00:00 CET (22 Nov 23:00 UTC).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.digest import build_digest, render_blocks, render_json, render_text
from bot.digest.render import render_tables, route_summary, route_table
from bot.digest.report import Digest, LaneDigest, Stats
from lanes.audit.records import NewDecision, NewRun, RunOutcome
from lanes.config import LanesConfig, parse_config
from lanes.lifecycle import DecisionGuard, end_of_model_work, transition
from storage.digest_queries import week_percentiles
from storage.store import AuditStore

BERLIN = ZoneInfo("Europe/Berlin")
TUE = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)  # an ordinary moment inside W47
W46_TUE = TUE - timedelta(weeks=1)
W44_TUE = TUE - timedelta(weeks=3)
MINI, LLAMA, SONNET = "gpt-5-mini", "llama3.1:8b", "claude-sonnet-4-6"
REFUND, LONG, FACTS = "keyword: refund", "input over 2500 chars", "wrong facts"
DECISION = {"approve": "approved", "edit": "edited", "reject": "rejected", "expire": "expired"}


@dataclass(frozen=True)
class R:
    """One run of the history: request time, route, answer, price, draft delay and how it ended."""

    id: str
    lane: str
    at: datetime
    route: str
    tier: str | None
    model: str | None
    cost: float | None
    draft_s: float | None  # request → draft; None: no draft (failed)
    end: str  # approve / edit / reject / expire / pending / needs_human / failed
    reason: str | None = None
    distance: int | None = None
    fallback: str | None = None
    escalation: str | None = None
    decide_after: timedelta = timedelta(minutes=5)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN).astimezone(UTC)


HISTORY = (
    # --- W47, lane support -------------------------------------------------------------------
    R("s1", "support", TUE, "default", "fast", MINI, 0.10, 10, "approve"),
    R("s2", "support", TUE, "default", "fast", MINI, 0.10, 20, "edit", distance=30),
    R("s3", "support", TUE, "default", "fast", MINI, 0.10, 30, "edit", distance=10),
    R("s4", "support", TUE, "default", "fast", MINI, 0.10, 40, "reject", reason="tone"),
    R("s5", "support", TUE, "fallback", "local", LLAMA, 0.0, 60, "approve", fallback="timeout"),
    R("s6", "support", TUE, "fallback", "local", LLAMA, None, 120, "reject", FACTS, fallback="timeout"),
    R("s7", "support", TUE, "fallback", "local", LLAMA, 0.0, 90, "expire", fallback="rate limited"),
    R("s8", "support", TUE, "escalation", "strong", SONNET, 1.0, 100, "approve", escalation=REFUND),
    R("s9", "support", TUE, "escalation", "strong", SONNET, 1.0, 200, "reject", "tone", escalation=REFUND),
    R("s10", "support", TUE, "escalation", "strong", SONNET, 1.0, 300, "pending", escalation=LONG),
    R("s11", "support", TUE, "human", None, None, 0.02, 15, "needs_human", fallback="timeout"),
    R("s12", "support", TUE, "default", "fast", MINI, 0.05, None, "failed"),
    # Sunday 23:58:30 Berlin: still W47; drafted 30 s later, approved only on Monday (pending at week end).
    R("s13", "support", local(2026, 11, 22, 23, 58, 30), "default", "fast", MINI, 0.10, 30, "approve",
      decide_after=timedelta(minutes=40)),
    # Monday 00:00:30 Berlin is W48 (Sunday 23:00:30 UTC): not in this digest.
    R("s14", "support", local(2026, 11, 23, 0, 0, 30), "default", "fast", MINI, 9.99, 5, "approve"),
    # Monday 00:00:00 Berlin exactly: the first instant of W47.
    R("s15", "support", local(2026, 11, 16, 0, 0, 0), "default", "fast", MINI, 0.10, 5, "approve"),
    # --- W47, lane contract ------------------------------------------------------------------
    R("c1", "contract", TUE, "default", "strong", SONNET, 0.50, 50, "edit", distance=50),
    R("c2", "contract", TUE, "default", "strong", SONNET, 0.50, 70, "approve"),
    R("c3", "contract", TUE, "fallback", "fast", MINI, 0.05, 40, "reject", fallback="timeout"),
    # --- W46: last week's baseline -------------------------------------------------------------
    R("p1", "support", W46_TUE, "default", "fast", MINI, 0.10, 10, "approve"),
    R("p2", "support", W46_TUE, "default", "fast", MINI, 0.10, 10, "approve"),
    R("p3", "support", W46_TUE, "default", "fast", MINI, 0.10, 10, "approve"),
    R("p4", "support", W46_TUE, "default", "fast", MINI, 0.10, 10, "approve"),
    # Sunday 23:59:59 Berlin: the last instant of W46.
    R("p5", "support", local(2026, 11, 15, 23, 59, 59), "default", "fast", MINI, 0.10, 10, "approve"),
    R("p6", "support", W46_TUE, "escalation", "strong", SONNET, 1.0, 10, "approve", escalation=REFUND),
    R("p7", "contract", W46_TUE, "default", "strong", SONNET, 0.50, 10, "approve"),
    R("p8", "contract", W46_TUE, "default", "strong", SONNET, 0.50, 10, "approve"),
    # --- W44: history for the chart ------------------------------------------------------------
    R("h1", "support", W44_TUE, "default", "fast", MINI, 1.0, 10, "approve"),
    R("h2", "support", W44_TUE, "default", "fast", MINI, 1.0, 10, "edit", distance=3),
)  # fmt: skip


def write(store: AuditStore, run: R) -> None:
    store.start_run(
        NewRun(
            id=run.id,
            lane=run.lane,
            requester="U_REQ",
            created_at=run.at,
            route_kind=run.route,
            tier=run.tier,
        ),
        transition("start"),
    )
    if run.end == "failed":
        store.finish_run(run.id, transition("fail"), _outcome(run, "failed", run.at + timedelta(seconds=5)))
        return
    assert run.draft_s is not None
    drafted_at = run.at + timedelta(seconds=run.draft_s)
    ending = "needs_human" if run.end == "needs_human" else "drafted"
    store.finish_run(run.id, end_of_model_work(ending), _outcome(run, ending, drafted_at))
    if run.end in DECISION:
        decision = NewDecision(
            run_id=run.id,
            kind=run.end,
            actor="U_OWNER" if run.end != "expire" else "lanebot",
            created_at=drafted_at + run.decide_after,
            final=True,
            reason=run.reason,
            edit_distance=run.distance,
        )
        assert store.apply_decision(decision, DecisionGuard(transition(run.end), seen_approvals=0)).applied


def _outcome(run: R, status: str, at: datetime) -> RunOutcome:
    return RunOutcome(
        finished_at=at,
        route_kind=run.route,
        tier=run.tier,
        model=run.model,
        draft_text=None if status == "failed" else "a draft",
        fallback_reason=run.fallback,
        escalation_reason=run.escalation,
        cost_usd=run.cost,
        cost_known=run.cost is not None,
    )


CONFIG = {
    "models": {
        "fast": {"provider": "openai", "model": MINI},
        "strong": {"provider": "anthropic", "model": SONNET},
        "local": {"provider": "openai_compatible", "model": LLAMA, "base_url": "http://127.0.0.1:9/v1"},
    },
    "lanes": {
        name: {
            "command": f"/{name}",
            "default": default,
            "fallback": fallback,
            "escalate_to": "strong",
            "budget_daily_usd": budget,
            "prompts": {"fast": {}, "strong": {}},
        }
        for name, default, fallback, budget in (
            ("support", "fast", "local", 5.0),
            ("contract", "strong", "fast", 20.0),
        )
    },
    "digest": {
        "channel": "C0DIGEST",
        "timezone": "Europe/Berlin",
        "premium_tiers": ["strong"],
        "premium_creep_pct": 10,
    },
}


@pytest.fixture
def config() -> LanesConfig:
    return parse_config(CONFIG)


@pytest.fixture
def digest(store: AuditStore, config: LanesConfig) -> Digest:
    for run in HISTORY:
        write(store, run)
    return build_digest(store, config, "2026-W47", now=datetime(2026, 11, 30, 9, tzinfo=UTC))


def lane(digest: Digest, name: str) -> LaneDigest:
    return next(item for item in digest.lanes if item.lane == name)


def route(digest: Digest, lane_name: str, route_name: str) -> Stats:
    return next(r.stats for r in lane(digest, lane_name).routes if r.route == route_name)


def reasons(items: object) -> list[tuple[str, int]]:
    return [(item.reason, item.count) for item in items]  # type: ignore[attr-defined]


def test_week_bounds_are_berlin_midnights(digest: Digest) -> None:
    assert digest.week == "2026-W47"
    assert digest.start == datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
    assert digest.end == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_support_lane_counts(digest: Digest) -> None:
    c = lane(digest, "support").stats.counters
    # s1..s13 and s15; s14 is W48.
    assert c.runs == 14
    assert (c.approved, c.edited, c.rejected, c.expired, c.failed) == (5, 2, 3, 1, 1)
    assert c.pending == 3  # s10 drafted, s11 needs_human, s13 approved after the week ended
    assert c.spend_usd == pytest.approx(3.67)  # 4×0.10 + 3×1.00 + 0.02 + 0.05 + 0.10 (s13) + 0.10 (s15)
    assert c.unknown_cost_runs == 1  # s6
    assert (c.fallback_runs, c.escalation_runs) == (4, 3)  # s5 s6 s7 s11 / s8 s9 s10
    assert (c.premium_runs, c.premium_spend_usd) == (3, pytest.approx(3.0))


def test_support_lane_rates_and_percentiles(digest: Digest) -> None:
    support = lane(digest, "support")
    s = support.stats
    assert s.reviewed == 10
    assert (s.first_pass_rate, s.edit_rate, s.rejection_rate, s.rework_rate) == (0.5, 0.2, 0.3, 0.5)
    assert s.fallback_rate == pytest.approx(4 / 14)
    assert s.escalation_rate == pytest.approx(3 / 14)
    assert s.cost_per_approved_usd == pytest.approx(3.67 / 7)
    assert s.edit_distance_median == pytest.approx(20)  # 10, 30
    # Approved/edited drafts: 5 10 20 30 30 60 100 s → p50 rank 3 = 30; p90 rank 5.4 = 60 + 0.4×40.
    assert s.time_to_draft_p50_s == pytest.approx(30)
    assert s.time_to_draft_p90_s == pytest.approx(76)
    assert reasons(s.top_rejections) == [("tone", 2), ("wrong facts", 1)]
    assert reasons(s.top_fallbacks) == [("timeout", 3), ("rate limited", 1)]
    assert reasons(s.top_escalations) == [("keyword: refund", 2), ("input over 2500 chars", 1)]
    assert support.budget_usd == pytest.approx(35.0)
    assert support.budget_used == pytest.approx(3.67 / 35)


def test_support_routes(digest: Digest) -> None:
    assert [r.route for r in lane(digest, "support").routes] == ["default", "fallback", "escalation", "human"]
    default = route(digest, "support", "default")  # s1 s2 s3 s4 s12 s13 s15
    assert (default.counters.runs, default.counters.spend_usd) == (7, pytest.approx(0.65))
    assert (default.counters.approved, default.counters.edited, default.counters.rejected) == (3, 2, 1)
    assert (default.counters.failed, default.counters.pending) == (1, 1)
    assert default.first_pass_rate == pytest.approx(0.5)
    assert default.cost_per_approved_usd == pytest.approx(0.13)
    assert (default.time_to_draft_p50_s, default.time_to_draft_p90_s) == (
        pytest.approx(20),
        pytest.approx(30),
    )
    assert default.edit_distance_median == pytest.approx(20)
    assert reasons(default.top_rejections) == [("tone", 1)]

    fallback = route(digest, "support", "fallback")  # s5 s6 s7
    assert (fallback.counters.runs, fallback.counters.unknown_cost_runs, fallback.counters.expired) == (
        3,
        1,
        1,
    )
    assert fallback.cost_per_approved_usd == 0.0
    assert fallback.fallback_rate == 1.0
    assert reasons(fallback.top_fallbacks) == [("timeout", 2), ("rate limited", 1)]
    assert (fallback.time_to_draft_p50_s, fallback.time_to_draft_p90_s) == (
        pytest.approx(60),
        pytest.approx(60),
    )

    escalation = route(digest, "support", "escalation")  # s8 s9 s10
    assert (escalation.counters.spend_usd, escalation.counters.pending) == (pytest.approx(3.0), 1)
    assert escalation.rejection_rate == 0.5
    assert reasons(escalation.top_escalations) == [("keyword: refund", 2), ("input over 2500 chars", 1)]

    human = route(digest, "support", "human")  # s11
    assert (human.counters.runs, human.counters.pending, human.reviewed) == (1, 1, 0)
    assert human.first_pass_rate is None and human.time_to_draft_p50_s is None


def test_route_distribution_week_over_week(digest: Digest) -> None:
    shares = {s.route: s for s in lane(digest, "support").distribution}
    # W47: 7 3 3 1 of 14; W46: 5 default and 1 escalation of 6.
    assert shares["default"].share == pytest.approx(0.5)
    assert shares["default"].change_pp == pytest.approx((0.5 - 5 / 6) * 100)
    assert shares["fallback"].change_pp == pytest.approx(3 / 14 * 100)
    assert shares["escalation"].change_pp == pytest.approx((3 / 14 - 1 / 6) * 100)
    assert shares["human"].previous_share == 0.0


def test_contract_lane(digest: Digest) -> None:
    contract = lane(digest, "contract")
    s = contract.stats
    assert (s.counters.runs, s.counters.spend_usd, s.reviewed) == (3, pytest.approx(1.05), 3)
    assert s.rework_rate == pytest.approx(2 / 3)
    assert s.cost_per_approved_usd == pytest.approx(0.525)
    assert (s.time_to_draft_p50_s, s.time_to_draft_p90_s) == (pytest.approx(60), pytest.approx(68))
    assert s.edit_distance_median == pytest.approx(50)
    assert reasons(s.top_rejections) == [("unspecified", 1)]  # c3 was rejected without a reason
    assert contract.budget_used == pytest.approx(1.05 / 140)


def test_totals(digest: Digest) -> None:
    t = digest.total
    assert (t.counters.runs, t.counters.spend_usd, t.reviewed) == (17, pytest.approx(4.72), 13)
    assert (t.counters.pending, t.counters.expired, t.counters.failed, t.counters.unknown_cost_runs) == (
        3,
        1,
        1,
        1,
    )
    # 5 10 20 30 30 50 60 70 100 → p50 = 30, p90 rank 7.2 = 70 + 0.2×30.
    assert (t.time_to_draft_p50_s, t.time_to_draft_p90_s) == (pytest.approx(30), pytest.approx(76))
    assert t.edit_distance_median == pytest.approx(30)  # 10 30 50
    assert reasons(t.top_rejections) == [("tone", 2), ("unspecified", 1), ("wrong facts", 1)]
    assert reasons(t.top_fallbacks) == [("timeout", 4), ("rate limited", 1)]
    assert (digest.previous_total.runs, digest.previous_total.spend_usd) == (8, pytest.approx(2.5))


def test_premium_creep_alert(digest: Digest) -> None:
    # support: strong share of spend 1.00/1.50 = 66.7% → 3.00/3.67 = 81.7% (+15 pp ≥ 10);
    # its share of runs went 1/6 → 3/14 (+4.8 pp), contract's and the total's fell or rose < 10 pp.
    assert [(a.lane, a.kind) for a in digest.alerts] == [("support", "spend")]
    alert = digest.alerts[0]
    assert (alert.previous_share, alert.share) == (pytest.approx(2 / 3), pytest.approx(3 / 3.67))


def test_models_and_headlines(digest: Digest) -> None:
    models = {m.model: (m.runs, m.reviewed, m.reworked) for m in digest.models}
    assert models == {MINI: (8, 7, 4), LLAMA: (3, 2, 1), SONNET: (5, 4, 2)}
    assert digest.headlines == (
        "Most expensive lane: support, $3.67 (78% of all spend, 10% of its $35.00 budget).",
        "Most rework: contract, 67% of reviewed drafts edited or rejected (2 of 3).",
        "Model with most rework: gpt-5-mini, 57% of its reviewed drafts (4 of 7).",
    )


def test_history_for_the_chart(digest: Digest) -> None:
    assert digest.history_weeks == tuple(f"2026-W{n}" for n in range(40, 48))
    points = {(p.week, p.lane): p for p in digest.history}
    assert points[("2026-W44", "support")].spend_usd == pytest.approx(2.0)
    assert points[("2026-W44", "support")].rework_rate == 0.5
    assert points[("2026-W46", "support")].spend_usd == pytest.approx(1.5)
    assert points[("2026-W46", "contract")].rework_rate == 0.0
    assert points[("2026-W47", "support")].spend_usd == pytest.approx(3.67)
    assert points[("2026-W45", "contract")].rework_rate is None  # no reviews: a gap, not 0%


def test_renderers_show_the_same_figures(digest: Digest) -> None:
    text = render_text(digest)
    assert "Mon 16 Nov – Sun 22 Nov 2026 (Europe/Berlin)" in text
    assert (
        "14 runs · spend $3.67 of $35.00 budget (10%) · $0.52 per approved task · 1 run at unknown price"
        in text
    )
    assert "rejections 30% (tone ×2, wrong facts ×1)" in text
    assert "time to usable draft p50 30.0 s · p90 1.3 min" in text
    assert "Premium creep in support: strong share of spend rose from 67% to 82%" in text

    document = render_json(digest)
    assert json.loads(json.dumps(document)) == document
    support = next(item for item in document["lanes"] if item["lane"] == "support")
    assert support["runs"] == 14 and support["top_rejections"][0] == {"reason": "tone", "count": 2}
    assert [r["route"] for r in support["routes"]] == ["default", "fallback", "escalation", "human"]

    blocks = render_blocks(digest)
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    assert "Premium creep in support" in json.dumps(blocks)


def test_an_empty_week(store: AuditStore, config: LanesConfig) -> None:
    digest = build_digest(store, config, "2026-W01", now=datetime(2026, 1, 12, tzinfo=UTC))
    assert digest.headlines == ("No runs this week.",)
    assert digest.total.counters.runs == 0 and digest.total.first_pass_rate is None
    assert {lane.lane for lane in digest.lanes} == {"support", "contract"}
    assert "No runs this week or last: contract, support." in render_text(digest)
    for block in render_blocks(digest):
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    assert "No runs this week." in render_text(digest)


def test_default_week_is_the_last_completed_one(store: AuditStore, config: LanesConfig) -> None:
    # Monday 23 Nov 00:30 Berlin: W47 has just ended.
    digest = build_digest(store, config, now=local(2026, 11, 23, 0, 30))
    assert digest.week == "2026-W47"


def test_blocks_stay_within_slack_limits_with_many_lanes(digest: Digest) -> None:
    crowded = replace(digest, lanes=digest.lanes * 30)
    blocks = render_blocks(crowded)
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    assert "more lanes: run `lanebot digest --week 2026-W47`" in json.dumps(blocks)


def percentile_cont(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def test_percentiles_match_percentile_cont_at_every_level(store: AuditStore) -> None:
    """Random delays (ties, groups of one and two included) against the textbook definition."""
    rng = random.Random(7)
    runs = [
        R(f"q{i}", rng.choice(["a", "b"]), TUE, rng.choice(["default", "fallback", "escalation"]), "fast",
          MINI, 0.01, float(rng.choice([1, 2, 2, 3, 5, 8, 13, 21.5])), rng.choice(["approve", "edit"]),
          distance=rng.randrange(1, 40))
        for i in range(45)
    ] + [R("solo", "c", TUE, "default", "fast", MINI, 0.01, 4.25, "approve")]  # fmt: skip
    for run in runs:
        write(store, run)
    with store.engine.connect() as conn:
        found = week_percentiles(conn, TUE - timedelta(days=1), TUE + timedelta(days=1))
    groups: dict[tuple[str | None, str | None], list[R]] = {}
    for run in runs:
        for key in ((run.lane, run.route), (run.lane, None), (None, None)):
            groups.setdefault(key, []).append(run)
    assert set(found["time_to_draft_s"]) == set(groups)
    for key, members in groups.items():
        delays = [float(r.draft_s or 0) for r in members]
        assert found["time_to_draft_s"][key] == pytest.approx(
            (percentile_cont(delays, 0.5), percentile_cont(delays, 0.9))
        )
        edits = [float(r.distance or 0) for r in members if r.end == "edit"]
        if edits:
            assert found["edit_distance"][key][0] == pytest.approx(percentile_cont(edits, 0.5))
        else:
            assert key not in found["edit_distance"]


def test_route_tables_go_to_a_file_and_the_message_keeps_a_line_per_route(digest: Digest) -> None:
    """A 13-column table wraps in a Slack thread and was cut off in the playground: the blocks carry
    one short line per route, the attached text file carries every column."""
    text = json.dumps(render_blocks(digest))
    assert "```" not in text and "$/appr." not in text
    support = next(lane for lane in digest.lanes if lane.lane == "support")
    lines = route_summary(support).splitlines()
    assert [line.split("`")[1] for line in lines] == [share.route for share in support.distribution]
    assert all(len(line) <= 60 for line in lines)
    assert "Full route tables for" in text
    tables = render_tables(digest)
    assert route_table(support) in tables and tables.startswith("Weekly AI lanes digest · 2026-W47")


def test_a_week_without_routes_attaches_no_table(store: AuditStore, config: LanesConfig) -> None:
    empty = build_digest(store, config, "2026-W01", now=datetime(2026, 1, 12, tzinfo=UTC))
    assert render_tables(empty) == ""
    assert "Full route tables" not in json.dumps(render_blocks(empty))
