"""Prometheus metrics reflect what the engine recorded, including failures and unknown prices."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime.metrics import Metrics
from tests.engine_rig import FAST, LOCAL, ask, build_engine, rig_config
from tests.fakes.model_servers import ModelServer, Ok, Status


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


@pytest.fixture
def server():
    with ModelServer() as server:
        yield server


def test_runs_latency_and_cost_are_counted(server, sqlite_url, redactor):
    from bot.runtime.core import open_store

    store = open_store(sqlite_url)
    metrics = Metrics()
    engine = build_engine(rig_config(server), store, server, redactor, observer=metrics)
    server.script(FAST, Ok("one", input_tokens=1000, output_tokens=1000), Status(503))
    server.script(LOCAL, Ok("two"))

    ask(engine, "support", "first")
    ask(engine, "support", "second")

    seen = samples(metrics)
    runs = "lanebot_runs_total"
    assert seen[(runs, (("lane", "support"), ("route", "default"), ("status", "drafted")))] == 1
    assert seen[(runs, (("lane", "support"), ("route", "fallback"), ("status", "drafted")))] == 1
    latency = "lanebot_model_latency_seconds_count"
    assert seen[(latency, (("outcome", "failed"), ("provider", "openai"), ("tier", "fast")))] == 1
    cost = "lanebot_cost_usd_total"
    assert seen[(cost, (("lane", "support"), ("tier", "fast")))] == pytest.approx(0.00225)
    assert (cost, (("lane", "support"), ("tier", "local"))) in seen  # local is priced at $0
    store.engine.dispose()
