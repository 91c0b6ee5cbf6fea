"""Scripted faults around the offline sample, so demo routes are mixed the way real ones are.

Real weeks have timeouts (a fallback), drafts that break a lane's checks (an escalation, or a
person for a high-risk lane) and the odd refusal. The demo plans one fault per run, at most,
for one tier (``Fault``); ``ScriptedModels`` serves every tier with the offline sample and lets
the planned fault happen once, on the tier it names, through the same errors and checks a real
provider would trigger. Every call advances the demo clock by a plausible latency.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Literal

from bot.playground.demo.seeding_clock import DemoClock
from lanes.providers.base import Completion, CompletionRequest, Provider
from lanes.providers.errors import ContentPolicyError, TransientError

FaultKind = Literal["timeout", "bad_draft", "refusal"]
BAD_DRAFT = "I have refunded your order in full and changed your plan."
"""A draft that breaks the support lane's ``forbid`` check and the contract lane's JSON schema."""
LATENCY_S = {"fast": (0.6, 2.4), "strong": (2.5, 9.0), "local": (1.2, 4.0)}
DEFAULT_LATENCY_S = (0.8, 3.0)


@dataclass(frozen=True)
class Fault:
    tier: str
    kind: FaultKind


class ScriptedModels:
    """One ``Provider`` per tier; ``plan(fault)`` arms a fault for the next run."""

    def __init__(self, inner: Provider, tiers: tuple[str, ...], clock: DemoClock) -> None:
        self._inner, self._clock = inner, clock
        self._armed: Fault | None = None
        self.providers: dict[str, Provider] = {tier: _Tier(self, tier) for tier in tiers}

    def plan(self, fault: Fault | None) -> None:
        self._armed = fault

    def call(self, tier: str, request: CompletionRequest) -> Completion:
        self._clock.advance(_latency(tier, request))
        fault = self._armed
        if fault is None or fault.tier != tier:
            return self._inner.complete(request)
        self._armed = None  # a planned fault happens once: the fallback or escalation then answers
        if fault.kind == "timeout":
            raise TransientError(
                f"{request.model} timed out after {request.timeout_s:g} s", reason_code="timeout"
            )
        if fault.kind == "refusal":
            raise ContentPolicyError(f"{request.model} declined: the request was flagged for review")
        return replace(self._inner.complete(request), text=BAD_DRAFT)


class _Tier:
    def __init__(self, models: ScriptedModels, tier: str) -> None:
        self._models, self._tier = models, tier

    def complete(self, request: CompletionRequest) -> Completion:
        return self._models.call(self._tier, request)


def _latency(tier: str, request: CompletionRequest) -> float:
    """Seconds, fixed by the request: within the tier's range, longer for longer prompts."""
    low, high = LATENCY_S.get(tier, DEFAULT_LATENCY_S)
    spread = int(hashlib.sha256(request.prompt.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return low + (high - low) * spread + len(request.prompt) / 20_000
