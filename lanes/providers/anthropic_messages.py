"""The Anthropic Messages adapter.

Same contract as the OpenAI adapter: one ``anthropic.Anthropic`` client per provider instance,
``max_retries=0`` (every attempt is audited, none hidden in the SDK), the request's own timeout
on each call, SDK exceptions mapped here with ``raise ... from e``.

Anthropic reports some outcomes in a 200 response rather than as an HTTP error: a policy refusal
is ``stop_reason: "refusal"`` (with ``stop_details`` saying why) and running out of context is
``stop_reason: "model_context_window_exceeded"``. Both become the same errors as their OpenAI
counterparts so routing treats the providers alike. Overloaded (HTTP 529) is a server error, and
so is a 200 whose body is not a readable answer (``_http.unreadable_answer``).

The Messages API has no JSON mode switch; for ``json_output`` requests the system prompt gains
one sentence asking for a bare JSON object, and the lane's schema check does the rest.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anthropic

from lanes.config import ModelSpec
from lanes.providers._http import (
    UNREADABLE_ANSWER,
    retry_after_seconds,
    safe_message,
    status_error,
    transport_error,
    unreadable_answer,
)
from lanes.providers.base import Completion, CompletionRequest
from lanes.providers.errors import (
    AuthError,
    ContentPolicyError,
    ContextLengthError,
    ProviderError,
    TransientError,
)

log = logging.getLogger(__name__)

ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com"
JSON_INSTRUCTION = "Answer with one JSON object only: no prose before or after it, no code fences."
_CONTEXT_TEXT = re.compile(r"prompt is too long|context window|too many (?:input )?tokens", re.I)


@dataclass(frozen=True)
class AnthropicEndpoint:
    """Where to reach the Messages API; ``api_key`` None means "not configured"."""

    base_url: str
    api_key: str | None
    key_hint: str
    default_timeout_s: float = 60.0


def anthropic_provider(spec: ModelSpec, env: Mapping[str, str]) -> AnthropicMessagesProvider:
    """api.anthropic.com or ``ANTHROPIC_BASE_URL``; key from ``api_key_env`` or ``ANTHROPIC_API_KEY``."""
    key_env = spec.api_key_env or "ANTHROPIC_API_KEY"
    base_url = spec.base_url or env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_DEFAULT_BASE_URL
    endpoint = AnthropicEndpoint(
        base_url, env.get(key_env) or None, key_env, default_timeout_s=spec.timeout_s
    )
    return AnthropicMessagesProvider(endpoint)


class AnthropicMessagesProvider:
    """``Provider`` over the Anthropic Messages API."""

    def __init__(self, endpoint: AnthropicEndpoint, *, now: Callable[[], float] = time.time) -> None:
        self._endpoint = endpoint
        self._now = now
        self._client: anthropic.Anthropic | None = None
        if endpoint.api_key is not None:
            # An explicit api_key and base_url keep the SDK from reading credentials or profiles
            # from the process environment: the injected ``env`` is the only source.
            self._client = anthropic.Anthropic(
                api_key=endpoint.api_key,
                base_url=endpoint.base_url,
                max_retries=0,
                timeout=endpoint.default_timeout_s,
            )

    def complete(self, request: CompletionRequest) -> Completion:
        label = f"anthropic {request.model}"
        if self._client is None:
            raise AuthError(f"{self._endpoint.key_hint} is not set; export it or run with --offline")
        try:
            message = self._client.messages.create(**_arguments(request))
            return _completion(message, label)
        except anthropic.AnthropicError as exc:
            error = self._map_error(exc, label, request.timeout_s)
            log.debug(
                "messages call failed", extra={"model": request.model, "reason_code": error.reason_code}
            )
            raise error from exc
        except UNREADABLE_ANSWER as exc:
            raise unreadable_answer(exc, label) from exc

    def _map_error(self, exc: anthropic.AnthropicError, label: str, timeout_s: float) -> ProviderError:
        if isinstance(exc, anthropic.APIStatusError):
            return self._map_status(exc, label)
        return transport_error(
            exc,
            timeout=anthropic.APITimeoutError,
            connection=anthropic.APIConnectionError,
            label=label,
            timeout_s=timeout_s,
            base_url=self._endpoint.base_url,
        )

    def _map_status(self, exc: anthropic.APIStatusError, label: str) -> ProviderError:
        status = exc.status_code
        message = safe_message(exc.api_message or exc.message, (self._endpoint.api_key or "",))
        if status in (400, 413) and _CONTEXT_TEXT.search(message):
            return ContextLengthError(
                f"{label}: the input does not fit the model: {message}", status_code=status
            )
        if status == 402 or exc.type == "billing_error":
            return AuthError(
                f"{label}: the account cannot be billed: {message}; "
                f"check billing for {self._endpoint.key_hint}",
                status_code=status,
            )
        retry_after = retry_after_seconds(exc.response.headers, self._now) if status == 429 else None
        return status_error(
            status, message, label=label, key_hint=self._endpoint.key_hint, retry_after_s=retry_after
        )


def _arguments(request: CompletionRequest) -> dict[str, Any]:
    system = request.system
    if request.json_output:
        system = f"{system}\n\n{JSON_INSTRUCTION}" if system else JSON_INSTRUCTION
    arguments: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_output_tokens,
        "messages": [{"role": "user", "content": request.prompt}],
        "timeout": request.timeout_s,
    }
    if system:
        arguments["system"] = system
    return arguments


def _completion(message: Any, label: str) -> Completion:
    """The answer as Anthropic reported it; refusals, overflows and empty answers become errors."""
    if message.stop_reason == "refusal":
        details = message.stop_details
        why = (details.explanation or details.category) if details is not None else None
        raise ContentPolicyError(
            f"{label} refused on content policy: {safe_message(why or 'no reason given')}"
        )
    if message.stop_reason == "model_context_window_exceeded":
        raise ContextLengthError(f"{label}: the answer ran past the model's context window")
    text = "".join(block.text for block in message.content if getattr(block, "type", None) == "text")
    if not text.strip():
        raise TransientError(
            f"{label} answered with empty content (stop_reason={message.stop_reason})",
            reason_code="empty_answer",
        )
    usage = message.usage
    input_tokens = (
        usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    )
    return Completion(
        text=text,
        model_answered=message.model or "",
        response_id=message.id or None,
        input_tokens=input_tokens,
        output_tokens=usage.output_tokens,
        finish_reason=message.stop_reason,
    )
