"""What the HTTP adapters share: failures as errors, unreadable answers, Retry-After, safe text.

Both SDKs report an HTTP failure as a status code, a body and headers; ``status_failure`` turns
that into a ``ProviderError`` with the one rule table of ``lanes.providers.classify``, so every
provider's 429, 529, "prompt is too long" or content filter is routed alike. A 2xx is read by
the adapters themselves (``read_json``, then their pydantic body models): an empty body, an HTML
page from a proxy or JSON cut off mid-way is a ``malformed_response``, worth one try on the
fallback, never a crash.

Provider messages are kept because they often name the real cause, but they go into the audit
trail and onto Slack, so secrets in them (a provider may echo a key, a password, a token from the
request) are scrubbed with the redactor's secret rules by the engine at the attempt edge
(``lanes.attempts``), anything shaped like an API key is masked here, and the text is bounded.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from lanes.providers.classify import FINISH_REASONS, Kind, WireError, classify, error_for, wire_error
from lanes.providers.errors import ProviderError, TransientError

MAX_MESSAGE_CHARS = 300
_KEY_SHAPED = re.compile(r"\b(?:sk|pk|rk|key)[-_][A-Za-z0-9_\-*.]{6,}")


def safe_message(text: object, secrets: tuple[str, ...] = ()) -> str:
    """The provider's message, bounded and with keys masked, fit for the audit trail."""
    message = " ".join(str(text or "").split())
    for secret in secrets:
        if secret:
            message = message.replace(secret, "[redacted key]")
    message = _KEY_SHAPED.sub("[redacted key]", message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message


def display_url(url: str) -> str:
    """``url`` without any ``user:password@`` part, for error messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def retry_after_seconds(headers: Mapping[str, str], now: Callable[[], float]) -> float | None:
    """Seconds the provider asked us to wait: ``retry-after-ms``, ``retry-after`` seconds or HTTP date.

    ``now`` is injected so an HTTP-date header is turned into seconds deterministically in tests.
    """
    millis = _number(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - now(), 0.0)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def status_failure(
    status: int | None,
    body: object,
    headers: Mapping[str, str],
    *,
    fallback_message: str,
    label: str,
    key_hint: str,
    secrets: tuple[str, ...],
    now: Callable[[], float],
) -> ProviderError:
    """The error for a failed HTTP answer (or an error envelope inside a 2xx, ``status`` None),
    classified by ``lanes.providers.classify``; ``label`` names the endpoint ("openai gpt-5-mini"),
    ``key_hint`` the setting to fix for credential and billing faults."""
    wire = wire_error(status, body, fallback_message)
    kind = classify(wire)
    retry_after = retry_after_seconds(headers, now) if kind is Kind.RATE_LIMITED else None
    message = safe_message(wire.message, secrets)
    return error_for(kind, wire, label=label, key_hint=key_hint, message=message, retry_after_s=retry_after)


def finish_failure(reason: str | None, *, label: str, why: str) -> ProviderError | None:
    """The error a 2xx answer stands for when it stopped on a refusal, a content filter or the end
    of the context window (``classify.FINISH_REASONS``), else ``None``."""
    kind = FINISH_REASONS.get(reason or "")
    if kind is None:
        return None
    wire = WireError(None, why)
    error = error_for(kind, wire, label=label, key_hint="", message=safe_message(why))
    error.status_code = 200
    return error


def malformed(label: str, what: str, *, status: int = 200) -> TransientError:
    """A 2xx we cannot read: worth one try on the fallback like any broken answer."""
    return TransientError(
        f"{label} answered HTTP {status} with {what}, not the answer its API documents; "
        "if base_url points through a proxy or gateway, check it",
        reason_code="malformed_response",
        status_code=status,
    )


def read_json(content: bytes, label: str, *, status: int = 200) -> Any:
    """The parsed body, or ``malformed`` saying what arrived instead (nothing, an HTML page, JSON
    cut off mid-way)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed(label, "a body that is not UTF-8 text", status=status) from None
    if not text.strip():
        raise malformed(label, "an empty body", status=status)
    try:
        return json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("<"):
            what = safe_message(wire_error(status, text, "").message)
            raise malformed(label, what, status=status) from None
        where = f"line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise malformed(label, f"JSON that breaks off or is invalid at {where or 'some point'}") from None


def transport_error(
    exc: Exception,
    *,
    timeout: type[Exception],
    connection: type[Exception],
    label: str,
    timeout_s: float,
    base_url: str,
) -> TransientError:
    """A failure with no HTTP status: the SDK's ``timeout`` error, its ``connection`` error, or a
    response it could not read. All three are worth one try on the fallback. (Both SDKs raise
    ``APITimeoutError``, a subclass of ``APIConnectionError``, for the first two.)"""
    if isinstance(exc, timeout):
        return TransientError(f"{label} did not answer within {timeout_s:g}s", reason_code="timeout")
    if isinstance(exc, connection):
        cause = safe_message(exc.__cause__ or "connection failed")
        return TransientError(
            f"could not reach {label} at {display_url(base_url)}: {cause}", reason_code="connection"
        )
    return malformed(label, f"a response the SDK could not read ({type(exc).__name__})")


class _Endpoint(Protocol):
    """What error mapping reads of an adapter's endpoint (both endpoints are frozen dataclasses)."""

    @property
    def base_url(self) -> str: ...

    @property
    def api_key(self) -> str | None: ...

    @property
    def key_hint(self) -> str: ...


@dataclass(frozen=True)
class SdkErrors:
    """One SDK's exceptions mapped to lanebot's ``ProviderError`` tree, for one endpoint.

    The OpenAI and Anthropic SDKs share their exception design (a status error with the body and
    headers, a timeout that subclasses the connection error); only the classes differ, so each
    adapter names its three and the mapping is written once."""

    endpoint: _Endpoint
    status_error: type[Exception]
    timeout_error: type[Exception]
    connection_error: type[Exception]
    now: Callable[[], float]

    def from_sdk(self, exc: Exception, label: str, timeout_s: float) -> ProviderError:
        if isinstance(exc, self.status_error):
            status, body = getattr(exc, "status_code", None), getattr(exc, "body", None)
            headers = getattr(getattr(exc, "response", None), "headers", {})
            return self.failure(status, body, headers, label, str(getattr(exc, "message", exc)))
        return transport_error(
            exc,
            timeout=self.timeout_error,
            connection=self.connection_error,
            label=label,
            timeout_s=timeout_s,
            base_url=self.endpoint.base_url,
        )

    def failure(
        self, status: int | None, body: object, headers: Mapping[str, str], label: str, fallback: str
    ) -> ProviderError:
        """A refused call (HTTP status, or an error envelope inside a 200) as its error."""
        return status_failure(
            status,
            body,
            headers,
            fallback_message=fallback,
            label=label,
            key_hint=self.endpoint.key_hint,
            secrets=(self.endpoint.api_key or "",),
            now=self.now,
        )
