"""`lanebot routes diff` on a 100,000-run store: how long it takes, and whether it agrees with route().

    .venv/bin/python bench/routes_bench.py                          # SQLite file + local PostgreSQL
    .venv/bin/python bench/routes_bench.py --runs 20000 --database-url sqlite:////tmp/r.db

The store is filled in bulk (one transaction) with runs whose route inputs were produced by the
shipped lanes.toml's real ``route_inputs``/``route`` for synthetic requests: customer-support,
code and contract texts of 20 to 9,000 characters, about one in eight with an escalation keyword,
a daily spend that grows through each day, and an open circuit on one tier for 5 % of the runs.
The timed part is exactly what ``lanebot routes diff`` does after loading the candidate: one
``recorded_routes`` read and ``replay``. The candidate drops the keyword "refund", lowers
support's per-run cap and moves code's fallback, so thousands of runs change route. Afterwards
every run's replayed route is compared with ``route()`` on the original request and state.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lanes.config import LaneConfig, LanesConfig, load_config  # noqa: E402
from lanes.evals.replay import replay  # noqa: E402
from lanes.policy import route, route_inputs  # noqa: E402
from lanes.values import RouteState, RunRequest  # noqa: E402
from storage import models  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.policy_models import RunRouteFeatures  # noqa: E402
from storage.store import AuditStore  # noqa: E402

START = datetime(2026, 11, 2, tzinfo=UTC)
WORDS = [
    "please",
    "check",
    "the",
    "order",
    "invoice",
    "account",
    "login",
    "error",
    "page",
    "slow",
    "customer",
    "reply",
    "thanks",
]
KEYWORDS = ["refund", "lawyer", "chargeback", "race condition", "deadlock", "migration"]
LANE_SHARE = (("support", 0.6), ("code", 0.3), ("contract", 0.1))


def requests(n: int, seed: int = 7) -> list[tuple[RunRequest, RouteState]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lane = rng.choices([name for name, _ in LANE_SHARE], [share for _, share in LANE_SHARE])[0]
        words = [rng.choice(WORDS) for _ in range(rng.choice((4, 20, 80, 400, 1500)))]
        if rng.random() < 0.125:
            words.insert(rng.randrange(len(words)), rng.choice(KEYWORDS))
        at = START + timedelta(seconds=i * 6)
        spent = (at - at.replace(hour=0, minute=0, second=0)).total_seconds() / 86400 * 6.0
        circuits = frozenset({"fast"}) if rng.random() < 0.05 else frozenset()
        request = RunRequest(lane=lane, text=" ".join(words)[:9000], requester="U0BENCH")
        out.append((request, RouteState(now=at, spent_today_usd=spent, open_circuits=circuits)))
    return out


def fill(store: AuditStore, config: LanesConfig, asked: list[tuple[RunRequest, RouteState]]) -> list[str]:
    ids, runs, features = [], [], []
    for request, state in asked:
        lane = config.lanes[request.lane]
        inputs = route_inputs(lane, request, state)
        chosen = route(lane, config.models, request, state)
        run_id = uuid.uuid4().hex
        ids.append(run_id)
        runs.append(_run_row(run_id, request, state, chosen))
        features.append(_feature_row(run_id, request.lane, inputs, chosen))
    with store.engine.begin() as connection:
        for start in range(0, len(runs), 5000):
            connection.execute(insert(models.Run), runs[start : start + 5000])
            connection.execute(insert(RunRouteFeatures), features[start : start + 5000])
    return ids


def _run_row(run_id: str, request: RunRequest, state: RouteState, chosen: Any) -> dict[str, Any]:
    return {
        "id": run_id,
        "lane": request.lane,
        "requester": request.requester,
        "source": "cli",
        "status": "approved",
        "review_rule": "owner",
        "risk": "low",
        "route_kind": chosen.kind,
        "tier": chosen.tier,
        "route_reasons": [r.text for r in chosen.reasons],
        "input_chars": len(request.text),
        "text_redacted": True,
        "cost_known": True,
        "created_at": state.now,
    }


def _feature_row(run_id: str, lane: str, inputs: Any, chosen: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "lane": lane,
        "created_at": inputs.at,
        "input_chars": inputs.input_chars,
        "keywords_checked": list(inputs.keywords_checked),
        "keywords_hit": list(inputs.keywords_hit),
        "spent_today_usd": inputs.spent_today_usd,
        "open_circuits": list(inputs.open_circuits),
        "confirmed_tier": inputs.confirmed_tier,
        "tier": chosen.tier,
        "route_kind": chosen.kind,
        "needs_confirmation": chosen.needs_confirmation,
        "estimated_cost_usd": chosen.estimated_cost_usd,
        "policy_hash": None,
    }


def candidate_of(config: LanesConfig) -> LanesConfig:
    lanes = dict(config.lanes)
    support = lanes["support"].model_dump(by_alias=True)
    support["escalate_when"] = {"input_chars_over": 2500, "keywords": ["lawyer", "chargeback"]}
    support["max_cost_per_run_usd"] = 0.004
    lanes["support"] = LaneConfig.model_validate(support)
    lanes["code"] = LaneConfig.model_validate(
        {**lanes["code"].model_dump(by_alias=True), "fallback": "strong"}
    )
    return config.model_copy(update={"lanes": lanes})


def measure(url: str, n: int) -> None:
    config = load_config(ROOT / "lanes.toml")
    engine = make_engine(url)
    upgrade(engine)
    store = AuditStore(engine)
    asked = requests(n)
    ids = fill(store, config, asked)
    candidate = candidate_of(config)
    with engine.connect() as connection:  # the baseline: the same rows, fetched raw, in this run
        base_started = time.perf_counter()
        connection.exec_driver_sql("SELECT * FROM run_route_features").all()
        baseline = time.perf_counter() - base_started
    cpu_started = time.process_time()
    started = time.perf_counter()
    recorded = store.recorded_routes(START)
    read = time.perf_counter()
    report = replay(candidate, recorded, texts=store.input_texts)
    done = time.perf_counter()
    cpu = time.process_time() - cpu_started
    by_id = dict(zip(ids, asked, strict=True))
    disagree = 0
    for one in report.runs:
        request, state = by_id[one.run_id]
        if one.route != route(candidate.lanes[request.lane], candidate.models, request, state):
            disagree += 1
    print(
        f"{url.split(':')[0]:<10} runs {len(report.runs):,}  read {read - started:.2f} s  "
        f"replay {done - read:.2f} s  total {done - started:.2f} s  (CPU of this process {cpu:.2f} s; "
        f"raw fetch of the rows {baseline:.2f} s, total = {(done - started) / baseline:.1f}x it; "
        f"load average {os.getloadavg()[0]:.1f})  changed {report.changed:,}  "
        f"disagreements with route(): {disagree}"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--database-url", action="append")
    args = parser.parse_args()
    urls = args.database_url
    if not urls:
        urls = [f"sqlite:////tmp/routes-bench-{uuid.uuid4().hex[:8]}.db"]
        schema = f"routes_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        urls.append(f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}")
        try:
            for url in urls:
                measure(url, args.runs)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            Path(urls[0].removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    for url in urls:
        measure(url, args.runs)


if __name__ == "__main__":
    main()
