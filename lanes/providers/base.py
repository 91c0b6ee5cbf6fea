"""The one-method model interface every provider adapter implements.

Providers are built from a ``ModelSpec`` by a factory in ``lanes.providers.registry`` (a dict
from provider name to factory, never an ``if provider == ...`` chain). Adapters call the SDKs
with ``max_retries=0``: every attempt must be visible in the audit, so no retry may hide inside
an SDK. They raise only ``lanes.providers.errors`` exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from lanes.config import ModelSpec


@dataclass(frozen=True)
class CompletionRequest:
    """What the engine asks of a model: already rendered, already redacted if the lane says so."""

    model: str
    system: str
    prompt: str
    max_output_tokens: int
    timeout_s: float
    json_output: bool = False


@dataclass(frozen=True)
class Completion:
    """What a model answered, as reported by the provider (not as we asked)."""

    text: str
    model_answered: str
    response_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    finish_reason: str | None
    offline_sample: bool = False
    """The built-in offline sample wrote ``text``, not ``model``: the run is recorded under the
    configured model it stood in for, with its cost estimated from the price table."""


class Provider(Protocol):
    """A model endpoint. Fakes need no inheritance."""

    def complete(self, request: CompletionRequest) -> Completion: ...


ProviderFactory = Callable[[ModelSpec, Mapping[str, str]], Provider]
"""Builds a provider from a model spec and the environment (for API keys and base URLs)."""
