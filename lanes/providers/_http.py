"""What the HTTP adapters share: statuses and transport failures as errors, Retry-After, safe text.

Both SDKs report an HTTP failure as a status code, a provider message and headers. Which codes
are worth a fallback (429, 5xx including Anthropic's 529) and which need a person (401/403, other
4xx) is the same for every provider, so that rule lives here once; each adapter first looks for
its own provider's special cases (context length, content policy) and then defers to
``status_error``.

Provider messages are kept because they often name the real cause, but they go into the audit
trail and onto Slack, so secrets in them (a provider may echo a key, a password, a token from the
request) are scrubbed with the redactor's secret rules, anything shaped like an API key is masked,
and the text is bounded.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit, urlunsplit

from lanes.providers.errors import AuthError, BadRequestError, ProviderError, TransientError

MAX_MESSAGE_CHARS = 300
_KEY_SHAPED = re.compile(r"\b(?:sk|pk|rk|key)[-_][A-Za-z0-9_\-*.]{6,}")


def safe_message(text: object, secrets: tuple[str, ...] = ()) -> str:
    """The provider's message, bounded and with keys masked. The engine also runs every attempt's
    error through the redactor (``lanes.attempts.AttemptRunner``) before it is recorded."""
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


def status_error(
    status: int,
    message: str,
    *,
    label: str,
    key_hint: str,
    retry_after_s: float | None = None,
) -> ProviderError:
    """The error for an HTTP failure that is not one of the provider's special cases.

    ``label`` names the endpoint ("openai gpt-5-mini"), ``key_hint`` the setting to fix on 401/403.
    """
    if status in (401, 403):
        return AuthError(
            f"{label} refused the credentials (HTTP {status}): {message}; check {key_hint}",
            status_code=status,
        )
    if status == 429:
        wait = f"; it asked to wait {retry_after_s:g}s" if retry_after_s is not None else ""
        return TransientError(
            f"{label} is rate limiting us (HTTP 429){wait}: {message}",
            reason_code="rate_limited",
            status_code=status,
            retry_after_s=retry_after_s,
        )
    if status == 408:
        return TransientError(
            f"{label} timed out (HTTP 408): {message}", reason_code="timeout", status_code=status
        )
    if status >= 500:
        return TransientError(
            f"{label} had a server error (HTTP {status}): {message}",
            reason_code="server_error",
            status_code=status,
        )
    return BadRequestError(
        f"{label} rejected the request (HTTP {status}): {message}; check the model name and lanes.toml",
        status_code=status,
    )


UNREADABLE_ANSWER: tuple[type[Exception], ...] = (ValueError, TypeError, AttributeError, KeyError, IndexError)
"""What reading an HTTP 200 that is not the promised answer raises: ``json.JSONDecodeError`` (a
``ValueError``) inside the SDK for a body cut off or not JSON at all, and the others in an adapter's
``_completion`` for JSON of the wrong shape (both SDKs build response objects without validating
them). Each adapter turns these into ``unreadable_answer`` at its edge."""


def unreadable_answer(exc: Exception, label: str) -> TransientError:
    """An answer whose body could not be read: like a 5xx, worth one try on the fallback."""
    return TransientError(
        f"{label} sent an answer we could not read ({type(exc).__name__}: {safe_message(exc)})",
        reason_code="server_error",
    )


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
    return TransientError(
        f"{label} sent a response we could not read: {safe_message(exc)}", reason_code="server_error"
    )
