"""Provider name -> factory, and the one function that builds a config's providers.

Adding a provider means adding one entry to ``_factories``; nothing anywhere branches on a
provider's name. Factories only read the injected environment and build (lazy, unconnected)
SDK clients, so building never touches the network and never fails for a missing key: that
surfaces as an ``AuthError`` naming the variable to set when the tier is first called, while the
other tiers keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from types import MappingProxyType

from lanes.config import LanesConfig, ModelSpec
from lanes.providers.base import Provider, ProviderFactory
from lanes.providers.offline import OfflineModel

# The SDK adapters are imported inside their factories: openai and anthropic take seconds to
# import, and an --offline run (or a config that uses only one of them) should not pay for both.


def _openai(spec: ModelSpec, env: Mapping[str, str]) -> Provider:
    from lanes.providers.openai_chat import openai_provider

    return openai_provider(spec, env)


def _openai_compatible(spec: ModelSpec, env: Mapping[str, str]) -> Provider:
    from lanes.providers.openai_chat import openai_compatible_provider

    return openai_compatible_provider(spec, env)


def _anthropic(spec: ModelSpec, env: Mapping[str, str]) -> Provider:
    from lanes.providers.anthropic_messages import anthropic_provider

    return anthropic_provider(spec, env)


def _offline(spec: ModelSpec, env: Mapping[str, str], *, templates: tuple[str, ...] = ()) -> Provider:
    return OfflineModel(templates)


def _factories() -> Mapping[str, ProviderFactory]:
    return MappingProxyType(
        {
            "openai": _openai,
            "anthropic": _anthropic,
            "openai_compatible": _openai_compatible,
            "offline": _offline,
        }
    )


PROVIDERS: Mapping[str, ProviderFactory] = _factories()
"""Every provider name lanes.toml accepts, to the factory that builds it (read-only)."""


DEFAULT_KEY_ENV: Mapping[str, str] = MappingProxyType(
    {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
)
"""The variable a provider's key comes from when a tier sets no ``api_key_env``."""


def credentials(spec: ModelSpec) -> tuple[str, str | None, str | None]:
    """What a tier authenticates with: provider, key variable and endpoint. Two tiers with the same
    credentials fail together when a key is rejected or an account runs dry, so falling back from
    one to the other would only repeat the fault."""
    return spec.provider, spec.api_key_env or DEFAULT_KEY_ENV.get(spec.provider), spec.base_url


def lane_templates(config: LanesConfig) -> tuple[str, ...]:
    """Every prompt template in the config; the offline model uses them to find the input."""
    return tuple(
        sorted({prompt.template for lane in config.lanes.values() for prompt in lane.prompts.values()})
    )


def build_providers(
    config: LanesConfig, env: Mapping[str, str], *, offline: bool = False
) -> dict[str, Provider]:
    """One provider per model tier, keyed by tier name (the ``[models.*]`` keys).

    ``offline=True`` serves every tier with the offline sample model, whatever lanes.toml says.
    """
    templates = lane_templates(config)
    factories: dict[str, ProviderFactory] = {**PROVIDERS, "offline": partial(_offline, templates=templates)}
    if offline:
        shared = OfflineModel(templates)
        return {tier: shared for tier in config.models}
    return {tier: factories[spec.provider](spec, env) for tier, spec in config.models.items()}
