"""One model call, turned into an audit ``Attempt`` whatever happens.

The caller always gets an ``Attempt`` back (with the completion, or with the mapped provider
error) and never an exception from a provider, because a failing model is an outcome to record
and route around, not a crash. Adapters map what they expect (``lanes.providers.errors``);
anything else they raise (a bug in an adapter or an SDK) is caught here, at the edge, and becomes
a transient ``adapter_error``: logged with its traceback at debug level only (an exception's text
may quote the request), recorded by type name, and worth one try on the fallback.

Failed attempts carry no tokens and no cost: they were not completions, so they are not billed
as such.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from lanes.config import ModelSpec
from lanes.pricing import cost_usd
from lanes.providers.base import Completion, CompletionRequest, Provider
from lanes.providers.errors import ProviderError, TransientError
from lanes.values import Attempt, AttemptKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    completion: Completion | None = None
    error: ProviderError | None = None


@dataclass(frozen=True)
class PromptText:
    system: str
    prompt: str


class AttemptRunner:
    """Calls a tier's provider and measures, prices and classifies the call."""

    def __init__(
        self,
        models: Mapping[str, ModelSpec],
        providers: Mapping[str, Provider],
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        scrub: Callable[[str], str] = str,
    ) -> None:
        """``scrub`` removes secrets from a provider's error text before it travels on (the engine
        passes its redactor's ``redact_secrets``): providers echo requests in their errors."""
        self._models = models
        self._scrub = scrub
        self._providers = providers
        self._clock = clock
        self._monotonic = monotonic

    def call(
        self, kind: AttemptKind, tier: str, text: PromptText, *, max_output_tokens: int, json_output: bool
    ) -> AttemptResult:
        spec = self._models[tier]
        request = CompletionRequest(
            model=spec.model,
            system=text.system,
            prompt=text.prompt,
            max_output_tokens=max_output_tokens,
            timeout_s=spec.timeout_s,
            json_output=json_output,
        )
        started_at, started = self._clock(), self._monotonic()
        try:
            completion = self._providers[tier].complete(request)
        except ProviderError as exc:
            latency = (self._monotonic() - started) * 1000
            log.warning("model call failed", extra={"tier": tier, "reason_code": exc.reason_code})
            exc.message = self._scrub(exc.message)  # it travels on: run error, reasons, Slack
            return AttemptResult(self._failed(kind, tier, spec, started_at, latency, exc), error=exc)
        except Exception as exc:  # the edge: nothing a provider raises may end the run
            latency = (self._monotonic() - started) * 1000
            error = unexpected_error(exc, tier, spec)
            error.message = self._scrub(error.message)
            return AttemptResult(self._failed(kind, tier, spec, started_at, latency, error), error=error)
        latency = (self._monotonic() - started) * 1000
        cost = _cost(spec, completion)
        attempt = Attempt(
            kind=kind,
            tier=tier,
            provider=spec.provider,
            model_requested=spec.model,
            outcome="ok",
            started_at=started_at,
            latency_ms=latency,
            model_answered=completion.model_answered,
            response_id=completion.response_id,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=cost,
            price_known=cost is not None,
            finish_reason=completion.finish_reason,
            cost_estimated=completion.offline_sample,
        )
        return AttemptResult(attempt, completion=completion)

    @staticmethod
    def _failed(
        kind: AttemptKind,
        tier: str,
        spec: ModelSpec,
        started_at: datetime,
        latency: float,
        exc: ProviderError,
    ) -> Attempt:
        return Attempt(
            kind=kind,
            tier=tier,
            provider=spec.provider,
            model_requested=spec.model,
            outcome="failed",
            started_at=started_at,
            latency_ms=latency,
            reason_code=exc.reason_code,
            error=exc.message[:500],
        )


def unexpected_error(exc: Exception, tier: str, spec: ModelSpec) -> TransientError:
    """A ``ProviderError`` for an exception no adapter mapped; its text is not kept (it may quote
    the prompt or a key), only its type."""
    name = type(exc).__name__
    log.warning("model call raised unexpectedly", extra={"tier": tier, "error_type": name})
    log.debug("model call raised unexpectedly", extra={"tier": tier}, exc_info=exc)
    return TransientError(
        f"the {spec.provider} adapter failed unexpectedly ({name}) calling {spec.model}; "
        "this is a lanebot bug: please report it with the run id",
        reason_code="adapter_error",
    )


def _cost(spec: ModelSpec, completion: Completion) -> float | None:
    """The call's price, ``None`` (unknown) if the pricing catalogue cannot say: a draft is never
    lost to a pricing failure."""
    try:
        return cost_usd(spec, completion.input_tokens, completion.output_tokens)
    except Exception:
        log.warning("pricing failed; the cost is recorded as unknown", extra={"model": spec.model})
        return None
