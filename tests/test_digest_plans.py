"""How the digest reads the audit store: through ``ix_runs_digest`` alone, whatever the statistics.

A fresh SQLite store has no planner statistics (nobody runs ANALYZE), which is exactly when a
planner picks badly: these tests ask SQLite for the plan of every statement ``build_digest``
runs and check that runs are only read through the digest's covering index, a week at a time
per lane, never by a scan of the table or through the status index (which would read every
approved run of every week). Plans are checked, not timings.

They also check what the per-lane reading must not change: a lane that has left lanes.toml keeps
its weeks in the chart.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.digest import build_digest
from lanes.config import LanesConfig, parse_config
from storage.db import make_engine
from storage.migrate import upgrade
from storage.store import AuditStore
from tests.test_digest_numbers import CONFIG, HISTORY, TUE, W44_TUE, R, write

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[AuditStore]:
    """A migrated SQLite file, never analysed: the planner has no statistics, as in production."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield AuditStore(engine)
    engine.dispose()


@pytest.fixture
def config() -> LanesConfig:
    return parse_config(CONFIG)


def statements_of(engine: Engine, action: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def plan_lines(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        return [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


def test_sqlite_reads_each_week_from_the_digest_index_alone(
    sqlite_store: AuditStore, config: LanesConfig
) -> None:
    for run in HISTORY:
        write(sqlite_store, run)
    engine = sqlite_store.engine

    statements = statements_of(engine, lambda: build_digest(sqlite_store, config, "2026-W47", now=NOW))

    week_reads = 0
    for statement, parameters in statements:
        for line in plan_lines(engine, statement, parameters):
            if " runs " not in f"{line} ":
                continue
            assert not line.startswith("SCAN runs"), (line, statement)
            assert "ix_runs_status" not in line, (line, statement)
            if "created_at>?" in line:
                assert line.startswith("SEARCH runs USING COVERING INDEX ix_runs_digest (lane=? AND"), line
                week_reads += 1
    assert week_reads >= 5  # counters ×2, the chart's weeks, percentiles, reasons


def test_the_chart_keeps_a_lane_that_left_lanes_toml(store: AuditStore, config: LanesConfig) -> None:
    retired = R("old1", "retired", W44_TUE, "default", "fast", "gpt-5-mini", 0.25, 10, "approve")
    for run in (*HISTORY, retired):
        write(store, run)

    digest = build_digest(store, config, "2026-W47", now=NOW)

    points = {(p.week, p.lane): p for p in digest.history}
    assert points[("2026-W44", "retired")].spend_usd == pytest.approx(0.25)
    assert points[("2026-W47", "retired")].spend_usd == 0.0
    assert "retired" not in {lane.lane for lane in digest.lanes}


def test_history_weeks_are_read_once_each(store: AuditStore, config: LanesConfig) -> None:
    """Runs a week apart land in their own weeks: the per-lane ranges neither overlap nor leave gaps."""
    for weeks_back in range(8):
        at = TUE - timedelta(weeks=weeks_back)
        write(store, R(f"w{weeks_back}", "support", at, "default", "fast", "gpt-5-mini", 1.0, 10, "approve"))

    digest = build_digest(store, config, "2026-W47", now=NOW)

    spend = [p.spend_usd for p in digest.history if p.lane == "support"]
    assert spend == [pytest.approx(1.0)] * 8
