"""The OpenAI Chat Completions adapter, for api.openai.com and for OpenAI-compatible servers.

One ``openai.OpenAI`` client per provider instance (it pools connections and is thread safe),
built with ``max_retries=0`` so every attempt is visible to the engine and the audit trail; each
call passes the request's own timeout. SDK exceptions are mapped here, at the edge, into
``lanes.providers.errors`` with ``raise ... from e`` so nothing above this package sees them; so
is a 200 whose body is not a readable answer (``_http.unreadable_answer``: one try on the fallback).

``openai`` asks for ``max_completion_tokens`` (what current OpenAI models require);
``openai_compatible`` servers (Ollama, vLLM, llama.cpp) get the older ``max_tokens``, the one
parameter all of them honour.

A missing API key is not an error at build time: lanebot must start and serve its other tiers.
The call fails with an ``AuthError`` that names the variable to set.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import openai

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

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
NO_KEY_PLACEHOLDER = "not-needed"
"""Sent to OpenAI-compatible servers that need no key: the SDK insists on some key."""

_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_POLICY_CODES = frozenset({"content_policy_violation", "content_filter", "invalid_prompt"})
_CONTEXT_TEXT = re.compile(
    r"maximum context length|context (?:length|window)|prompt is too long|too many (?:input )?tokens", re.I
)

TokenParam = Literal["max_completion_tokens", "max_tokens"]


@dataclass(frozen=True)
class OpenAIEndpoint:
    """Where and how to reach a Chat Completions endpoint; ``api_key`` None means "not configured"."""

    name: str
    base_url: str
    api_key: str | None
    key_hint: str
    token_param: TokenParam = "max_completion_tokens"
    default_timeout_s: float = 30.0


def openai_provider(spec: ModelSpec, env: Mapping[str, str]) -> OpenAIChatProvider:
    """api.openai.com or ``OPENAI_BASE_URL`` (a gateway); key from ``api_key_env`` or ``OPENAI_API_KEY``."""
    key_env = spec.api_key_env or "OPENAI_API_KEY"
    base_url = spec.base_url or env.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL
    endpoint = OpenAIEndpoint(
        "openai", base_url, env.get(key_env) or None, key_env, default_timeout_s=spec.timeout_s
    )
    return OpenAIChatProvider(endpoint)


def openai_compatible_provider(spec: ModelSpec, env: Mapping[str, str]) -> OpenAIChatProvider:
    """A self-hosted server at ``base_url``; a key only when ``api_key_env`` names one."""
    assert spec.base_url is not None  # enforced by ModelSpec validation
    key = (env.get(spec.api_key_env) if spec.api_key_env else None) or NO_KEY_PLACEHOLDER
    hint = spec.api_key_env or f"the key the server at {spec.base_url} expects (set api_key_env)"
    endpoint = OpenAIEndpoint(
        "openai_compatible",
        spec.base_url,
        key,
        hint,
        token_param="max_tokens",
        default_timeout_s=spec.timeout_s,
    )
    return OpenAIChatProvider(endpoint)


class OpenAIChatProvider:
    """``Provider`` over the Chat Completions API."""

    def __init__(self, endpoint: OpenAIEndpoint, *, now: Callable[[], float] = time.time) -> None:
        self._endpoint = endpoint
        self._now = now
        self._client: openai.OpenAI | None = None
        if endpoint.api_key is not None:
            self._client = openai.OpenAI(
                api_key=endpoint.api_key,
                base_url=endpoint.base_url,
                max_retries=0,
                timeout=endpoint.default_timeout_s,
            )

    def complete(self, request: CompletionRequest) -> Completion:
        label = f"{self._endpoint.name} {request.model}"
        if self._client is None:
            raise AuthError(f"{self._endpoint.key_hint} is not set; export it or run with --offline")
        try:
            response = self._client.chat.completions.create(**self._arguments(request))
            return _completion(response, label)
        except openai.OpenAIError as exc:
            error = self._map_error(exc, label, request.timeout_s)
            log.debug(
                "chat completion failed", extra={"model": request.model, "reason_code": error.reason_code}
            )
            raise error from exc
        except UNREADABLE_ANSWER as exc:
            raise unreadable_answer(exc, label) from exc

    def _arguments(self, request: CompletionRequest) -> dict[str, Any]:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        arguments: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            self._endpoint.token_param: request.max_output_tokens,
            "timeout": request.timeout_s,
        }
        if request.json_output:
            arguments["response_format"] = {"type": "json_object"}
        return arguments

    def _map_error(self, exc: openai.OpenAIError, label: str, timeout_s: float) -> ProviderError:
        if isinstance(exc, openai.APIStatusError):
            return self._map_status(exc, label)
        return transport_error(
            exc,
            timeout=openai.APITimeoutError,
            connection=openai.APIConnectionError,
            label=label,
            timeout_s=timeout_s,
            base_url=self._endpoint.base_url,
        )

    def _map_status(self, exc: openai.APIStatusError, label: str) -> ProviderError:
        status, code = exc.status_code, exc.code
        secrets = (self._endpoint.api_key or "",)
        message = safe_message(_provider_message(exc), secrets)
        if code in _CONTEXT_CODES or (status in (400, 413) and _CONTEXT_TEXT.search(message)):
            return ContextLengthError(
                f"{label}: the input does not fit the model: {message}", status_code=status
            )
        if code in _POLICY_CODES:
            return ContentPolicyError(f"{label} refused on content policy: {message}", status_code=status)
        if status == 429 and code == "insufficient_quota":
            return AuthError(
                f"{label}: the account is out of quota: {message}; "
                f"check billing for {self._endpoint.key_hint}",
                status_code=status,
            )
        retry_after = retry_after_seconds(exc.response.headers, self._now) if status == 429 else None
        return status_error(
            status, message, label=label, key_hint=self._endpoint.key_hint, retry_after_s=retry_after
        )


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


def _completion(response: Any, label: str) -> Completion:
    """The answer as the provider reported it; refusals and empty answers become errors."""
    if not response.choices:
        raise TransientError(f"{label} answered with no choices", reason_code="empty_answer")
    choice = response.choices[0]
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise ContentPolicyError(f"{label} refused: {safe_message(refusal)}")
    if choice.finish_reason == "content_filter":
        raise ContentPolicyError(f"{label}: the provider's content filter stopped the answer")
    text = choice.message.content or ""
    if not text.strip():
        hint = "; it ran out of output tokens (reasoning models spend them first): raise max_output_tokens"
        raise TransientError(
            f"{label} answered with empty content (finish_reason={choice.finish_reason})"
            + (hint if choice.finish_reason == "length" else ""),
            reason_code="empty_answer",
        )
    usage = response.usage
    return Completion(
        text=text,
        model_answered=response.model or "",
        response_id=response.id or None,
        input_tokens=usage.prompt_tokens if usage is not None else None,
        output_tokens=usage.completion_tokens if usage is not None else None,
        finish_reason=choice.finish_reason,
    )
