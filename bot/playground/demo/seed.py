"""Seeds the demo store: eight weeks of runs made through the engine, decided through the service.

Nothing is written around the core: each planned request is run by the real ``Engine`` (routing
policy, fallbacks, checks, redaction, audit writes) on the offline sample with scripted faults,
with the demo clock set to the request's time; each decision is made by the real
``DecisionService`` at its planned time, after every run is in. So the digest, ``/lanebot
audit`` and the chart show what lanebot itself recorded, and every run says it was the offline
sample (``cost_estimated``), under the model that would have answered.

Idempotent: a store that already holds runs is left alone, unless its newest run is more than
``STALE_AFTER`` old, in which case the demo file is replaced, so the eight weeks end this week.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.digest.post import digest_channel
from bot.playground.demo.review_plan import DecisionPlanner, PlannedDecision
from bot.playground.demo.schedule import PlannedRun, plan_runs
from bot.playground.demo.scripted_faults import ScriptedModels
from bot.playground.demo.seeding_clock import DemoClock
from bot.runtime.core import open_store
from lanes.config import LanesConfig
from lanes.decisions import DecisionService
from lanes.engine import Engine, TextRedactor
from lanes.providers.offline import OfflineModel
from lanes.providers.registry import lane_templates
from lanes.values import RunRequest
from storage import models
from storage.db import make_engine
from storage.store import AuditStore

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=7)
CHANNEL = "C0LANES"
INSTANCE = "demo"


@dataclass(frozen=True)
class SeedReport:
    seeded: bool
    """False when the store already held current demo runs and was left alone."""
    runs: int
    decisions: int


def seed_demo_history(
    database: str, config: LanesConfig, *, now: datetime, redactor: TextRedactor | None = None
) -> SeedReport:
    """Fill ``database`` (the demo store) with eight weeks of runs ending at ``now``, unless it has them."""
    existing, newest = _existing_runs(database)
    if existing and newest is not None and now - newest <= STALE_AFTER:
        return SeedReport(False, existing, 0)
    if existing:
        _remove_sqlite_file(database)
    store = open_store(database)
    try:
        return _seed(store, config, now, redactor or _redactor())
    finally:
        store.engine.dispose()


def _seed(store: AuditStore, config: LanesConfig, now: datetime, redactor: TextRedactor) -> SeedReport:
    plan = plan_runs(dict(config.lanes), now, digest_channel(config).timezone)
    clock = DemoClock(plan[0].at if plan else now)
    models_ = ScriptedModels(OfflineModel(lane_templates(config)), tuple(config.models), clock)
    engine = Engine(
        config,
        store,
        models_.providers,
        redactor=redactor,
        clock=clock,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        instance=INSTANCE,
    )
    planner = DecisionPlanner(now)
    decisions: list[PlannedDecision] = []
    for planned in plan:
        decisions += _run(engine, models_, planner, clock, config, planned)
    service = DecisionService(config, store, redactor, clock=clock)
    for decision in sorted(decisions, key=lambda d: d.at):
        clock.set(decision.at)
        service.decide(
            decision.run_id,
            decision.actor,
            decision.action,
            reason=decision.reason,
            edited_text=decision.edited_text,
        )
    log.info("demo history seeded", extra={"runs": len(plan), "decisions": len(decisions)})
    return SeedReport(True, len(plan), len(decisions))


def _run(
    engine: Engine,
    scripted: ScriptedModels,
    planner: DecisionPlanner,
    clock: DemoClock,
    config: LanesConfig,
    planned: PlannedRun,
) -> list[PlannedDecision]:
    clock.set(planned.at)
    scripted.plan(planned.fault)
    request = RunRequest(
        lane=planned.lane,
        text=planned.text,
        requester=planned.requester,
        channel=CHANNEL,
        source="demo",
        idempotency_key=f"demo:{planned.index}",
    )
    result = engine.run(request)
    return planner.plan(config.lanes[planned.lane], result, planned.requester, planned.at)


def _existing_runs(database: str) -> tuple[int, datetime | None]:
    """How many runs the store holds and when the newest was made; (0, None) if it is new."""
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, models.Run.__tablename__):
                return 0, None
            count = connection.execute(select(func.count()).select_from(models.Run)).scalar_one()
            newest = connection.execute(
                select(models.Run.created_at).order_by(models.Run.created_at.desc()).limit(1)
            ).scalar()
            return int(count), newest
    finally:
        engine.dispose()


def _remove_sqlite_file(database: str) -> None:
    path = Path(database.removeprefix("sqlite:///"))
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)


def _redactor() -> TextRedactor:
    from storage.redaction import Redactor

    return Redactor()
