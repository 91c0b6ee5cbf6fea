"""A test rig for the engine: the real lanes.toml pointed at a loopback ModelServer, the real
providers (openai / anthropic SDK clients over HTTP), a real audit store and a controllable clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from lanes.config import LaneConfig, LanesConfig, load_config
from lanes.engine import Engine
from lanes.providers.registry import build_providers
from lanes.values import RunRequest, RunResult
from storage.redaction import Redactor
from storage.store import AuditStore
from tests.fakes.model_servers import ModelServer

ROOT = Path(__file__).resolve().parent.parent
FAST, STRONG, LOCAL = "gpt-5-mini", "claude-sonnet-4-6", "llama3.1:8b"


def rig_config(
    server: ModelServer,
    *,
    timeout_s: float = 10.0,
    timeouts: Mapping[str, float] | None = None,
    **lane_updates: dict[str, Any],
) -> LanesConfig:
    """lanes.toml with every tier served by ``server``, and per-lane overrides.

    Every tier gets ``timeout_s``, long enough that a loaded CI machine never trips it; a test of
    timeouts makes only the tier it starves short (``timeouts={"fast": 0.3}``), so the tier that
    must answer afterwards is not racing the same short deadline."""
    config = server.retarget(load_config(ROOT / "lanes.toml"))
    timeouts = timeouts or {}
    models = {
        tier: spec.model_copy(update={"timeout_s": timeouts.get(tier, timeout_s)})
        for tier, spec in config.models.items()
    }
    lanes = {
        name: LaneConfig.model_validate({**lane.model_dump(by_alias=True), **lane_updates.get(name, {})})
        for name, lane in config.lanes.items()
    }
    return config.model_copy(update={"models": models, "lanes": lanes})


@dataclass
class FakeTime:
    """Wall clock and monotonic clock that tests move by hand; sleeps advance them instantly."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 18, 10, 0, tzinfo=UTC))
    mono: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


def build_engine(
    config: LanesConfig,
    store: AuditStore,
    server: ModelServer,
    redactor: Redactor,
    time: FakeTime | None = None,
    **kwargs: Any,
) -> Engine:
    ids = count(1)
    time = time or FakeTime()
    return Engine(
        config,
        store,
        build_providers(config, server.env()),
        redactor=redactor,
        clock=time.clock,
        sleep=time.sleep,
        new_id=lambda: f"run{next(ids):04d}",
        **kwargs,
    )


def ask(engine: Engine, lane: str, text: str, **kwargs: Any) -> RunResult:
    return engine.run(RunRequest(lane=lane, text=text, requester="U0REQUEST", **kwargs))


def kinds(store: AuditStore, run_id: str) -> list[tuple[str, str, str, str | None]]:
    """(kind, tier, outcome, reason_code) of each recorded attempt, in order."""
    return [(a.kind, a.tier, a.outcome, a.reason_code) for a in store.get_run(run_id).attempts]


Check = Callable[[AuditStore], None]
