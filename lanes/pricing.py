"""What a model call costs, in USD, from token counts.

Prices come from the genai-prices package's *bundled* snapshot (never a network refresh: the bot
must price calls the same way with or without internet), unless the tier sets ``price`` in
lanes.toml, which always wins (self-hosted or negotiated models).

An unknown price is ``None``, never ``0.0``: a zero would silently hide spend from budgets and the
weekly digest, while ``None`` is shown as "unknown price" and routing says it cannot estimate.
The one honest zero is a tier configured with ``provider = "offline"``, which costs nothing. When
the offline sample *stands in* for a configured tier (``--offline``, the playground without keys)
the tier's own price applies to the sample's tokens, and the attempt is flagged
``cost_estimated`` (``lanes.attempts``): what the run would have cost, never a bill.

Model lookups are cached per (provider, model) because pricing runs on every attempt and every
routing decision; the per-call arithmetic stays in genai-prices so tiered prices (e.g. long
context surcharges) are still applied to the actual token counts. genai-prices (with the HTTP
client its updater imports) is loaded the first time a catalogue model is priced: an offline or
self-priced tier never needs it, nor does a command that prices nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from lanes.config import ModelSpec

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo, Provider

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4
"""A rough, provider-neutral estimate used only for budgets before a call is made."""

_GENAI_PRICES_PROVIDER = MappingProxyType({"openai": "openai", "anthropic": "anthropic"})
"""Our provider names -> genai-prices provider ids. ``openai_compatible`` servers can host any
model at any price, so they have no catalogue price and need ``price = {...}`` in lanes.toml."""


def cost_usd(
    spec: ModelSpec, input_tokens: int | None, output_tokens: int | None, *, at: datetime | None = None
) -> float | None:
    """The cost of one call, or ``None`` when the price (or the token count) is unknown.

    ``at`` picks dated catalogue prices; ``None`` means now (genai-prices' default).
    """
    if spec.provider == "offline" and spec.price is None:
        return 0.0
    if input_tokens is None or output_tokens is None:
        return None
    if spec.price is not None:
        return (
            input_tokens * spec.price.input_per_mtok + output_tokens * spec.price.output_per_mtok
        ) / 1_000_000
    price = _catalogue_price(spec.provider, spec.model, max(input_tokens, 0), max(output_tokens, 0), at)
    return None if price is None else float(price)


def estimate_cost(
    spec: ModelSpec, input_chars: int, max_output_tokens: int, *, at: datetime | None = None
) -> float | None:
    """A pessimistic pre-call estimate: ``input_chars / 4`` tokens in, the full output allowance out.

    Catalogue prices go through ``_catalogue_estimate``: the same figure as ``cost_usd``, without
    a genai-prices calculation (about 1 ms) per routing decision (``lanebot routes diff``
    replays 100,000 of them)."""
    input_tokens = -(-max(input_chars, 0) // CHARS_PER_TOKEN)  # ceiling division
    if spec.price is not None or spec.provider == "offline":
        return cost_usd(spec, input_tokens, max_output_tokens, at=at)
    return _catalogue_estimate(spec.provider, spec.model, input_tokens, max_output_tokens, at)


def _catalogue_estimate(
    provider: str, model: str, input_tokens: int, output_tokens: int, at: datetime | None
) -> float | None:
    """``cost_usd`` for a catalogue model, from a line fitted once per model, output size and day.

    Catalogue prices are linear in input tokens up to a tier's start (long-context surcharges
    only ever raise the price). The line through 0 and 1,000 tokens is checked once against the
    exact price at the next power of two at or above ``input_tokens``; if it holds there it holds
    below, and the arithmetic is exact (``Decimal``), so the figure equals the exact calculation.
    Above a tier start the check fails and the exact calculation is used.
    """
    day = (at or datetime.now(UTC)).date()
    line = _price_line(provider, model, output_tokens, day)
    if line is None:
        return None
    bucket = 1 << max(input_tokens - 1, 0).bit_length()
    if not _line_holds(provider, model, output_tokens, day, bucket):
        return _exact(provider, model, input_tokens, output_tokens, day)
    base, per_token = line
    return float(base + per_token * input_tokens)


@lru_cache(maxsize=1024)
def _price_line(provider: str, model: str, output_tokens: int, day: date) -> tuple[Decimal, Decimal] | None:
    base = _exact_decimal(provider, model, 0, output_tokens, day)
    thousand = _exact_decimal(provider, model, 1000, output_tokens, day)
    if base is None or thousand is None:
        return None
    return base, (thousand - base) / 1000


@lru_cache(maxsize=4096)
def _line_holds(provider: str, model: str, output_tokens: int, day: date, bucket: int) -> bool:
    line = _price_line(provider, model, output_tokens, day)
    exact = _exact_decimal(provider, model, bucket, output_tokens, day)
    return line is not None and exact is not None and line[0] + line[1] * bucket == exact


def _exact(provider: str, model: str, input_tokens: int, output_tokens: int, day: date) -> float | None:
    exact = _exact_decimal(provider, model, input_tokens, output_tokens, day)
    return None if exact is None else float(exact)


def _exact_decimal(
    provider: str, model: str, input_tokens: int, output_tokens: int, day: date
) -> Decimal | None:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return _catalogue_price(provider, model, input_tokens, output_tokens, moment)


def _catalogue_price(
    provider: str, model: str, input_tokens: int, output_tokens: int, at: datetime | None
) -> Decimal | None:
    """The catalogue's exact price of one call (``at`` None: now), or ``None`` if it has no price."""
    from genai_prices import Usage

    entry = _catalogue_entry(provider, model)
    if entry is None:
        return None
    found_provider, info = entry
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return Decimal(info.calc_price(usage, found_provider, genai_request_timestamp=at).total_price)


def price_known(spec: ModelSpec) -> bool:
    """Whether ``cost_usd`` can price this tier at all (for ``lanebot check`` and routing reasons)."""
    return cost_usd(spec, 0, 0) is not None


@lru_cache(maxsize=256)
def _catalogue_entry(provider: str, model: str) -> tuple[Provider, ModelInfo] | None:
    """The bundled catalogue's provider and model records, or ``None`` if it does not list them."""
    from genai_prices import Usage, calc_price

    provider_id = _GENAI_PRICES_PROVIDER.get(provider)
    if provider_id is None:
        return None
    try:
        found = calc_price(Usage(input_tokens=0, output_tokens=0), model, provider_id=provider_id)
    except LookupError:
        log.info("no catalogue price", extra={"provider": provider, "model": model})
        return None
    return found.provider, found.model
