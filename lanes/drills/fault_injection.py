"""The fault-injection seams of a fire drill: fake model endpoints and an audit log that breaks.

Production code, not test code: ``lanebot drill`` runs in CI and on a team's own lanes.toml, so
its fakes implement the real protocols (``lanes.providers.base.Provider``, ``lanes.audit.RunLog``)
and the engine runs unchanged between them.

A fault is injected per model *endpoint* (provider, model, base URL), not per tier name: when a
lane's fallback tier points at the same endpoint as its default, an outage of one is an outage
of both, and the drill shows it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from lanes.audit import RunLog
from lanes.audit.forwarding import ForwardingRunLog
from lanes.config import ModelSpec
from lanes.errors import AuditWriteError
from lanes.providers.base import Completion, CompletionRequest, Provider
from lanes.providers.errors import TransientError

Endpoint = tuple[str, str, str | None]
Answer = Callable[[CompletionRequest], str]
"""What a healthy fake endpoint answers to a request."""


def endpoint(spec: ModelSpec) -> Endpoint:
    return (spec.provider, spec.model, spec.base_url)


class FakeEndpoint:
    """One model endpoint in a drill: it answers with ``answer``, or fails as told."""

    def __init__(self, name: str, answer: Answer) -> None:
        self.name = name
        self.answer = answer
        self.down = False
        self.calls = 0
        self._lock = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self.calls += 1
        if self.down:
            raise TransientError(
                f"{self.name} timed out after {request.timeout_s:g}s (fire drill)", reason_code="timeout"
            )
        text = self.answer(request)
        return Completion(
            text=text,
            model_answered=request.model,
            response_id=f"drill-{self.calls}",
            input_tokens=math.ceil((len(request.system) + len(request.prompt)) / 4),
            output_tokens=max(1, math.ceil(len(text) / 4)),
            finish_reason="stop",
        )


class DrillModels:
    """The drill's endpoints, one per distinct (provider, model, base URL), and the tier map."""

    def __init__(self, models: Mapping[str, ModelSpec], answer: Answer) -> None:
        self._specs = dict(models)
        self.endpoints: dict[Endpoint, FakeEndpoint] = {}
        for spec in models.values():
            key = endpoint(spec)
            if key not in self.endpoints:
                self.endpoints[key] = FakeEndpoint(f"{spec.provider} {spec.model}", answer)

    def of(self, tier: str) -> FakeEndpoint:
        return self.endpoints[endpoint(self._specs[tier])]

    def providers(self) -> dict[str, Provider]:
        return {tier: self.of(tier) for tier in self._specs}

    @property
    def calls(self) -> int:
        return sum(e.calls for e in self.endpoints.values())


class DrillLog(ForwardingRunLog):
    """A ``RunLog`` over a scratch store that can refuse writes and report a chosen spend today."""

    def __init__(self, inner: RunLog, *, fail_on: Sequence[str] = (), spent_today_usd: float = 0.0) -> None:
        super().__init__(inner)
        self._fail_on = frozenset(fail_on)
        self._spent = spent_today_usd

    def before_write(self, what: str) -> None:
        if what in self._fail_on:
            raise AuditWriteError(f"the audit store could not record {what} (fire drill: store down)")

    def spent_since(self, lane: str, since: datetime) -> float:
        return self._spent
