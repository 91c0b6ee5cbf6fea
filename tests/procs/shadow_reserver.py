"""A bot instance reserving shadow budget, for the two-process cap test (``tests/test_shadow.py``).

Started with ``multiprocessing``'s *spawn* context: it builds its own ``AuditStore`` from the
database URL, waits at the shared barrier so both instances reserve at the same moment, then asks
for ``count`` reservations of $0.01 each against a $0.10 daily budget and reports how many the
database granted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from lanes.audit import ShadowCall
from storage.db import make_engine
from storage.store import AuditStore

RESERVE_USD = 0.01
BUDGET_USD = 0.10
AT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def reserve_in_process(url: str, prefix: str, count: int, barrier: Barrier, results: Queue[Any]) -> None:
    engine = make_engine(url)
    try:
        store = AuditStore(engine)
        barrier.wait(timeout=120)
        started = 0
        for n in range(count):
            call = ShadowCall(
                run_id=f"{prefix}{n:03d}",
                lane="support",
                tier="candidate",
                provider="openai",
                model_requested="gpt-5-candidate",
                created_at=AT,
                reserved_usd=RESERVE_USD,
            )
            started += store.start_shadow(call, day=AT.date().isoformat(), budget_usd=BUDGET_USD) == "started"
        results.put((prefix, started))
    finally:
        engine.dispose()
