"""One classifier for what a provider said, and one table for what the engine does about it.

Every wire protocol reports a failure as the same few facts: an HTTP status (``None`` when an
error envelope arrives inside a 2xx), an error code and type, and a message. OpenAI, Azure
OpenAI, Anthropic, vLLM, Ollama and the gateways in front of them spell these differently, so the
rules below are data: each names the error kind it stands for, the statuses it applies to, and
the codes or message words that identify it. The first rule that matches wins, so specific codes
come before status defaults, and status defaults before the catch-all.

    facts (WireError) --RULES--> Kind --ERRORS--> ProviderError subclass (lanes.providers.errors)
    ProviderError --STEPS--> Step (what lanes.execution does next, whatever the attempt's position)

Why some rules look only at words: providers do not give every condition a code. Anthropic says
"prompt is too long" and "input length and `max_tokens` exceed context limit" as a plain
``invalid_request_error``; vLLM says "This model's maximum context length is N tokens"; Anthropic
blocks output with "Output blocked by content filtering policy". Words are trusted only on
statuses that carry a request problem (4xx other than 401/403/429, 500, or a 2xx envelope), so a
rate-limit message that mentions tokens is never taken for a context overflow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lanes.providers.errors import (
    AuthError,
    BadRequestError,
    ConfigFaultError,
    ContentPolicyError,
    ContextLengthError,
    ProviderError,
    QuotaError,
    TransientError,
)


class Kind(StrEnum):
    """What a provider's failure means; the value is the audit trail's ``reason_code``."""

    CONTEXT_LENGTH = "context_length"
    CONTENT_POLICY = "content_policy"
    AUTH = "auth"
    QUOTA = "quota"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    MODEL_NOT_FOUND = "model_not_found"
    BAD_REQUEST = "bad_request"


@dataclass(frozen=True)
class WireError:
    """The facts of one failure, whatever the protocol: ``codes`` holds the lower-cased error
    code, type, Azure ``innererror.code`` and Anthropic ``details.error_code`` that were present."""

    status: int | None
    message: str
    codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rule:
    """``kind`` when the status is in ``statuses`` (``None``: any) and one of ``codes`` is present
    or ``words`` occur in the message; a rule with neither codes nor words matches on status."""

    kind: Kind
    statuses: frozenset[int | None] | None = None
    codes: frozenset[str] = frozenset()
    words: re.Pattern[str] | None = None

    def matches(self, error: WireError) -> bool:
        if self.statuses is not None and error.status not in self.statuses:
            return False
        if not self.codes and self.words is None:
            return True
        return bool(self.codes & error.codes) or bool(self.words and self.words.search(error.message))


def _statuses(*values: int | None, also: range = range(0)) -> frozenset[int | None]:
    return frozenset((*values, *also))


_ENVELOPE = _statuses(None)
_REQUEST_PROBLEM = _statuses(None, 400, 404, 409, 413, 422, 500)
"""Where a message's words are trusted (see the module docstring)."""
_SERVER = _statuses(409, also=range(500, 600))
"""409 is a conflict the providers ask clients to retry, like a 5xx."""

_CONTEXT_WORDS = re.compile(
    r"maximum context length|context[\s_-]*(?:length|window)[\s_-]*(?:exceeded|is \d)"
    r"|prompt is too long|exceeds?\s+(?:the\s+)?(?:model'?s?\s+)?(?:maximum\s+)?context"
    r"|input length and\s+`?max_tokens`?\s+exceed context limit|too many (?:input )?tokens",
    re.I,
)
_POLICY_WORDS = re.compile(
    r"content[\s_-]*(?:management[\s_-]*|filtering[\s_-]*)?polic|content[\s_-]*filter"
    r"|output blocked|safety system|usage polic|responsibleaipolicyviolation",
    re.I,
)
_QUOTA_WORDS = re.compile(
    r"credit balance is too low|exceeded your current quota|insufficient[\s_-]*quota"
    r"|billing (?:hard )?limit|payment required",
    re.I,
)
_NOT_FOUND_WORDS = re.compile(r"model\b.*\b(?:not found|does not exist)|try pulling it first", re.I)

