"""A decision-making "bot instance" for the race tests: its own engine, ``AuditStore`` and
``DecisionService`` built from a database URL, as each real instance builds them.

``Decider`` is the instance; ``serve`` runs one in a process started with ``multiprocessing``'s
*spawn* context and takes one decision per message from its pipe, released together with the other
process by a shared barrier (``tests/test_two_person_race.py``). The thread variant uses
``Decider`` directly.

``AlignedLog`` is the one test hook, and it goes through the port (``lanes.audit.DecisionLog``),
not around it: on an *aligned* round it holds each decider's first write until every decider has
read the run and made its guard, so they all decide on the same approval count and their
conditional UPDATEs are issued together. Exactly one guard can then hold; the others must be
answered ``stale`` and decide again. Unaligned rounds only start together.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from lanes.audit import DecisionGuard, DecisionOutcome, NewDecision, RunRecord
from lanes.clock import utcnow
from lanes.config import load_config
from lanes.decisions import Action, DecisionService
from lanes.errors import NotAuthorizedError
from storage.db import make_engine
from storage.redaction import Redactor
from storage.store import AuditStore

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0
"""How long a barrier waits for the other decider before the round is reported broken."""


class Barrier(Protocol):
    """``threading.Barrier`` and ``multiprocessing``'s barrier proxy alike."""

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass(frozen=True)
class Click:
    """One decision to take in a round."""

    run_id: str
    actor: str
    action: Action
    edited_text: str | None = None
    aligned: bool = False


class AlignedLog:
    """``DecisionLog`` over the real store that can hold the first write of a round (see module)."""

    def __init__(self, store: AuditStore, aligned: Barrier) -> None:
        self.store = store
        self.aligned = aligned
        self.hold_next = False
        self.stale = 0
        """Guards that did not hold because another decision moved the run first (this round)."""

    def get_run(self, run_id: str) -> RunRecord:
        return self.store.get_run(run_id)

    def apply_decision(self, decision: NewDecision, guard: DecisionGuard) -> DecisionOutcome:
        if self.hold_next:
            self.hold_next = False
            self.aligned.wait(WAIT_S)
        outcome = self.store.apply_decision(decision, guard)
        self.stale += outcome.stale
        return outcome

    def record_event(
        self,
        run_id: str,
        kind: str,
        actor: str,
        at: datetime,
        *,
        note: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.store.record_event(run_id, kind, actor, at, note=note, reason=reason)


class Decider:
    """One instance's decision path, built from the database URL alone."""

    def __init__(self, url: str, aligned: Barrier, redactor: Redactor | None = None) -> None:
        self.engine = make_engine(url)
        self.log = AlignedLog(AuditStore(self.engine), aligned)
        config = load_config(REPO / "lanes.toml")
        self.service = DecisionService(config, self.log, redactor or Redactor(), clock=utcnow)

    def decide(self, click: Click, go: Barrier) -> dict[str, Any]:
        """Wait for the other decider at ``go``, decide, and say what happened (a plain dict, so it
        crosses a pipe): the ``DecisionResult`` fields, plus ``stale`` guards met on the way."""
        self.log.hold_next, self.log.stale = click.aligned, 0
        go.wait(WAIT_S)
        try:
            result = self.service.decide(
                click.run_id, click.actor, click.action, edited_text=click.edited_text
            )
        except NotAuthorizedError as exc:
            return {"refused": str(exc), "stale": self.log.stale}
        return {**asdict(result), "stale": self.log.stale}

    def close(self) -> None:
        self.engine.dispose()


def serve(url: str, conn: Connection, go: Barrier, aligned: Barrier) -> None:
    """A decider process: answers ``("ready", pid)`` once built, then one result per ``Click`` received,
    until it receives ``None``. A failure is sent back as text rather than lost with the process."""
    decider = Decider(url, aligned)
    conn.send(("ready", os.getpid()))
    try:
        while (click := conn.recv()) is not None:
            try:
                conn.send(decider.decide(click, go))
            except Exception as exc:
                conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        decider.close()


def run_in_threads(deciders: list[Decider], clicks: list[Click], go: Barrier) -> list[dict[str, Any]]:
    """One round with each decider on its own thread (the SQLite variant)."""
    results: list[dict[str, Any]] = [{} for _ in deciders]

    def one(i: int) -> None:
        try:
            results[i] = deciders[i].decide(clicks[i], go)
        except Exception as exc:
            results[i] = {"error": f"{type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(deciders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 2)
    return results
