"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and orchestrators.

They answer different questions, so they check different things:

- ``/healthz``: is this process able to serve HTTP at all? Always 200 while the server runs; a
  restart would not help a database outage, so liveness never looks at the database.
- ``/readyz``: should traffic come here? 200 only if the audit store answers ``SELECT 1`` within
  ``timeout_s``; otherwise 503 with the reason. A bot that cannot write its audit trail cannot
  post drafts (no log, no draft), so a load balancer should send requests elsewhere.

The database check runs in a daemon thread and is single-flight: a hung database makes probes
answer "not ready" after ``timeout_s`` without piling up threads or blocking the HTTP workers.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lanes.errors import AuditStoreError

if TYPE_CHECKING:
    from wsgiref.types import StartResponse

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
READY_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    detail: str


class ReadinessProbe:
    """Checks the database with ``ping`` (raises ``AuditStoreError`` when unreachable) within a bound."""

    def __init__(self, ping: Callable[[], None], *, timeout_s: float = READY_TIMEOUT_S) -> None:
        self._ping = ping
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._pending: Future[None] | None = None

    def check(self) -> Readiness:
        pending = self._start_or_join()
        try:
            pending.result(timeout=self._timeout)
        except FutureTimeout:
            return Readiness(False, f"the audit database did not answer within {self._timeout:g} s")
        except AuditStoreError as exc:
            return Readiness(False, str(exc))
        except Exception as exc:  # a probe must answer, whatever the driver raised
            return Readiness(False, f"the audit database check failed ({type(exc).__name__})")
        return Readiness(True, "the audit database answers")

    def _start_or_join(self) -> Future[None]:
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return self._pending  # a slow check is still out: join it rather than start another
            future: Future[None] = Future()
            self._pending = future
        threading.Thread(target=self._run, args=(future,), name="lanebot-readyz", daemon=True).start()
        return future

    def _run(self, future: Future[None]) -> None:
        try:
            self._ping()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)


def health_body(instance: str, runs_in_flight: int) -> dict[str, object]:
    return {"status": "ok", "instance": instance, "runs_in_flight": runs_in_flight}


def ready_body(instance: str, readiness: Readiness) -> dict[str, object]:
    return {
        "status": "ready" if readiness.ready else "not ready",
        "instance": instance,
        "detail": readiness.detail,
    }


def respond_json(start_response: StartResponse, status: str, body: dict[str, object]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [data]


def ready_response(probe: ReadinessProbe, instance: str, start_response: StartResponse) -> Iterable[bytes]:
    readiness = probe.check()
    if not readiness.ready:
        log.warning("not ready", extra={"detail": readiness.detail})
    status = "200 OK" if readiness.ready else "503 Service Unavailable"
    return respond_json(start_response, status, ready_body(instance, readiness))
