"""A numbered feed of workspace changes: callbacks for push, a condition variable for long-polling.

The playground UI long-polls ``wait_for_change(since)``; tests wait for a listener that runs on
Bolt's worker thread with ``wait_until(predicate)``. Both need the same thing: a version number that
only grows, bumped under the workspace lock, and a way to sleep until it moves. Subscriber callbacks
run *after* the lock is released, so a callback may read the workspace without deadlocking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.playground.slackstub.models import Change

logger = logging.getLogger(__name__)

Subscriber = Callable[[Change], None]


class ChangeFeed:
    """Versioned changes guarded by the owner's lock; keeps the last ``keep`` changes for catch-up."""

    def __init__(self, lock: threading.RLock, *, keep: int = 2000) -> None:
        self._lock = lock
        self._cond = threading.Condition(lock)
        self._version = 0
        self._recent: deque[Change] = deque(maxlen=keep)
        self._subscribers: list[Subscriber] = []
        self._local = threading.local()

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    @contextmanager
    def transaction(self) -> Iterator[Callable[..., Change]]:
        """Hold the lock while mutating; changes emitted inside reach subscribers after release.

        Transactions nest (a response_url POST deletes a message): inner ones hand their changes to
        the outermost, so no subscriber ever runs while this thread still holds the lock.
        """
        outer: list[Change] | None = getattr(self._local, "pending", None)
        pending: list[Change] = [] if outer is None else outer

        def emit(kind: str, **fields: Any) -> Change:
            self._version += 1
            change = Change(version=self._version, kind=kind, **fields)
            self._recent.append(change)
            pending.append(change)
            return change

        if outer is not None:
            with self._lock:
                yield emit
            return
        try:
            with self._lock:
                self._local.pending = pending
                try:
                    yield emit
                finally:
                    self._local.pending = None
                    if pending:
                        self._cond.notify_all()
        finally:
            for change in pending:
                self._publish(change)

    def _publish(self, change: Change) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(change)
            except Exception:  # a broken UI callback must not break the fake Slack API
                logger.exception("slackstub subscriber failed", extra={"change_kind": change.kind})

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns the function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def changes_since(self, version: int) -> list[Change]:
        with self._lock:
            return [c for c in self._recent if c.version > version]

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until the version exceeds ``since`` (or ``timeout`` passes); return the version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > since, timeout=timeout)
            return self._version

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` holds after some change, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True
