"""Provider failures, mapped from SDK exceptions at the adapter edge.

ProviderError(reason_code, message)
├── TransientError       worth one try on the fallback model
│   reason codes: timeout, connection, rate_limited, server_error, empty_answer
│   (rate_limited carries retry_after_s when the provider sent Retry-After)
├── ContextLengthError   the input does not fit the model's window: escalate to a larger one
├── ContentPolicyError   the provider refused on policy: a human decides (reason kept)
├── AuthError            bad or missing key: fix the config, never retry
└── BadRequestError      any other 4xx: a bug or a misconfiguration, never retried
"""

from __future__ import annotations


class ProviderError(Exception):
    """A model call failed; ``reason_code`` is what the audit trail records."""

    reason_code = "provider_error"
    transient = False

    def __init__(
        self, message: str, *, reason_code: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        if reason_code is not None:
            self.reason_code = reason_code


class TransientError(ProviderError):
    """Timeouts, resets, 429, 5xx and empty answers: one try on the fallback, never a silent retry."""

    reason_code = "transient"
    transient = True

    def __init__(
        self,
        message: str,
        *,
        reason_code: str,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, reason_code=reason_code, status_code=status_code)
        self.retry_after_s = retry_after_s


class ContextLengthError(ProviderError):
    reason_code = "context_length"


class ContentPolicyError(ProviderError):
    reason_code = "content_policy"


class AuthError(ProviderError):
    reason_code = "auth"


class BadRequestError(ProviderError):
    reason_code = "bad_request"
