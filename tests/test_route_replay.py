"""`lanebot routes diff`: route inputs are recorded on every run (text stored or not), and a
candidate lanes.toml replayed over them gives, run by run, what ``route()`` returns for those
requests under the candidate. Runs go through the real engine, SDK clients and loopback model
server, on SQLite and PostgreSQL; the candidate is a lanes.toml file read by the CLI."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from lanes.config import LaneConfig, LanesConfig, parse_config
from lanes.evals.replay import CONFIRM, replay
from lanes.policy import route, route_from_inputs, route_inputs
from lanes.policy_text import canonical_toml, toml_text
from lanes.values import RouteState, RunRequest
from tests.engine_rig import FakeTime, build_engine, rig_config
from tests.fakes.model_servers import ModelServer, Status

ROOT = Path(__file__).resolve().parent.parent
SINCE = "2026-01-01"
REQUESTS = [
    ("support", "Where is my parcel?"),
    ("support", "I want a refund for the second charge"),
    ("support", "My LAWYER   will call you"),
    ("support", "The app crashed. " * 160),  # 2,720 chars: over input_chars_over
    ("support", "Please help with my refund, my lawyer says so"),
    ("code", "Fix the race condition in the queue worker"),
    ("code", "Rename this variable please"),
]


@pytest.fixture
def server():
    with ModelServer() as server:
        yield server


def with_lane(config: LanesConfig, name: str, **changes: Any) -> LanesConfig:
    lanes = dict(config.lanes)
    lanes[name] = LaneConfig.model_validate({**lanes[name].model_dump(by_alias=True), **changes})
    return config.model_copy(update={"lanes": lanes})


def seed(server, store, redactor, config: LanesConfig) -> dict[str, RunRequest]:
    """Every request of ``REQUESTS`` run through the engine, three times over an hour."""
    time = FakeTime()
    engine = build_engine(config, store, server, redactor, time)
    asked: dict[str, RunRequest] = {}
    for _ in range(3):
        for lane, text in REQUESTS:
            request = RunRequest(lane=lane, text=text, requester="U0REQUEST")
            asked[engine.run(request).run_id] = request
            time.advance(60)
    return asked


def write_candidate(tmp_path: Path, config: LanesConfig, **lane_changes: dict[str, Any]) -> Path:
    """``config`` (as its canonical TOML) with per-lane changes, as a file the CLI reads."""
    raw = tomllib.loads(canonical_toml(config))
    for lane, changes in lane_changes.items():
        raw["lanes"][lane].update(changes)
    path = tmp_path / "candidate.toml"
    path.write_text(toml_text(raw), encoding="utf-8")
    return path


def routes_diff(capsys, db_url: str, candidate: Path, *extra: str) -> dict[str, Any]:
    assert (
        main(
            [
                "routes",
                "diff",
                "--config",
                str(candidate),
                "--database-url",
                db_url,
                "--since",
                SINCE,
                "--json",
                *extra,
            ]
        )
        == 0
    )
    return json.loads(capsys.readouterr().out)


def agrees_with_route(store, candidate: LanesConfig, asked: dict[str, RunRequest]) -> None:
    """Run by run: the replay equals ``route()`` on the original request and the recorded state."""
    recorded = store.recorded_routes(datetime(2026, 1, 1, tzinfo=UTC))
    report = replay(candidate, recorded)
    assert {one.run_id for one in report.runs} == set(asked)
    for past, one in zip(recorded, report.runs, strict=True):
        inputs = past.features.inputs
        state = RouteState(
            now=inputs.at,
            spent_today_usd=inputs.spent_today_usd,
            open_circuits=frozenset(inputs.open_circuits),
        )
        request = asked[one.run_id]
        expected = route(candidate.lanes[request.lane], candidate.models, request, state)
        assert one.route == expected, one.run_id
        assert one.candidate == (CONFIRM if expected.needs_confirmation else expected.tier)


def test_route_inputs_are_recorded_on_every_run_even_without_stored_text(server, store, redactor) -> None:
    config = with_lane(rig_config(server), "code", store_text="none")
    asked = seed(server, store, redactor, config)
    recorded = store.recorded_routes_of(list(asked))
    assert set(recorded) == set(asked)
    for run_id, request in asked.items():
        past = recorded[run_id]
        assert past.features.inputs.input_chars == len(request.text)
        if request.lane == "code":
            assert past.input_text is None and store.get_run(run_id).input_text is None
    refund = next(
        r for i, r in recorded.items() if "refund" in asked[i].text and "lawyer" not in asked[i].text
    )
    assert refund.features.inputs.keywords_hit == ("refund",)
    assert refund.features.kind == "escalation" and refund.features.tier == "strong"
    assert set(refund.features.inputs.keywords_checked) == {"refund", "lawyer", "chargeback"}


def test_the_current_policy_changes_nothing(server, store, redactor, db_url, capsys, tmp_path) -> None:
    config = rig_config(server)
    asked = seed(server, store, redactor, config)
    diff = routes_diff(capsys, db_url, write_candidate(tmp_path, config))
    assert sum(lane["runs"] for lane in diff["lanes"]) == len(asked)
    assert all(lane["changed"] == 0 and lane["unknown"] == 0 for lane in diff["lanes"])
    agrees_with_route(store, config, asked)


def test_a_removed_escalation_keyword_shows_the_runs_that_stop_escalating(
    server, store, redactor, db_url, capsys, tmp_path
) -> None:
    config = rig_config(server)
    asked = seed(server, store, redactor, config)
    candidate_path = write_candidate(
        tmp_path,
        config,
        support={"escalate_when": {"input_chars_over": 2500, "keywords": ["lawyer", "chargeback"]}},
    )
    diff = routes_diff(capsys, db_url, candidate_path)
    support = next(lane for lane in diff["lanes"] if lane["lane"] == "support")
    assert support["changed"] == 3  # "refund" alone, three times; the run with "lawyer" too still escalates
    assert support["changes"] == [{"from": "strong", "to": "fast", "why": "no longer escalates", "runs": 3}]
    assert support["cost_difference_usd"] < 0
    changed = {run["run_id"] for run in diff["changed_runs"]}
    assert changed == {i for i, r in asked.items() if "refund" in r.text and "lawyer" not in r.text}
    candidate = parse_config(tomllib.loads(candidate_path.read_text()))
    agrees_with_route(store, candidate, asked)


def test_a_new_keyword_is_looked_for_in_stored_text_and_unknown_without_it(
    server, store, redactor, db_url, capsys, tmp_path
) -> None:
    config = with_lane(rig_config(server), "code", store_text="none")
    seed(server, store, redactor, config)
    candidate = write_candidate(
        tmp_path,
        config,
        support={
            "escalate_when": {
                "input_chars_over": 2500,
                "keywords": ["refund", "lawyer", "chargeback", "parcel"],
            }
        },
        code={"escalate_when": {"input_chars_over": 6000, "keywords": ["race condition", "rename"]}},
    )
    diff = routes_diff(capsys, db_url, candidate)
    by_lane = {lane["lane"]: lane for lane in diff["lanes"]}
    assert by_lane["support"]["changes"] == [
        {"from": "fast", "to": "strong", "why": "escalates: keyword 'parcel'", "runs": 3}
    ]
    assert by_lane["code"]["unknown"] == 6 and by_lane["code"]["changed"] == 0
    (why,) = by_lane["code"]["unknown_reasons"]
    assert "'rename'" in why and "text is not stored" in why

    assert (
        main(["routes", "diff", "--config", str(candidate), "--database-url", db_url, "--since", SINCE]) == 0
    )
    out = capsys.readouterr().out
    assert "support      fast -> strong: escalates: keyword 'parcel' (3 runs)" in out
    assert "cannot tell" in out and "Traceback" not in out


def test_budgets_and_open_circuits_replay_as_recorded(
    server, store, redactor, db_url, capsys, tmp_path
) -> None:
    config = rig_config(server)
    config = config.model_copy(
        update={
            "runtime": config.runtime.model_copy(update={"breaker_failures": 2, "breaker_cooldown_s": 3600})
        }
    )
    server.script("gpt-5-mini", Status(503), Status(503))
    asked = seed(server, store, redactor, config)
    recorded = store.recorded_routes_of(list(asked)).values()
    assert any("fast" in past.features.inputs.open_circuits for past in recorded)
    assert any(past.features.inputs.spent_today_usd > 0 for past in recorded)
    tight = write_candidate(
        tmp_path, config, support={"max_cost_per_run_usd": 0.0005}, code={"fallback": "strong"}
    )
    diff = routes_diff(capsys, db_url, tight)
    whys = {change["why"] for lane in diff["lanes"] for change in lane["changes"]}
    assert "budget: cheaper route" in whys or "budget: stops for confirmation" in whys
    assert "circuit open" in whys
    agrees_with_route(store, parse_config(tomllib.loads(tight.read_text())), asked)


TEXT = st.text(st.sampled_from(list("abc refund LAWYER chargeback race condition \t\n")), max_size=300)


@settings(max_examples=200, deadline=None)
@given(
    text=TEXT,
    spent=st.floats(0, 10, allow_nan=False),
    circuits=st.sets(st.sampled_from(["fast", "strong", "local"])),
    confirmed=st.sampled_from([None, "fast", "strong", "local"]),
    chars_over=st.one_of(st.none(), st.integers(1, 400)),
    per_run=st.one_of(st.none(), st.floats(0, 0.01, allow_nan=False)),
)
def test_routing_is_a_function_of_the_recorded_inputs(
    text, spent, circuits, confirmed, chars_over, per_run
) -> None:
    """``route`` reads a request only through ``RouteInputs``: from the inputs alone (as
    recorded), ``route_from_inputs`` gives the same route, every reason included."""
    config = parse_config(tomllib.loads((ROOT / "lanes.toml").read_text(encoding="utf-8")))
    lane = LaneConfig.model_validate(
        {
            **config.lanes["support"].model_dump(by_alias=True),
            "escalate_when": {
                "input_chars_over": chars_over,
                "keywords": ["refund", "Lawyer", "race  condition"],
            },
            "max_cost_per_run_usd": per_run,
        }
    )
    request = RunRequest(lane="support", text=text, requester="U0", confirmed_tier=confirmed)
    state = RouteState(now=FakeTime().now, spent_today_usd=spent, open_circuits=frozenset(circuits))
    inputs = route_inputs(lane, request, state)
    assert route_from_inputs(lane, config.models, inputs) == route(lane, config.models, request, state)
