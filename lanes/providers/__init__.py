"""Model providers: a one-method ``Provider`` protocol, adapters for each API, and a registry.

    base.py                 Provider, CompletionRequest, Completion, ProviderFactory
    errors.py               ProviderError tree (what the engine routes on)
    classify.py             one rule table: any wire's failure -> error; error -> next step
    bodies.py               the 2xx bodies the adapters accept (pydantic, at the edge)
    deadline.py             a deadline for the whole HTTP call, below the SDKs
    openai_chat.py          OpenAI Chat Completions (openai, openai_compatible)
    anthropic_messages.py   Anthropic Messages
    offline/                the built-in offline sample model (no keys, no network), one job per lane
    registry.py             PROVIDERS (name -> factory) and build_providers(config, env)

SDK exceptions never leave the adapters; callers catch ``ProviderError`` only.

Names are re-exported lazily: importing the openai and anthropic SDKs takes seconds, and code
that only needs ``lanes.providers.base`` or ``errors`` (the engine, policy tests, ``--offline``
runs) should not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lanes.providers.anthropic_messages import (
        AnthropicEndpoint,
        AnthropicMessagesProvider,
        anthropic_provider,
    )
    from lanes.providers.base import Completion, CompletionRequest, Provider, ProviderFactory
    from lanes.providers.errors import (
        AuthError,
        BadRequestError,
        ConfigFaultError,
        ContentPolicyError,
        ContextLengthError,
        ProviderError,
        QuotaError,
        TransientError,
    )
    from lanes.providers.offline import BANNER, OFFLINE_MODEL, OfflineModel
    from lanes.providers.openai_chat import (
        OpenAIChatProvider,
        OpenAIEndpoint,
        openai_compatible_provider,
        openai_provider,
    )
    from lanes.providers.registry import PROVIDERS, build_providers

_HOMES = {
    "lanes.providers.anthropic_messages": (
        "AnthropicEndpoint",
        "AnthropicMessagesProvider",
        "anthropic_provider",
    ),
    "lanes.providers.base": ("Completion", "CompletionRequest", "Provider", "ProviderFactory"),
    "lanes.providers.errors": (
        "AuthError",
        "BadRequestError",
        "ConfigFaultError",
        "ContentPolicyError",
        "ContextLengthError",
        "ProviderError",
        "QuotaError",
        "TransientError",
    ),
    "lanes.providers.offline": ("BANNER", "OFFLINE_MODEL", "OfflineModel"),
    "lanes.providers.openai_chat": (
        "OpenAIChatProvider",
        "OpenAIEndpoint",
        "openai_compatible_provider",
        "openai_provider",
    ),
    "lanes.providers.registry": ("PROVIDERS", "build_providers"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "BANNER",
    "OFFLINE_MODEL",
    "PROVIDERS",
    "AnthropicEndpoint",
    "AnthropicMessagesProvider",
    "AuthError",
    "BadRequestError",
    "Completion",
    "CompletionRequest",
    "ConfigFaultError",
    "ContentPolicyError",
    "ContextLengthError",
    "OfflineModel",
    "OpenAIChatProvider",
    "OpenAIEndpoint",
    "Provider",
    "ProviderError",
    "ProviderFactory",
    "QuotaError",
    "TransientError",
    "anthropic_provider",
    "build_providers",
    "openai_compatible_provider",
    "openai_provider",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'lanes.providers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
