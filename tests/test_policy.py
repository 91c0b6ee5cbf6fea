"""The routing policy, with plain values: every rule and the exact words it says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from lanes.config import LaneConfig, ModelSpec, Price
from lanes.policy import estimated_input_chars, explain_lane, route
from lanes.values import Reason, Route, RouteState, RunRequest

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)

# Output-only prices make estimates easy to read: 1,000 output tokens cost fast $0.01, strong $0.10.
MODELS: dict[str, ModelSpec] = {
    "fast": ModelSpec(
        provider="openai", model="gpt-5-mini", price=Price(input_per_mtok=0, output_per_mtok=10)
    ),
    "strong": ModelSpec(
        provider="anthropic", model="claude-sonnet-4-6", price=Price(input_per_mtok=0, output_per_mtok=100)
    ),
    "local": ModelSpec(
        provider="openai_compatible",
        model="llama3.1:8b",
        base_url="http://localhost:11434/v1",
        price=Price(input_per_mtok=0, output_per_mtok=0),
    ),
}


def make_lane(**overrides: Any) -> LaneConfig:
    data: dict[str, Any] = {
        "name": "support",
        "command": "/support",
        "owners": ["U0OWNER"],
        "default": "fast",
        "fallback": "local",
        "escalate_to": "strong",
        "max_output_tokens": 1000,
        "escalate_when": {"input_chars_over": 2500, "keywords": ["refund", "lawyer", "race condition"]},
        "prompts": {"fast": {"template": "{input}"}, "strong": {"template": "{input}"}},
    }
    data.update(overrides)
    return LaneConfig.model_validate(data)


def ask(text: str = "Where is my parcel?", confirmed_tier: str | None = None) -> RunRequest:
    return RunRequest(lane="support", text=text, requester="U0ASKER", confirmed_tier=confirmed_tier)


def state(spent: float = 0.0, open_circuits: frozenset[str] = frozenset()) -> RouteState:
    return RouteState(now=NOW, spent_today_usd=spent, open_circuits=open_circuits)


def texts(chosen: Route) -> list[str]:
    return [reason.text for reason in chosen.reasons]


# --- default and escalation ---------------------------------------------------------------------


def test_default_route_names_the_lane() -> None:
    chosen = route(make_lane(), MODELS, ask(), state())
    assert chosen == Route(
        tier="fast",
        kind="default",
        reasons=(Reason("default", "default for lane support"),),
        estimated_cost_usd=chosen.estimated_cost_usd,
    )
    assert chosen.estimated_cost_usd == pytest.approx(0.01)
    assert not chosen.needs_confirmation


def test_long_input_escalates_with_the_numbers() -> None:
    chosen = route(make_lane(), MODELS, ask("x" * 3104), state())
    assert (chosen.tier, chosen.kind) == ("strong", "escalation")
    assert texts(chosen) == ["escalated: input 3,104 chars > 2,500"]
    assert chosen.reasons[0].rule == "escalation"


def test_input_exactly_at_the_threshold_does_not_escalate() -> None:
    assert route(make_lane(), MODELS, ask("x" * 2500), state()).tier == "fast"


def test_keyword_escalates_case_insensitively() -> None:
    chosen = route(make_lane(), MODELS, ask("I want a REFUND for order 7"), state())
    assert (chosen.tier, chosen.kind) == ("strong", "escalation")
    assert texts(chosen) == ["escalated: keyword 'refund'"]


@pytest.mark.parametrize("text", ["I was refunded twice", "prefund accounts", "lawyered up"])
def test_keywords_match_whole_words_only(text: str) -> None:
    assert route(make_lane(), MODELS, ask(text), state()).tier == "fast"


def test_phrase_keyword_matches_across_any_whitespace() -> None:
    chosen = route(make_lane(), MODELS, ask("there is a Race\n  Condition in the queue"), state())
    assert texts(chosen) == ["escalated: keyword 'race condition'"]


def test_every_signal_is_named() -> None:
    chosen = route(make_lane(), MODELS, ask("refund? my lawyer says " + "x" * 3000), state())
    assert texts(chosen) == ["escalated: input 3,023 chars > 2,500", "escalated: keywords 'refund', 'lawyer'"]


def test_lane_without_signals_never_escalates_on_input() -> None:
    lane = make_lane(escalate_when={})
    assert route(lane, MODELS, ask("refund " + "x" * 9000), state()).tier == "fast"


# --- circuit breaker ----------------------------------------------------------------------------


def test_open_circuit_on_default_uses_fallback() -> None:
    chosen = route(make_lane(), MODELS, ask(), state(open_circuits=frozenset({"fast"})))
    assert (chosen.tier, chosen.kind) == ("local", "default")
    assert texts(chosen) == [
        "default for lane support",
        "model fast skipped: circuit open after repeated failures, using fallback local",
    ]
    assert chosen.reasons[-1].rule == "circuit_open"


def test_open_circuit_on_escalation_uses_fallback() -> None:
    chosen = route(make_lane(), MODELS, ask("refund please"), state(open_circuits=frozenset({"strong"})))
    assert (chosen.tier, chosen.kind) == ("local", "escalation")
    assert (
        texts(chosen)[-1]
        == "model strong skipped: circuit open after repeated failures, using fallback local"
    )


def test_open_circuit_on_another_tier_changes_nothing() -> None:
    chosen = route(make_lane(), MODELS, ask(), state(open_circuits=frozenset({"strong"})))
    assert chosen.tier == "fast"
    assert texts(chosen) == ["default for lane support"]


def test_when_fallback_is_open_too_the_chosen_tier_is_tried() -> None:
    chosen = route(make_lane(), MODELS, ask(), state(open_circuits=frozenset({"fast", "local"})))
    assert chosen.tier == "fast"
    assert texts(chosen)[-1] == (
        "model fast and fallback local both have open circuits after repeated failures; trying fast anyway"
    )


# --- budgets ------------------------------------------------------------------------------------


def test_within_budget_adds_no_budget_reason() -> None:
    lane = make_lane(budget_daily_usd=5.0, max_cost_per_run_usd=0.5)
    chosen = route(lane, MODELS, ask("refund"), state(spent=1.0))
    assert chosen.tier == "strong"
    assert [r.rule for r in chosen.reasons] == ["escalation"]
    assert chosen.estimated_cost_usd == pytest.approx(0.10)


def test_daily_cap_takes_the_default_when_escalation_does_not_fit() -> None:
    lane = make_lane(budget_daily_usd=5.0)
    chosen = route(lane, MODELS, ask("refund"), state(spent=4.95))
    assert (chosen.tier, chosen.kind) == ("fast", "default")
    assert texts(chosen) == [
        "escalated: keyword 'refund'",
        "budget: daily cap $5.00 reached, strong route not taken",
        "budget: using default fast instead (estimated $0.0100)",
    ]
    assert chosen.estimated_cost_usd == pytest.approx(0.01)
    assert not chosen.needs_confirmation


def test_daily_cap_falls_through_to_the_fallback() -> None:
    lane = make_lane(budget_daily_usd=5.0)
    chosen = route(lane, MODELS, ask("refund"), state(spent=4.995))
    assert chosen.tier == "local"
    assert texts(chosen)[-1] == "budget: using fallback local instead (estimated $0.0000)"


def test_per_run_cap_names_the_cap_and_the_estimate() -> None:
    lane = make_lane(max_cost_per_run_usd=0.05)
    chosen = route(lane, MODELS, ask("refund"), state())
    assert chosen.tier == "fast"
    assert texts(chosen)[1] == "budget: per-run cap $0.05 < estimate $0.1000, strong route not taken"


def test_nothing_fits_asks_for_confirmation_of_the_tier_that_would_have_run() -> None:
    lane = make_lane(budget_daily_usd=5.0)
    chosen = route(lane, MODELS, ask("refund"), state(spent=5.0, open_circuits=frozenset({"local"})))
    assert chosen.tier is None
    assert chosen.needs_confirmation
    assert chosen.confirm_tier == "strong"
    assert chosen.kind == "escalation"
    assert chosen.estimated_cost_usd == pytest.approx(0.10)
    assert texts(chosen) == [
        "escalated: keyword 'refund'",
        "budget: daily cap $5.00 reached, strong route not taken",
        "needs confirmation: strong would cost about $0.1000 (daily cap $5.00 with $5.00 spent today) "
        "and no cheaper route fits; an owner can choose run anyway",
    ]
    assert chosen.reasons[-1].rule == "needs_confirmation"


def test_confirmation_text_names_both_caps() -> None:
    expensive = {**MODELS, "local": MODELS["local"].model_copy(update={"price": MODELS["strong"].price})}
    lane = make_lane(budget_daily_usd=1.0, max_cost_per_run_usd=0.005)
    chosen = route(lane, expensive, ask(), state())
    assert chosen.needs_confirmation and chosen.confirm_tier == "fast"
    assert texts(chosen)[-1] == (
        "needs confirmation: fast would cost about $0.0100 (per-run cap $0.0050; daily cap $1.00 with "
        "$0.00 spent today) and no cheaper route fits; an owner can choose run anyway"
    )


def test_run_anyway_waives_the_budget_for_the_confirmed_tier() -> None:
    lane = make_lane(budget_daily_usd=5.0)
    chosen = route(lane, MODELS, ask("refund", confirmed_tier="strong"), state(spent=9.0))
    assert (chosen.tier, chosen.kind) == ("strong", "escalation")
    assert texts(chosen)[-1] == "budget waived: run anyway confirmed by owner"
    assert chosen.reasons[-1].rule == "budget_waived"
    assert chosen.estimated_cost_usd == pytest.approx(0.10)


def test_run_anyway_for_another_tier_does_not_waive() -> None:
    lane = make_lane(budget_daily_usd=5.0)
    chosen = route(lane, MODELS, ask("refund", confirmed_tier="fast"), state(spent=4.95))
    assert chosen.tier == "fast"
    assert "budget waived: run anyway confirmed by owner" not in texts(chosen)
    assert "budget: daily cap $5.00 reached, strong route not taken" in texts(chosen)


def test_unknown_price_is_said_and_never_blocks() -> None:
    unpriced = {**MODELS, "fast": ModelSpec(provider="openai", model="gpt-unlisted-9")}
    lane = make_lane(budget_daily_usd=5.0)
    chosen = route(lane, unpriced, ask(), state(spent=100.0))
    assert chosen.tier == "fast"
    assert chosen.estimated_cost_usd is None
    assert not chosen.needs_confirmation
    assert chosen.reasons[-1].rule == "budget_unknown"
    assert chosen.reasons[-1].text.startswith(
        "budget: price of fast (openai gpt-unlisted-9) unknown, so the cost can't be estimated; not blocking"
    )


def test_unknown_price_without_budgets_says_nothing() -> None:
    unpriced = {**MODELS, "fast": ModelSpec(provider="openai", model="gpt-unlisted-9")}
    chosen = route(make_lane(), unpriced, ask(), state())
    assert texts(chosen) == ["default for lane support"]


def test_catalogue_prices_feed_the_estimate() -> None:
    catalogue = {**MODELS, "fast": ModelSpec(provider="openai", model="gpt-5-mini")}
    chosen = route(make_lane(), catalogue, ask("x" * 400), state())
    # 100 input tokens at $0.25/M + 1,000 output tokens at $2/M
    assert chosen.estimated_cost_usd == pytest.approx(0.000025 + 0.002)


def test_estimate_counts_the_prompt_around_the_input() -> None:
    lane = make_lane(prompts={"fast": {"system": "s" * 10, "template": "Q: {input}"}, "strong": {}})
    assert estimated_input_chars(lane, "fast", "abc") == 10 + 3 + 3
    assert estimated_input_chars(lane, "local", "abc") == 16  # the fallback borrows the default's prompt


def test_route_is_pure() -> None:
    lane, request, snapshot = make_lane(budget_daily_usd=5.0), ask("refund"), state(spent=4.95)
    assert route(lane, MODELS, request, snapshot) == route(lane, MODELS, request, snapshot)


def test_explain_joins_reasons() -> None:
    chosen = route(make_lane(), MODELS, ask("refund"), state(open_circuits=frozenset({"strong"})))
    assert chosen.explain() == (
        "escalated: keyword 'refund'; model strong skipped: circuit open after repeated failures, "
        "using fallback local"
    )


# --- explain_lane -------------------------------------------------------------------------------


def test_explain_lane_rows_in_plain_words() -> None:
    lane = make_lane(
        reviewers=["U0REVIEW"],
        budget_daily_usd=5.0,
        max_cost_per_run_usd=0.05,
        checks={"max_chars": 1200, "forbid": ["(?i)i have refunded"]},
        sensitive=["(?i)password"],
    )
    rows = dict(explain_lane(lane, MODELS))
    assert list(rows) == [
        "owners",
        "reviewers",
        "risk",
        "route",
        "escalation",
        "review",
        "budgets",
        "checks",
        "data",
    ]
    assert rows["owners"] == "U0OWNER"
    assert rows["route"] == "fast (openai gpt-5-mini) -> fallback local (openai_compatible llama3.1:8b)"
    assert rows["escalation"] == (
        "strong (anthropic claude-sonnet-4-6) on input over 2,500 chars or keywords 'refund', 'lawyer', "
        "'race condition'; after a failed check"
    )
    assert rows["review"] == (
        "an owner or reviewer approves each draft (not the requester); two people when 1 sensitive "
        "pattern(s) match; expires after 24h"
    )
    assert rows["budgets"].startswith("$0.05 per run, $5.00 per day; largest run costs about fast $0.0100")
    assert rows["checks"] == "at most 1,200 chars, 1 forbidden pattern(s)"
    assert rows["data"] == "redacted text stored"


def test_explain_lane_without_owners_says_how_to_fix_it() -> None:
    rows = dict(explain_lane(make_lane(owners=[], risk="high"), MODELS))
    assert rows["owners"] == 'none - add owners = ["U..."] in lanes.toml'
    assert rows["escalation"] == (
        "strong (anthropic claude-sonnet-4-6) on input over 2,500 chars or keywords 'refund', 'lawyer', "
        "'race condition'; never after a failed check (a human decides)"
    )


def test_explain_lane_without_signals() -> None:
    rows = dict(explain_lane(make_lane(escalate_when={}), MODELS))
    assert (
        rows["escalation"] == "strong (anthropic claude-sonnet-4-6): no request signals; after a failed check"
    )


def test_explain_lane_flags_unknown_prices() -> None:
    unpriced = {**MODELS, "fast": ModelSpec(provider="openai", model="gpt-unlisted-9")}
    rows = dict(explain_lane(make_lane(), unpriced))
    assert rows["route"].startswith("fast (openai gpt-unlisted-9, price unknown)")
    assert "fast unknown" in rows["budgets"]