RULES: tuple[Rule, ...] = (
    Rule(
        Kind.CONTEXT_LENGTH,
        codes=frozenset(
            {"context_length_exceeded", "string_above_max_length", "model_context_window_exceeded"}
        ),
    ),
    Rule(
        Kind.CONTENT_POLICY,
        codes=frozenset(
            {"content_filter", "content_policy_violation", "invalid_prompt", "responsibleaipolicyviolation"}
        ),
    ),
    Rule(
        Kind.QUOTA,
        codes=frozenset(
            {"insufficient_quota", "billing_error", "billing_hard_limit_reached", "billing_not_active"}
        ),
    ),
    Rule(Kind.QUOTA, statuses=_statuses(402)),
    Rule(Kind.QUOTA, statuses=_REQUEST_PROBLEM | _statuses(403, 429), words=_QUOTA_WORDS),
    Rule(Kind.AUTH, statuses=_statuses(401, 403)),
    Rule(
        Kind.AUTH,
        statuses=_ENVELOPE,
        codes=frozenset({"invalid_api_key", "authentication_error", "permission_error"}),
    ),
    Rule(Kind.CONTEXT_LENGTH, statuses=_REQUEST_PROBLEM, words=_CONTEXT_WORDS),
    Rule(Kind.CONTENT_POLICY, statuses=_REQUEST_PROBLEM, words=_POLICY_WORDS),
    Rule(Kind.RATE_LIMITED, statuses=_statuses(429)),
    Rule(
        Kind.RATE_LIMITED,
        statuses=_ENVELOPE,
        codes=frozenset({"rate_limit_exceeded", "rate_limit_error"}),
    ),
    Rule(Kind.TIMEOUT, statuses=_statuses(408, 504)),
    Rule(Kind.TIMEOUT, statuses=_ENVELOPE, codes=frozenset({"timeout_error"})),
    Rule(Kind.SERVER_ERROR, statuses=_SERVER),
    Rule(
        Kind.SERVER_ERROR,
        statuses=_ENVELOPE,
        codes=frozenset({"overloaded_error", "api_error", "server_error", "internal_server_error"}),
    ),
    Rule(Kind.MODEL_NOT_FOUND, statuses=_statuses(404)),
    Rule(
        Kind.MODEL_NOT_FOUND,
        statuses=_REQUEST_PROBLEM,
        codes=frozenset({"model_not_found", "not_found_error"}),
        words=_NOT_FOUND_WORDS,
    ),
    Rule(Kind.SERVER_ERROR, statuses=_ENVELOPE),
    Rule(Kind.BAD_REQUEST),
)

FINISH_REASONS: Mapping[str, Kind] = {
    "content_filter": Kind.CONTENT_POLICY,
    "refusal": Kind.CONTENT_POLICY,
    "model_context_window_exceeded": Kind.CONTEXT_LENGTH,
}
"""A 2xx answer that stopped for one of these reasons is that failure, not a draft (OpenAI and
Azure ``finish_reason``, Anthropic ``stop_reason``)."""


def classify(error: WireError) -> Kind:
    """The first rule of ``RULES`` that ``error`` matches."""
    return next(rule.kind for rule in RULES if rule.matches(error))


# --- from facts to the error the engine routes on -------------------------------------------------
@dataclass(frozen=True)
class _Wording:
    error: type[ProviderError]
    text: str
    """Formatted with label, http, message, key_hint and wait."""


ERRORS: Mapping[Kind, _Wording] = {
    Kind.CONTEXT_LENGTH: _Wording(ContextLengthError, "{label}: the input does not fit the model: {message}"),
    Kind.CONTENT_POLICY: _Wording(ContentPolicyError, "{label} refused on content policy: {message}"),
    Kind.AUTH: _Wording(AuthError, "{label} refused the credentials ({http}): {message}; check {key_hint}"),
    Kind.QUOTA: _Wording(
        QuotaError,
        "{label}: the account is out of quota or credit ({http}): {message}; check billing for {key_hint}",
    ),
    Kind.RATE_LIMITED: _Wording(TransientError, "{label} is rate limiting us ({http}){wait}: {message}"),
    Kind.TIMEOUT: _Wording(TransientError, "{label} timed out ({http}): {message}"),
    Kind.SERVER_ERROR: _Wording(TransientError, "{label} had a server error ({http}): {message}"),
    Kind.MODEL_NOT_FOUND: _Wording(
        BadRequestError,
        "{label} does not serve this model ({http}): {message}; "
        "check the model name and base_url in lanes.toml (for Ollama: ollama pull)",
    ),
    Kind.BAD_REQUEST: _Wording(
        BadRequestError,
        "{label} rejected the request ({http}): {message}; check the model name and lanes.toml",
    ),
}


