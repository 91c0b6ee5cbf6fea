"""The Anthropic Messages adapter.

Same contract as the OpenAI adapter: one ``anthropic.Anthropic`` client per provider instance,
``max_retries=0`` (every attempt is audited, none hidden in the SDK), the request's own timeout
as a deadline for the whole call, SDK exceptions mapped here with ``raise ... from e`` by
``lanes.providers.classify``'s rules, and the 200 body checked against ``bodies.MessageBody``.

Anthropic reports some outcomes in a 200 response rather than as an HTTP error: a policy refusal
is ``stop_reason: "refusal"`` (with ``stop_details`` saying why) and running out of context is
``stop_reason: "model_context_window_exceeded"``. Both become the same errors as their OpenAI
counterparts so routing treats the providers alike. Overloaded (HTTP 529) is a server error;
"Output blocked by content filtering policy" (a 400) is a policy refusal.

The Messages API has no JSON mode switch; for ``json_output`` requests the system prompt gains
one sentence asking for a bare JSON object, and the lane's schema check does the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anthropic

from lanes.config import ModelSpec
from lanes.providers._http import (
    SdkErrors,
    finish_failure,
    malformed,
    read_json,
)
from lanes.providers.base import Completion, CompletionRequest
from lanes.providers.bodies import MessageBody, MessageUsage, parse_body
from lanes.providers.deadline import deadline, http_client
from lanes.providers.errors import AuthError, TransientError

log = logging.getLogger(__name__)

ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com"
JSON_INSTRUCTION = "Answer with one JSON object only: no prose before or after it, no code fences."


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
        self._errors = SdkErrors(
            endpoint, anthropic.APIStatusError, anthropic.APITimeoutError, anthropic.APIConnectionError, now
        )
        self._client: anthropic.Anthropic | None = None
        if endpoint.api_key is not None:
            # An explicit api_key and base_url keep the SDK from reading credentials or profiles
            # from the process environment: the injected ``env`` is the only source.
            self._client = anthropic.Anthropic(
                api_key=endpoint.api_key,
                base_url=endpoint.base_url,
                max_retries=0,
                timeout=endpoint.default_timeout_s,
                http_client=http_client(endpoint.default_timeout_s),
            )

    def complete(self, request: CompletionRequest) -> Completion:
        label = f"anthropic {request.model}"
        if self._client is None:
            raise AuthError(f"{self._endpoint.key_hint} is not set; export it or run with --offline")
        try:
            with deadline(request.timeout_s):
                raw = self._client.messages.with_raw_response.create(**_arguments(request))
                content = raw.http_response.content
        except anthropic.AnthropicError as exc:
            error = self._errors.from_sdk(exc, label, request.timeout_s)
            log.debug(
                "messages call failed", extra={"model": request.model, "reason_code": error.reason_code}
            )
            raise error from exc
        return self._completion(read_json(content, label, status=raw.status_code), label)

    def _completion(self, data: Any, label: str) -> Completion:
        """The answer as Anthropic reported it; refusals, overflows, error envelopes and empty or
        unreadable answers become errors."""
        if isinstance(data, dict) and (
            data.get("type") == "error" or ("error" in data and "content" not in data)
        ):
            raise self._errors.failure(None, data, {}, label, "an error with no message")
        message = parse_body(MessageBody, data, label)
        stopped = finish_failure(message.stop_reason, label=label, why=_stop_why(message))
        if stopped is not None:
            raise stopped
        text = message.text()
        if text is None:
            raise malformed(label, "JSON of the wrong shape (content: a text block without text)")
        if not text.strip():
            raise TransientError(
                f"{label} answered with empty content (stop_reason={message.stop_reason})",
                reason_code="empty_answer",
            )
        usage = message.usage
        return Completion(
            text=text,
            model_answered=message.model or "",
            response_id=message.id or None,
            input_tokens=_input_tokens(usage) if usage is not None else None,
            output_tokens=usage.output_tokens if usage is not None else None,
            finish_reason=message.stop_reason,
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


def _stop_why(message: MessageBody) -> str:
    """Why the answer stopped, in the provider's words where it gave any."""
    if message.stop_reason == "model_context_window_exceeded":
        return "the answer ran past the model's context window"
    details = message.stop_details
    why = (details.explanation or details.category) if details is not None else None
    return why or "no reason given"


def _input_tokens(usage: MessageUsage) -> int:
    """Billed input: fresh tokens plus those written to and read from the prompt cache."""
    return (
        usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    )
