"""Prompt rendering and versions, and call pricing from the bundled genai-prices catalogue."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lanes.config import LaneConfig, ModelSpec, parse_config
from lanes.pricing import cost_usd, estimate_cost, price_known
from lanes.prompts import RenderedPrompt, policy_version, render

MODELS: dict[str, Any] = {
    "fast": {"provider": "openai", "model": "gpt-5-mini"},
    "strong": {"provider": "anthropic", "model": "claude-sonnet-4-6"},
    "local": {
        "provider": "openai_compatible",
        "model": "llama3.1:8b",
        "base_url": "http://localhost:11434/v1",
    },
    "spare": {"provider": "openai", "model": "gpt-4o-mini"},
}


def lane_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "command": "/support",
        "default": "fast",
        "fallback": "local",
        "escalate_to": "strong",
        "budget_daily_usd": 5.0,
        "prompts": {
            "fast": {"system": "Be brief.", "template": "Customer message:\n{input}\n\nWrite the reply."},
            "strong": {"system": "Be careful.", "template": 'Return {"reply": "..."} for: {input}'},
        },
    }
    data.update(overrides)
    return data


def config(
    lane: dict[str, Any] | None = None, models: dict[str, Any] | None = None
) -> tuple[LaneConfig, dict]:
    parsed = parse_config({"models": models or MODELS, "lanes": {"support": lane or lane_data()}})
    return parsed.lanes["support"], parsed.models


# --- render -------------------------------------------------------------------------------------


def test_render_fills_the_template_and_names_the_prompt() -> None:
    lane, _ = config()
    rendered = render(lane, "fast", "Where is my parcel?")
    assert rendered.system == "Be brief."
    assert rendered.prompt == "Customer message:\nWhere is my parcel?\n\nWrite the reply."
    assert rendered.prompt_id == "support/fast"
    assert re.fullmatch(r"[0-9a-f]{8}", rendered.prompt_version)


def test_braces_in_input_and_json_templates_are_literal() -> None:
    lane, _ = config()
    rendered = render(lane, "strong", "my {name} is {input} {0}")
    assert rendered.prompt == 'Return {"reply": "..."} for: my {name} is {input} {0}'


def test_fallback_borrows_the_default_prompt_and_says_so() -> None:
    lane, _ = config()
    assert render(lane, "local", "hi") == RenderedPrompt(
        system="Be brief.",
        prompt="Customer message:\nhi\n\nWrite the reply.",
        prompt_id="support/fast",
        prompt_version=render(lane, "fast", "other text").prompt_version,
    )


def test_prompt_version_follows_the_prompt_text_only() -> None:
    lane, _ = config()
    assert render(lane, "fast", "a").prompt_version == render(lane, "fast", "b").prompt_version
    assert render(lane, "fast", "a").prompt_version != render(lane, "strong", "a").prompt_version
    changed_system = lane_data()
    changed_system["prompts"]["fast"]["system"] = "Be very brief."
    edited, _ = config(changed_system)
    assert render(edited, "fast", "a").prompt_version != render(lane, "fast", "a").prompt_version


# --- policy_version -----------------------------------------------------------------------------


def test_policy_version_is_stable_across_parses_and_key_order() -> None:
    lane, models = config()
    reordered_lane = dict(reversed(list(lane_data().items())))
    reordered_models = dict(reversed(list(MODELS.items())))
    lane2, models2 = config(reordered_lane, reordered_models)
    assert policy_version(lane, models) == policy_version(lane2, models2)
    assert re.fullmatch(r"[0-9a-f]{8}", policy_version(lane, models))


def test_policy_version_changes_with_the_lane_settings() -> None:
    lane, models = config()
    cheaper, _ = config(lane_data(budget_daily_usd=2.0))
    assert policy_version(lane, models) != policy_version(cheaper, models)


def test_policy_version_changes_with_a_tier_model_but_not_an_unused_one() -> None:
    lane, models = config()
    _, swapped = config(models={**MODELS, "fast": {"provider": "openai", "model": "gpt-5-nano"}})
    _, spare_changed = config(models={**MODELS, "spare": {"provider": "openai", "model": "gpt-5-nano"}})
    assert policy_version(lane, models) != policy_version(lane, swapped)
    assert policy_version(lane, models) == policy_version(lane, spare_changed)


# --- pricing ------------------------------------------------------------------------------------


def spec(**fields: Any) -> ModelSpec:
    return ModelSpec.model_validate(fields)


def test_catalogue_prices_for_openai_and_anthropic() -> None:
    assert cost_usd(spec(provider="openai", model="gpt-5-mini"), 1_000_000, 1_000_000) == pytest.approx(2.25)
    assert cost_usd(
        spec(provider="anthropic", model="claude-sonnet-4-6"), 1_000_000, 1_000_000
    ) == pytest.approx(18.0)
    assert cost_usd(spec(provider="openai", model="gpt-5-mini"), 2_000, 500) == pytest.approx(0.0015)


def test_price_override_wins_over_the_catalogue() -> None:
    negotiated = spec(
        provider="openai", model="gpt-5-mini", price={"input_per_mtok": 1.0, "output_per_mtok": 3.0}
    )
    assert cost_usd(negotiated, 1_000_000, 500_000) == pytest.approx(2.5)


def test_unknown_model_costs_none_never_zero() -> None:
    assert cost_usd(spec(provider="openai", model="gpt-unlisted-9"), 1000, 1000) is None
    assert not price_known(spec(provider="openai", model="gpt-unlisted-9"))


def test_openai_compatible_needs_an_override() -> None:
    local = {"provider": "openai_compatible", "model": "gpt-5-mini", "base_url": "http://localhost:8000/v1"}
    assert cost_usd(spec(**local), 1000, 1000) is None
    priced = spec(**local, price={"input_per_mtok": 0.0, "output_per_mtok": 0.0})
    assert cost_usd(priced, 1000, 1000) == 0.0


def test_offline_sample_costs_zero_explicitly() -> None:
    offline = spec(provider="offline", model="sample")
    assert cost_usd(offline, 1000, 1000) == 0.0
    assert cost_usd(offline, None, None) == 0.0
    assert price_known(offline)


def test_unknown_token_counts_cost_none() -> None:
    assert cost_usd(spec(provider="openai", model="gpt-5-mini"), None, 10) is None


def test_estimate_is_chars_over_four_in_and_the_full_allowance_out() -> None:
    priced = spec(provider="openai", model="x", price={"input_per_mtok": 1_000_000.0, "output_per_mtok": 0.0})
    assert estimate_cost(priced, 400, 500) == pytest.approx(100.0)
    assert estimate_cost(priced, 401, 500) == pytest.approx(101.0)  # a partial token counts
    out_only = spec(provider="openai", model="x", price={"input_per_mtok": 0.0, "output_per_mtok": 2.0})
    assert estimate_cost(out_only, 10_000, 500) == pytest.approx(0.001)
    assert estimate_cost(spec(provider="openai", model="gpt-unlisted-9"), 400, 500) is None