def error_for(
    kind: Kind,
    wire: WireError,
    *,
    label: str,
    key_hint: str,
    message: str,
    retry_after_s: float | None = None,
) -> ProviderError:
    """The ``ProviderError`` for ``kind``, worded for people; ``message`` is the provider's own
    text, already made safe (``_http.safe_message``)."""
    wording = ERRORS[kind]
    http = f"HTTP {wire.status}" if wire.status is not None else "an error inside a 200 answer"
    wait = f"; it asked to wait {retry_after_s:g}s" if retry_after_s is not None else ""
    text = wording.text.format(label=label, http=http, message=message, key_hint=key_hint, wait=wait)
    if issubclass(wording.error, TransientError):
        return TransientError(
            text, reason_code=kind.value, status_code=wire.status, retry_after_s=retry_after_s
        )
    return wording.error(text, reason_code=kind.value, status_code=wire.status)


def wire_error(status: int | None, body: object, fallback_message: str) -> WireError:
    """The facts of a failure from a parsed error body of any known shape: ``{"error": {...}}``
    (OpenAI, Azure, Anthropic, newer vLLM), the error object itself (what the openai SDK keeps of
    it), ``{"object": "error", ...}`` (older vLLM), ``{"error": "text"}`` (Ollama), or text."""
    error: Any = body
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping | str):
        error = body["error"]
    if isinstance(error, str):
        return WireError(status, _plain(error) or fallback_message)
    if not isinstance(error, Mapping):
        return WireError(status, fallback_message)
    message = error.get("message")
    inner, details = error.get("innererror"), error.get("details")
    found = (
        error.get("code"),
        error.get("type"),
        inner.get("code") if isinstance(inner, Mapping) else None,
        details.get("error_code") if isinstance(details, Mapping) else None,
    )
    codes = frozenset(code.lower() for code in found if isinstance(code, str) and code)
    return WireError(status, message if isinstance(message, str) and message else fallback_message, codes)


_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def _plain(text: str) -> str:
    """Text fit for a message: an HTML page (a proxy's error page) becomes its title or its text."""
    if "<" not in text or ">" not in text:
        return text.strip()
    title = _TITLE.search(text)
    found = title.group(1) if title else _TAG.sub(" ", text)
    return f"an HTML page: {' '.join(found.split())}"


# --- what the engine does next ------------------------------------------------------------------
class Step(StrEnum):
    """The next step after a failed attempt, the same whatever attempt it was (first try, honoured
    retry, fallback or escalation). ``lanes.execution`` applies the limits that keep a run short:
    one retry, one fallback and one escalation per run at most."""

    FALLBACK = "fallback"
    """Transient: one try on the lane's fallback (after waiting out a Retry-After that fits)."""
    ESCALATE = "escalate"
    """Context length: the escalation model, if its window is larger."""
    HUMAN = "human"
    """A policy refusal: a person decides, with the provider's reason."""
    FALLBACK_ON_OTHER_CREDENTIALS = "fallback_on_other_credentials"
    """A configuration fault: the fallback only if it uses another provider or key; owners told."""
    FAIL = "fail"
    """Nothing another model could fix: the run fails with the reason."""


STEPS: tuple[tuple[type[ProviderError], Step], ...] = (
    (TransientError, Step.FALLBACK),
    (ContextLengthError, Step.ESCALATE),
    (ContentPolicyError, Step.HUMAN),
    (ConfigFaultError, Step.FALLBACK_ON_OTHER_CREDENTIALS),
    (BadRequestError, Step.FAIL),
)


def next_step(error: ProviderError) -> Step:
    """What to do after ``error``: the first class in ``STEPS`` it is an instance of."""
    return next((step for cls, step in STEPS if isinstance(error, cls)), Step.FAIL)
