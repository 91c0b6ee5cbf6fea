"""Which models the playground runs on, decided from the environment and said out loud.

A newcomer with no keys must see the whole flow, so the playground falls back to the built-in
offline sample model when no model credentials are set, and prints that it did. With
``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY`` or ``OPENAI_BASE_URL`` (an OpenAI-compatible gateway)
set, the lanes run on the models lanes.toml names, exactly as ``lanebot serve`` would run them; a
tier whose key is missing then fails like it would in production and the lane falls back. The
explanation lists every tier so nobody has to guess why a draft came from where it did.
``LANEBOT_OFFLINE=1`` forces the offline model even with keys set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lanes.config import LanesConfig, ModelSpec

MODEL_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")
_DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class ModelMode:
    """``offline`` or not, a one-line summary and one line per model tier."""

    offline: bool
    summary: str
    tiers: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"offline": self.offline, "summary": self.summary, "tiers": list(self.tiers)}


def choose_mode(config: LanesConfig, env: Mapping[str, str]) -> ModelMode:
    """Offline unless model credentials are set; ``LANEBOT_OFFLINE`` forces offline."""
    if str(env.get("LANEBOT_OFFLINE", "")).strip().lower() in _TRUE:
        return _offline(config, "LANEBOT_OFFLINE is set")
    present = [name for name in MODEL_VARIABLES if str(env.get(name, "")).strip()]
    if not present:
        return _offline(config, f"none of {', '.join(MODEL_VARIABLES)} is set")
    tiers = tuple(f"{tier}: {_describe(spec, env)}" for tier, spec in config.models.items())
    return ModelMode(False, f"real models from {config.source} ({', '.join(present)} set)", tiers)


def _offline(config: LanesConfig, why: str) -> ModelMode:
    tiers = tuple(
        f"{tier}: offline sample model, would have used {spec.model}" for tier, spec in config.models.items()
    )
    summary = (
        f"offline sample model: {why}. Drafts are templated from the request, not AI output, and "
        "costs are estimates for the models lanes.toml names; set OPENAI_API_KEY or ANTHROPIC_API_KEY "
        "to use real models"
    )
    return ModelMode(True, summary, tiers)


def _describe(spec: ModelSpec, env: Mapping[str, str]) -> str:
    where = f"{spec.provider} {spec.model}"
    if spec.provider == "offline":
        return f"{where} (the offline sample model)"
    if spec.provider == "openai_compatible":
        return f"{where} at {spec.base_url}"
    key_env = spec.api_key_env or _DEFAULT_KEY_ENV.get(spec.provider, "")
    if key_env and str(env.get(key_env, "")).strip():
        return f"{where} ({key_env} set)"
    return f"{where} ({key_env} not set: calls to this tier fail and the lane falls back)"
