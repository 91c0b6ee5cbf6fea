"""lanebot's engine errors, one small tree.

    LanebotError
    ├── ConfigError          lanes.toml is unreadable or invalid (carries every problem line)
    ├── AuditStoreError      the audit store could not be read
    │   └── AuditWriteError  ... or written: the run stops, no draft
    ├── NotAuthorizedError   an actor may not take this decision (carries the refusal reason)
    ├── RunNotFoundError     no run with that id
    ├── PolicyNotFoundError  no stored policy (or several) with that hash prefix
    ├── GoldenSetError       a golden set file is unreadable or invalid (one line per problem)
    ├── InvalidRequestError  the request cannot run as asked (empty, too long, unknown lane)
    └── DuplicateRequestError  the same delivery was already started (carries the run id)

Provider errors live in ``lanes.providers.errors`` so nothing above the adapters imports an SDK
exception; the engine turns them into audited attempt outcomes, never into tracebacks.
"""

from __future__ import annotations


class LanebotError(Exception):
    """Base of every error lanebot raises on purpose."""


class ConfigError(LanebotError):
    """The lanes file is broken; ``problems`` each name the file, the key and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class AuditStoreError(LanebotError):
    """The audit store is unreachable or broken; nothing proceeds without it."""


class AuditWriteError(AuditStoreError):
    """No audit record means no draft: raised when the store cannot be written."""


class NotAuthorizedError(LanebotError):
    """The actor may not take this decision; ``reason`` is shown to them as is."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class RunNotFoundError(LanebotError):
    """No run has this id."""


class PolicyNotFoundError(LanebotError):
    """No stored policy matches the hash given, or several do."""


class GoldenSetError(LanebotError):
    """A golden set (``evals/<lane>.jsonl``) is broken; ``problems`` each name the file, the line
    and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class InvalidRequestError(LanebotError):
    """The request cannot run as asked; the message tells the user what to change."""


class DuplicateRequestError(LanebotError):
    """A retried delivery of a request that already has a run."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"this request already has run {run_id}")
