"""The bounded pool that carries model work, off Slack's ack path.

Bolt runs listeners on a small thread pool, and every ack waits for a free thread there; a model
call (seconds, sometimes a minute) on that pool would starve the acks of everyone else. So
listeners only *admit* a job here and return. The pool runs ``workers`` jobs at once
(``[runtime] workers``) and keeps at most ``queue_limit`` waiting; admission is decided up front
under a lock, so the person who typed the command is told at once whether their run started, is
queued (and behind how many), or was refused because the bot is full. Nothing admitted is
dropped: a queued job runs when a worker frees up, and ``shutdown`` waits for all of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

AdmissionState = Literal["started", "queued", "refused"]


@dataclass(frozen=True)
class Admission:
    """What became of a submitted job: ``ahead`` counts queued jobs in front of a queued one."""

    state: AdmissionState
    ahead: int = 0
    running: int = 0
    waiting: int = 0

    @property
    def accepted(self) -> bool:
        return self.state != "refused"


class WorkerPool:
    """A ``ThreadPoolExecutor`` with a hard cap on waiting jobs and honest admission answers."""

    def __init__(self, workers: int, queue_limit: int, *, name: str = "lanebot-model") -> None:
        if workers < 1 or queue_limit < 0:
            raise ValueError("workers must be at least 1 and queue_limit at least 0")
        self.workers = workers
        self.queue_limit = queue_limit
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._admitted = 0
        self._closed = False

    def submit(self, job: Callable[[], object], *, label: str = "job") -> Admission:
        """Admit ``job`` if there is room; never blocks. Exceptions in ``job`` are logged, not lost."""
        with self._lock:
            if self._closed or self._admitted >= self.workers + self.queue_limit:
                return Admission(
                    "refused",
                    running=min(self._admitted, self.workers),
                    waiting=max(self._admitted - self.workers, 0),
                )
            position = self._admitted
            self._admitted += 1
        future = self._executor.submit(job)
        future.add_done_callback(lambda done: self._finished(done, label))
        if position < self.workers:
            return Admission("started", running=position + 1)
        ahead = position - self.workers
        return Admission("queued", ahead=ahead, running=self.workers, waiting=ahead + 1)

    def _finished(self, future: Future[object], label: str) -> None:
        with self._lock:
            self._admitted -= 1
        error = None if future.cancelled() else future.exception()
        if error is not None:
            log.error("background %s failed", label, exc_info=(type(error), error, error.__traceback__))

    @property
    def in_flight(self) -> int:
        """Jobs admitted and not yet finished (running plus waiting)."""
        with self._lock:
            return self._admitted

    def shutdown(self, wait: bool = True) -> None:
        """Refuse new jobs; with ``wait``, let every admitted job finish first."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait)
