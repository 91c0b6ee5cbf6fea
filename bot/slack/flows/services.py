"""What the Slack flows share: the core objects, the Slack client and two small in-memory helpers.

``Services`` is built once by ``bot.slack.app.build_app`` and handed to every listener; nothing here is
module-level. The two helpers hold only what may be lost on restart:

- ``SpendCache``: today's spend per lane as last read by a worker, so the ack's route preview
  (budget rules included) never waits on the database. The run itself reads the real figure.
- ``HeldTexts``: the original text of runs stopped by a budget, so an owner's "run anyway" can run
  exactly what was asked. It is bounded; when a text is gone (another instance, a restart) the
  flow falls back to the audit's stored (redacted) text and says so.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient

from bot.runtime.queued_requests import IntakeJournal
from bot.runtime.worker_pool import WorkerPool
from lanes.config import LanesConfig
from lanes.decisions import DecisionService
from lanes.engine import Engine
from lanes.errors import AuditStoreError
from storage.store import AuditStore

log = logging.getLogger(__name__)


class SpendCache:
    """Last known spend today per lane; read by acks, refreshed by workers (at most every
    ``min_interval_s`` per lane, so a busy lane does not add a database read to every run)."""

    def __init__(
        self, engine: Engine, *, min_interval_s: float = 2.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._min_interval = min_interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._spent: dict[str, float] = {}
        self._read_at: dict[str, float] = {}

    def get(self, lane: str) -> float:
        with self._lock:
            return self._spent.get(lane, 0.0)

    def refresh(self, lane: str, *, force: bool = False) -> None:
        now = self._monotonic()
        with self._lock:
            if not force and now - self._read_at.get(lane, float("-inf")) < self._min_interval:
                return
            self._read_at[lane] = now
        try:
            spent = self._engine.spent_today(lane)
        except AuditStoreError:
            log.warning("could not refresh today's spend", extra={"lane": lane})
            return
        with self._lock:
            self._spent[lane] = spent


class HeldTexts:
    """Request texts of runs waiting for "run anyway", newest ``capacity`` kept."""

    def __init__(self, capacity: int = 1000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._texts: OrderedDict[str, str] = OrderedDict()

    def hold(self, run_id: str, text: str) -> None:
        with self._lock:
            self._texts[run_id] = text
            while len(self._texts) > self._capacity:
                self._texts.popitem(last=False)

    def take(self, run_id: str) -> str | None:
        with self._lock:
            return self._texts.pop(run_id, None)


def _ignore(lane: str, kind: str) -> None:
    return None


def short_reference() -> str:
    """A reference shown to people and logged with the error, to find one in the other."""
    return uuid.uuid4().hex[:8]


@dataclass
class Services:
    """Everything a flow needs; one instance per app."""

    config: LanesConfig
    client: WebClient
    engine: Engine
    decisions: DecisionService
    store: AuditStore
    clock: Callable[[], datetime]
    pool: WorkerPool
    instance: str = "local"
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    spend: SpendCache = field(init=False)
    held: HeldTexts = field(default_factory=HeldTexts)
    on_decision: Callable[[str, str], None] = _ignore
    """Told (lane, kind) after each recorded decision: the metrics counter."""
    intake: IntakeJournal | None = None
    """Writes down requests acked as queued (``bot.runtime.queued_requests``); None keeps them in memory
    only."""
    offline: bool = False
    """Every tier is served by the offline sample model (``LANEBOT_OFFLINE``): acks say so."""

    def __post_init__(self) -> None:
        self.spend = SpendCache(self.engine)
