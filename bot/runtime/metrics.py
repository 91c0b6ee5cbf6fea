"""Prometheus metrics for lanebot, on a registry of its own (never the process-global one, so
two apps in one test process do not collide).

- ``lanebot_runs_total{lane,route,status}``: runs as the engine finished them;
- ``lanebot_decisions_total{lane,kind}``: approvals, edits, rejections, expiries;
- ``lanebot_model_latency_seconds{provider,tier,outcome}``: each model call;
- ``lanebot_config_faults_total{lane,tier,reason}``: calls that met a rejected key or an
  exhausted quota (every one, where the owners' DM is sent once per fault);
- ``lanebot_cost_usd_total{lane,tier}``: known spend; ``lanebot_unpriced_attempts_total`` counts
  calls whose price is unknown, so a gap in the cost counter is visible rather than silent.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from lanes.values import Attempt, RunResult

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)


class Metrics:
    """Implements ``lanes.observe.RunObserver``; ``render()`` serves ``/metrics``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.runs = Counter(
            "lanebot_runs",
            "Runs by lane, route and status",
            ["lane", "route", "status"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "lanebot_decisions", "Decisions on drafts", ["lane", "kind"], registry=self.registry
        )
        self.model_latency = Histogram(
            "lanebot_model_latency_seconds",
            "Model call latency",
            ["provider", "tier", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cost = Counter(
            "lanebot_cost_usd", "Known model spend in USD", ["lane", "tier"], registry=self.registry
        )
        self.config_faults = Counter(
            "lanebot_config_faults",
            "Model calls that met a configuration fault (rejected key, exhausted quota)",
            ["lane", "tier", "reason"],
            registry=self.registry,
        )
        self.unpriced = Counter(
            "lanebot_unpriced_attempts",
            "Answered calls with an unknown price",
            ["lane", "tier"],
            registry=self.registry,
        )

    def attempt_finished(self, lane: str, attempt: Attempt) -> None:
        self.model_latency.labels(attempt.provider, attempt.tier, attempt.outcome).observe(
            attempt.latency_ms / 1000
        )
        if attempt.outcome == "failed" or attempt.cost_estimated:
            return  # an offline sample's estimate is not spend: dashboards sum this counter as a bill
        if attempt.cost_usd is not None:
            self.cost.labels(lane, attempt.tier).inc(attempt.cost_usd)
        elif not attempt.price_known:
            self.unpriced.labels(lane, attempt.tier).inc()

    def run_finished(self, result: RunResult) -> None:
        self.runs.labels(result.lane, result.route_kind, result.status).inc()

    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None:
        self.config_faults.labels(lane, tier, reason_code).inc()

    def decision_recorded(self, lane: str, kind: str) -> None:
        self.decisions.labels(lane, kind).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
