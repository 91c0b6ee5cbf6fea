"""Requests acked as *queued* are written down, so a process that dies does not lose them.

When every worker is busy, a slash command is acked "queued, N ahead" and waits in the worker
pool's memory. If the process is killed (``kill -9``, OOM, a node lost) before a worker starts
it, nothing in the database knew of it: the requester would wait for a thread that never comes.

So each queued request gets a ``queued`` run in the audit store (``AuditStore.start_run``, the
``enqueue`` transition): who
asked which lane in which channel, the route preview, and no text (the text is stored, redacted,
when the run starts). The write happens here, on one small thread, never on the ack path: the ack
must not wait on the database. The window left is the few milliseconds between the ack and this
write. Then:

- the worker that runs the request *adopts* that run: it starts it by id with one UPDATE (the ack
  hands the id over, ``bot.slack.flows.lane_request.QueueTicket``), or, if it started before the ack did so,
  finds it by the delivery's idempotency key (``AuditStore.start_run``); either way the
  request keeps one run;
- if the process dies first, ``bot.runtime.recovery`` on another instance (or on this one's restart)
  marks the run ``failed``/interrupted and tells the requester to send it again.

A write that fails (the database is down) is logged and dropped: the request still runs from
memory, and the run's own start will hit the same database and report it.
"""

from __future__ import annotations

import logging
import queue
import threading

from lanes.audit.records import NewRun
from lanes.errors import AuditStoreError
from lanes.lifecycle import transition
from storage.store import AuditStore

log = logging.getLogger(__name__)

_STOP = object()


class IntakeJournal:
    """Writes ``queued`` runs from a background thread, in the order the acks admitted them."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def record(self, run: NewRun) -> None:
        """Queue ``run`` for writing; returns at once (the ack path calls this)."""
        with self._lock:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_all, name="lanebot-intake", daemon=True)
                self._thread.start()
        self._queue.put(run)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    def _write_all(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            assert isinstance(item, NewRun)
            try:
                self._store.start_run(item, transition("enqueue"))
            except AuditStoreError:
                log.warning(
                    "queued request not recorded; it still runs from memory",
                    extra={"run_id": item.id, "lane": item.lane},
                )
            except Exception:  # a journal that dies would stop recording every later request
                log.exception("queued request not recorded", extra={"run_id": item.id, "lane": item.lane})
