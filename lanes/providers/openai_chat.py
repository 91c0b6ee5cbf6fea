"""The OpenAI Chat Completions adapter, for api.openai.com and for OpenAI-compatible servers.

One ``openai.OpenAI`` client per provider instance (it pools connections and is thread safe),
built with ``max_retries=0`` so every attempt is visible to the engine and the audit trail; each
call runs under the request's own timeout as a deadline for the whole call
(``lanes.providers.deadline``). SDK exceptions are mapped here, at the edge, into
``lanes.providers.errors`` with ``raise ... from e`` (by ``lanes.providers.classify``'s rules) so
nothing above this package sees them. The 200 body is read from the raw response and checked
against ``bodies.ChatCompletionBody`` rather than trusted to the SDK's unvalidated objects.

``openai`` asks for ``max_completion_tokens`` (what current OpenAI models require);
``openai_compatible`` servers (Ollama, vLLM, llama.cpp) get the older ``max_tokens``, the one
parameter all of them honour.

A missing API key is not an error at build time: lanebot must start and serve its other tiers.
The call fails with an ``AuthError`` that names the variable to set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import openai

from lanes.config import ModelSpec
from lanes.providers._http import (
    SdkErrors,
    finish_failure,
    read_json,
    safe_message,
)
from lanes.providers.base import Completion, CompletionRequest
from lanes.providers.bodies import ChatChoice, ChatCompletionBody, parse_body
from lanes.providers.deadline import deadline, http_client
from lanes.providers.errors import AuthError, ContentPolicyError, TransientError

log = logging.getLogger(__name__)

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
NO_KEY_PLACEHOLDER = "not-needed"
"""Sent to OpenAI-compatible servers that need no key: the SDK insists on some key."""

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
        self._errors = SdkErrors(
            endpoint, openai.APIStatusError, openai.APITimeoutError, openai.APIConnectionError, now
        )
        self._client: openai.OpenAI | None = None
        if endpoint.api_key is not None:
            self._client = openai.OpenAI(
                api_key=endpoint.api_key,
                base_url=endpoint.base_url,
                max_retries=0,
                timeout=endpoint.default_timeout_s,
                http_client=http_client(endpoint.default_timeout_s),
            )

    def complete(self, request: CompletionRequest) -> Completion:
        label = f"{self._endpoint.name} {request.model}"
        if self._client is None:
            raise AuthError(f"{self._endpoint.key_hint} is not set; export it or run with --offline")
        try:
            with deadline(request.timeout_s):
                raw = self._client.chat.completions.with_raw_response.create(**self._arguments(request))
                content = raw.http_response.content
        except openai.OpenAIError as exc:
            error = self._errors.from_sdk(exc, label, request.timeout_s)
            log.debug(
                "chat completion failed", extra={"model": request.model, "reason_code": error.reason_code}
            )
            raise error from exc
        return self._completion(read_json(content, label, status=raw.status_code), label)

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

    def _completion(self, data: Any, label: str) -> Completion:
        """The answer as the provider reported it; refusals, error envelopes and empty or
        unreadable answers become errors."""
        if isinstance(data, dict) and "error" in data and "choices" not in data:
            raise self._errors.failure(None, data, {}, label, "an error with no message")
        body = parse_body(ChatCompletionBody, data, label)
        if not body.choices:
            raise TransientError(f"{label} answered with no choices", reason_code="empty_answer")
        choice = body.choices[0]
        usage = body.usage
        return Completion(
            text=_answer_text(choice, label),
            model_answered=body.model or "",
            response_id=body.id or None,
            input_tokens=usage.prompt_tokens if usage is not None else None,
            output_tokens=usage.completion_tokens if usage is not None else None,
            finish_reason=choice.finish_reason,
        )


_OUT_OF_TOKENS = "; it ran out of output tokens (reasoning models spend them first): raise max_output_tokens"


def _answer_text(choice: ChatChoice, label: str) -> str:
    """The choice's text; a refusal, a content filter stop or an empty answer is an error."""
    if choice.message.refusal:
        raise ContentPolicyError(f"{label} refused: {safe_message(choice.message.refusal)}")
    why = (
        "the provider's content filter stopped the answer"
        if choice.finish_reason == "content_filter"
        else f"the answer stopped with finish_reason {choice.finish_reason}"
    )
    stopped = finish_failure(choice.finish_reason, label=label, why=why)
    if stopped is not None:
        raise stopped
    text = choice.message.content or ""
    if not text.strip():
        raise TransientError(
            f"{label} answered with empty content (finish_reason={choice.finish_reason})"
            + (_OUT_OF_TOKENS if choice.finish_reason == "length" else ""),
            reason_code="empty_answer",
        )
    return text
