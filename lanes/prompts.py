"""Prompts rendered from lanes.toml, and the versions that tie every run to the text it used.

A run records ``prompt_id`` ("support/fast"), ``prompt_version`` (a hash of that prompt's text)
and ``policy_version`` (a hash of the lane's whole resolved config). When an owner edits a prompt
or a budget, the versions change, so the digest and the audit trail can tell runs made under the
old rules from runs made under the new ones without anyone bumping a number by hand.

The request text is inserted with ``str.replace`` rather than ``str.format``: braces in a
customer message or in a JSON example inside a template are ordinary characters, never fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from lanes.config import LaneConfig, ModelSpec
from lanes.config_problems import INPUT_PLACEHOLDER

VERSION_HEX_CHARS = 8


@dataclass(frozen=True)
class RenderedPrompt:
    """What is sent to a model, and which prompt (and which version of it) produced it."""

    system: str
    prompt: str
    prompt_id: str
    prompt_version: str


def render(lane: LaneConfig, tier: str, text: str) -> RenderedPrompt:
    """The prompt ``tier`` runs with on ``lane`` for ``text``.

    A tier without its own prompt (usually the fallback) borrows the default's, and the id names
    the prompt actually used ("support/fast" when the fallback ``local`` runs the fast prompt),
    so two runs with the same id and version really did send the same instructions.
    """
    source_tier = tier if tier in lane.prompts else lane.default
    prompt = lane.prompt_for(tier)
    return RenderedPrompt(
        system=prompt.system,
        prompt=prompt.template.replace(INPUT_PLACEHOLDER, text),
        prompt_id=f"{lane.name}/{source_tier}",
        prompt_version=_short_hash(f"{prompt.system}\x00{prompt.template}"),
    )


def policy_version(lane: LaneConfig, models: Mapping[str, ModelSpec]) -> str:
    """A short hash of everything that decides how ``lane`` behaves: its settings and its three tiers.

    Keys are sorted so the hash is stable across runs, processes and TOML key order.
    """
    resolved = {
        "lane": lane.model_dump(
            mode="json", by_alias=True, exclude=set(_NOT_BEHAVIOUR | _unset_extras(lane))
        ),
        "models": {
            tier: (models[tier].model_dump(mode="json") if tier in models else None)
            for tier in sorted(set(lane.tiers))
        },
    }
    return _short_hash(json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


_NOT_BEHAVIOUR = frozenset({"eval", "drill"})
"""Lane keys that say how the lane is *tested*, not how it behaves: not part of its version."""


def _unset_extras(lane: LaneConfig) -> frozenset[str]:
    """An unset ``shadow`` leaves the version as it was before shadow routes existed."""
    return frozenset() if lane.shadow is not None else frozenset({"shadow"})


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:VERSION_HEX_CHARS]
