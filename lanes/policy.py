"""The routing policy: which model tier a request runs on first, and why, as data.

``route`` is pure: it reads the lane, the model specs, the request and a ``RouteState`` snapshot
(spend today, open circuits, the time) and returns a ``Route`` whose ``reasons`` say in plain words
what each rule did. Slack, the CLI and the audit trail show those words as they are.

The rules, in order:

1. **Default** - the lane's ``default`` tier.
2. **Escalation signals** - an input longer than ``escalate_when.input_chars_over`` or containing
   one of ``escalate_when.keywords`` (case-insensitive, whole words or phrases) picks
   ``escalate_to``. Signals are read from the request only; a failed check escalates later, in
   the engine.
3. **Circuit breaker** - a tier whose circuit is open (repeated transient failures) is replaced by
   the lane's ``fallback``.
4. **Budgets** - if the estimated cost breaks ``max_cost_per_run_usd``, or today's spend plus the
   estimate breaks ``budget_daily_usd``, a cheaper route that fits is taken (escalation, then
   default, then fallback). If none fits, nothing runs: the route asks an owner to confirm the
   tier that would have run ("run anyway"), and a confirmed request waives the budget for that
   tier only. An unknown price cannot be estimated, so it never blocks, and the reason says so.

``Route.kind`` is ``default`` or ``escalation`` here; the engine records ``fallback``/``human``
when a model fails or a check sends the run to a person.

``route`` reads the request only through ``RouteInputs`` (its length and which keywords it hit),
and those inputs are recorded on every run: ``route_from_inputs`` is the whole policy, so
``lanebot routes diff`` replays a candidate over past runs with the very function that routes
live ones, and needs no stored text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from lanes.config import LaneConfig, ModelSpec
from lanes.config_problems import INPUT_PLACEHOLDER
from lanes.pricing import estimate_cost, price_known
from lanes.values import Reason, Route, RouteInputs, RouteKind, RouteState, RunRequest

__all__ = [
    "UnknownKeywordError",
    "estimated_input_chars",
    "explain_lane",
    "keywords_hit",
    "normalise_keyword",
    "route",
    "route_from_inputs",
    "route_inputs",
]


class UnknownKeywordError(ValueError):
    """The inputs were recorded without looking for these keywords, so they cannot answer them."""

    def __init__(self, keywords: tuple[str, ...]) -> None:
        self.keywords = keywords
        super().__init__(f"keywords not looked for when the inputs were recorded: {', '.join(keywords)}")


@dataclass(frozen=True)
class _Choice:
    tier: str
    kind: RouteKind
    reasons: tuple[Reason, ...]


def route(lane: LaneConfig, models: Mapping[str, ModelSpec], request: RunRequest, state: RouteState) -> Route:
    """Decide the first tier for ``request``; see the module docstring for the rules and their order."""
    return route_from_inputs(lane, models, route_inputs(lane, request, state))


def route_inputs(lane: LaneConfig, request: RunRequest, state: RouteState) -> RouteInputs:
    """What ``route`` reads of ``request`` and ``state``: the only facts a route may depend on."""
    keywords = tuple(lane.escalate_when.keywords)
    return RouteInputs(
        at=state.now,
        input_chars=len(request.text),
        keywords_checked=tuple(dict.fromkeys(normalise_keyword(k) for k in keywords)),
        keywords_hit=keywords_hit(keywords, request.text),
        spent_today_usd=state.spent_today_usd,
        open_circuits=tuple(sorted(state.open_circuits)),
        confirmed_tier=request.confirmed_tier,
    )


def route_from_inputs(lane: LaneConfig, models: Mapping[str, ModelSpec], inputs: RouteInputs) -> Route:
    """The route for recorded ``inputs``; ``UnknownKeywordError`` if the lane has keywords the
    inputs were not checked for (replay then needs the run's stored text)."""
    unknown = _not_checked(tuple(lane.escalate_when.keywords), inputs.keywords_checked)
    if unknown:
        raise UnknownKeywordError(unknown)
    state = RouteState(
        now=inputs.at, spent_today_usd=inputs.spent_today_usd, open_circuits=frozenset(inputs.open_circuits)
    )
    choice = _escalate(lane, inputs)
    choice = _avoid_open_circuit(lane, choice, state.open_circuits)
    return _apply_budget(lane, models, inputs, state, choice)


@lru_cache(maxsize=4096)
def normalise_keyword(keyword: str) -> str:
    """A keyword as matching sees it: any case, any run of whitespace between its words."""
    return " ".join(keyword.split()).casefold()


@lru_cache(maxsize=256)
def _normalised(keywords: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(normalise_keyword(k) for k in keywords)


@lru_cache(maxsize=1024)
def _not_checked(keywords: tuple[str, ...], checked: tuple[str, ...]) -> tuple[str, ...]:
    """The keywords that inputs recorded with ``checked`` cannot answer (a replay's usual answer:
    none; cached because every run of a policy has the same two tuples)."""
    return tuple(k for k, norm in zip(keywords, _normalised(keywords), strict=True) if norm not in checked)


def keywords_hit(keywords: tuple[str, ...], text: str) -> tuple[str, ...]:
    """Which of ``keywords`` occur in ``text`` (whole words or phrases, any case), normalised."""
    return tuple(dict.fromkeys(normalise_keyword(k) for k in _matched_keywords(keywords, text)))


def estimated_input_chars(lane: LaneConfig, tier: str, text: str) -> int:
    """Characters a tier will be sent for ``text``: its system prompt and template around the input."""
    return _prompt_overhead(lane, tier) + len(text)


def _prompt_overhead(lane: LaneConfig, tier: str) -> int:
    prompt = lane.prompt_for(tier)
    return len(prompt.system) + len(prompt.template) - len(INPUT_PLACEHOLDER)


# --- rules 1 and 2: default and escalation ------------------------------------------------------


def _escalate(lane: LaneConfig, inputs: RouteInputs) -> _Choice:
    signals: list[Reason] = []
    limit = lane.escalate_when.input_chars_over
    chars = inputs.input_chars
    if limit is not None and chars > limit:
        signals.append(Reason("escalation", f"escalated: input {chars:,} chars > {limit:,}"))
    configured = tuple(lane.escalate_when.keywords)
    keywords = [
        k for k, norm in zip(configured, _normalised(configured), strict=True) if norm in inputs.keywords_hit
    ]
    if keywords:
        label = "keyword" if len(keywords) == 1 else "keywords"
        quoted = ", ".join(f"'{keyword}'" for keyword in keywords)
        signals.append(Reason("escalation", f"escalated: {label} {quoted}"))
    if signals:
        return _Choice(lane.escalate_to, "escalation", tuple(signals))
    return _Choice(lane.default, "default", (Reason("default", f"default for lane {lane.name}"),))


def _matched_keywords(keywords: tuple[str, ...], text: str) -> tuple[str, ...]:
    return tuple(
        k for k, regex in zip(keywords, _keyword_patterns(keywords), strict=True) if regex.search(text)
    )


@lru_cache(maxsize=256)
def _keyword_patterns(keywords: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Whole words or phrases, any case, any run of whitespace between a phrase's words."""
    return tuple(
        re.compile(
            r"(?<!\w)" + r"\s+".join(re.escape(word) for word in keyword.split()) + r"(?!\w)", re.IGNORECASE
        )
        for keyword in keywords
    )


# --- rule 3: circuit breaker --------------------------------------------------------------------


def _avoid_open_circuit(lane: LaneConfig, choice: _Choice, open_circuits: frozenset[str]) -> _Choice:
    if choice.tier not in open_circuits or choice.tier == lane.fallback:
        return choice
    if lane.fallback in open_circuits:
        text = (
            f"model {choice.tier} and fallback {lane.fallback} both have open circuits after repeated "
            f"failures; trying {choice.tier} anyway"
        )
        return _Choice(choice.tier, choice.kind, (*choice.reasons, Reason("circuit_open", text)))
    text = (
        f"model {choice.tier} skipped: circuit open after repeated failures, using fallback {lane.fallback}"
    )
    return _Choice(lane.fallback, choice.kind, (*choice.reasons, Reason("circuit_open", text)))


# --- rule 4: budgets ----------------------------------------------------------------------------


def _apply_budget(
    lane: LaneConfig, models: Mapping[str, ModelSpec], inputs: RouteInputs, state: RouteState, choice: _Choice
) -> Route:
    estimate = _estimate(lane, models, choice.tier, inputs.input_chars, state.now)
    reasons = choice.reasons
    if inputs.confirmed_tier is not None and inputs.confirmed_tier == choice.tier:
        waived = Reason("budget_waived", "budget waived: run anyway confirmed by owner")
        return Route(choice.tier, choice.kind, (*reasons, waived), estimated_cost_usd=estimate)
    if not _has_budget(lane):
        return Route(choice.tier, choice.kind, reasons, estimated_cost_usd=estimate)
    if estimate is None:
        unknown = Reason("budget_unknown", _unknown_price_text(choice.tier, models))
        return Route(choice.tier, choice.kind, (*reasons, unknown), estimated_cost_usd=None)
    problems = _budget_problems(lane, choice.tier, estimate, state.spent_today_usd)
    if not problems:
        return Route(choice.tier, choice.kind, reasons, estimated_cost_usd=estimate)
    reasons = (*reasons, *(Reason("budget", text) for text in problems))
    cheaper = _cheaper_route(lane, models, inputs.input_chars, state, choice.tier)
    if cheaper is not None:
        tier, cheaper_estimate = cheaper
        cost = "unknown price" if cheaper_estimate is None else f"estimated {_usd(cheaper_estimate)}"
        taken = Reason("budget", f"budget: using {_role(lane, tier)} {tier} instead ({cost})")
        kind: RouteKind = "escalation" if tier == lane.escalate_to else "default"
        return Route(tier, kind, (*reasons, taken), estimated_cost_usd=cheaper_estimate)
    confirm = Reason("needs_confirmation", _confirm_text(lane, choice.tier, estimate, state.spent_today_usd))
    return Route(
        tier=None,
        kind=choice.kind,
        reasons=(*reasons, confirm),
        needs_confirmation=True,
        estimated_cost_usd=estimate,
        confirm_tier=choice.tier,
    )


def _cheaper_route(
    lane: LaneConfig, models: Mapping[str, ModelSpec], chars: int, state: RouteState, chosen: str
) -> tuple[str, float | None] | None:
    """The first of escalation -> default -> fallback after ``chosen`` that fits and is not cooling down."""
    order = list(dict.fromkeys((lane.escalate_to, lane.default, lane.fallback)))
    start = order.index(chosen) + 1 if chosen in order else 0
    for tier in order[start:]:
        if tier == chosen or tier in state.open_circuits or tier not in models:
            continue
        estimate = _estimate(lane, models, tier, chars, state.now)
        if estimate is None or not _budget_problems(lane, tier, estimate, state.spent_today_usd):
            return tier, estimate
    return None


def _budget_problems(lane: LaneConfig, tier: str, estimate: float, spent_today: float) -> list[str]:
    problems: list[str] = []
    per_run = lane.max_cost_per_run_usd
    if per_run is not None and estimate > per_run:
        problems.append(
            f"budget: per-run cap {_usd(per_run, 2)} < estimate {_usd(estimate)}, {tier} route not taken"
        )
    daily = lane.budget_daily_usd
    if daily is not None and spent_today + estimate > daily:
        problems.append(f"budget: daily cap {_usd(daily, 2)} reached, {tier} route not taken")
    return problems


def _estimate(
    lane: LaneConfig, models: Mapping[str, ModelSpec], tier: str, chars: int, now: datetime
) -> float | None:
    spec = models.get(tier)
    if spec is None:
        return None
    return estimate_cost(spec, _prompt_overhead(lane, tier) + chars, lane.max_output_tokens, at=now)


def _has_budget(lane: LaneConfig) -> bool:
    return lane.budget_daily_usd is not None or lane.max_cost_per_run_usd is not None


def _unknown_price_text(tier: str, models: Mapping[str, ModelSpec]) -> str:
    spec = models.get(tier)
    model = f" ({spec.provider} {spec.model})" if spec else ""
    return (
        f"budget: price of {tier}{model} unknown, so the cost can't be estimated; not blocking "
        f"(set price = {{ input_per_mtok = ..., output_per_mtok = ... }} under [models.{tier}])"
    )


def _confirm_text(lane: LaneConfig, tier: str, estimate: float, spent_today: float) -> str:
    caps: list[str] = []
    if lane.max_cost_per_run_usd is not None:
        caps.append(f"per-run cap {_usd(lane.max_cost_per_run_usd, 2)}")
    if lane.budget_daily_usd is not None:
        caps.append(f"daily cap {_usd(lane.budget_daily_usd, 2)} with {_usd(spent_today, 2)} spent today")
    return (
        f"needs confirmation: {tier} would cost about {_usd(estimate)} ({'; '.join(caps)}) and no cheaper "
        f"route fits; an owner can choose run anyway"
    )


def _role(lane: LaneConfig, tier: str) -> str:
    if tier == lane.default:
        return "default"
    return "fallback" if tier == lane.fallback else "escalation"


def _usd(amount: float, decimals: int = 4) -> str:
    """Caps in cents ("$5.00"), estimates to a hundredth of a cent; a sub-cent cap keeps its digits."""
    if decimals == 2 and round(amount, 2) != amount:
        decimals = 4
    return f"${amount:,.{decimals}f}"


# --- plain-language summary ---------------------------------------------------------------------


def explain_lane(lane: LaneConfig, models: Mapping[str, ModelSpec]) -> list[tuple[str, str]]:
    """Rows of (label, plain sentence) describing a lane's route, for ``lanebot check`` and /lanes."""
    return [
        ("owners", ", ".join(lane.owners) or 'none - add owners = ["U..."] in lanes.toml'),
        ("reviewers", ", ".join(lane.reviewers) or "none (owners review)"),
        ("risk", lane.risk),
        ("route", f"{_tier_label(lane.default, models)} -> fallback {_tier_label(lane.fallback, models)}"),
        ("escalation", _explain_escalation(lane, models)),
        ("review", _explain_review(lane)),
        ("budgets", _explain_budgets(lane, models)),
        ("checks", _explain_checks(lane)),
        ("data", _explain_data(lane)),
    ]


def _tier_label(tier: str, models: Mapping[str, ModelSpec]) -> str:
    spec = models.get(tier)
    if spec is None:
        return f"{tier} (undefined model)"
    price = "" if price_known(spec) else ", price unknown"
    return f"{tier} ({spec.provider} {spec.model}{price})"


def _explain_escalation(lane: LaneConfig, models: Mapping[str, ModelSpec]) -> str:
    triggers: list[str] = []
    if lane.escalate_when.input_chars_over is not None:
        triggers.append(f"input over {lane.escalate_when.input_chars_over:,} chars")
    if lane.escalate_when.keywords:
        triggers.append("keywords " + ", ".join(f"'{k}'" for k in lane.escalate_when.keywords))
    label = _tier_label(lane.escalate_to, models)
    after_check = (
        "after a failed check" if lane.risk != "high" else "never after a failed check (a human decides)"
    )
    if not triggers:
        return f"{label}: no request signals; {after_check}"
    return f"{label} on {' or '.join(triggers)}; {after_check}"


def _explain_review(lane: LaneConfig) -> str:
    rule = {
        "none": "drafts are shown; owners or reviewers still decide",
        "owner": "an owner or reviewer approves each draft",
        "two_person": "two different owners or reviewers approve each draft",
    }[lane.review]
    self_rule = "requesters may approve their own runs" if lane.self_approval else "not the requester"
    sensitive = (
        f"; two people when {len(lane.sensitive)} sensitive pattern(s) match" if lane.sensitive else ""
    )
    return f"{rule} ({self_rule}){sensitive}; expires after {lane.review_timeout}"


def _explain_budgets(lane: LaneConfig, models: Mapping[str, ModelSpec]) -> str:
    caps: list[str] = []
    if lane.max_cost_per_run_usd is not None:
        caps.append(f"{_usd(lane.max_cost_per_run_usd, 2)} per run")
    if lane.budget_daily_usd is not None:
        caps.append(f"{_usd(lane.budget_daily_usd, 2)} per day")
    ceiling = []
    for tier in dict.fromkeys(lane.tiers):
        spec = models.get(tier)
        estimate = estimate_cost(spec, lane.max_input_chars, lane.max_output_tokens) if spec else None
        ceiling.append(f"{tier} {'unknown' if estimate is None else _usd(estimate)}")
    caps_text = ", ".join(caps) if caps else "no caps"
    return f"{caps_text}; largest run costs about {', '.join(ceiling)}"


def _explain_checks(lane: LaneConfig) -> str:
    parts: list[str] = []
    if lane.checks.max_chars is not None:
        parts.append(f"at most {lane.checks.max_chars:,} chars")
    if lane.checks.forbid:
        parts.append(f"{len(lane.checks.forbid)} forbidden pattern(s)")
    if lane.output_schema is not None:
        parts.append("JSON schema")
    if lane.evidence_required:
        parts.append("evidence quoted verbatim from the input")
    if lane.cross_check:
        parts.append("cross-checked by a second model on " + ", ".join(lane.cross_check_fields))
    return ", ".join(parts) or "none"


def _explain_data(lane: LaneConfig) -> str:
    stored = "redacted text stored" if lane.store_text == "redacted" else "no text stored, metadata only"
    sent = "; redacted before it reaches a model" if lane.redact_before_model else ""
    return stored + sent
