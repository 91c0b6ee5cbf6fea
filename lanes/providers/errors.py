"""Provider failures, mapped from SDK exceptions and unreadable answers at the adapter edge.

ProviderError(message, reason_code, status_code)
├── TransientError       worth one try on the fallback model
│   reason codes: timeout, connection, rate_limited, server_error, empty_answer,
│   malformed_response (a 2xx we cannot read), adapter_error (a bug in an adapter or an SDK)
│   (rate_limited carries retry_after_s when the provider sent Retry-After)
├── ContextLengthError   the input does not fit the model's window: escalate to a larger one
├── ContentPolicyError   the provider refused on policy: a human decides (reason kept)
├── ConfigFaultError     the tier's credentials or account: fall back only onto other credentials,
│   │                    and tell the lane's owners (``RunObserver.config_fault``)
│   └── AuthError        reason auth: the key is missing, rejected (401) or not allowed (403)
│       └── QuotaError   reason quota: the account is out of quota or credit (402, billing)
└── BadRequestError      any other 4xx (reason bad_request, model_not_found): never retried

Which error a provider's answer becomes is decided by ``lanes.providers.classify`` (one table for
every wire protocol); what the engine does next with each class is ``classify.next_step``.
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
    """Timeouts, resets, 429, 5xx, empty or unreadable answers: one try on the fallback, never a
    silent retry."""

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


class ConfigFaultError(ProviderError):
    """Something only a person can fix in the tier's configuration or account; retrying the same
    credentials cannot help, so it is never counted as the model being unhealthy."""

    reason_code = "config_fault"


class AuthError(ConfigFaultError):
    reason_code = "auth"


class QuotaError(AuthError):
    """Out of quota or credit. A subclass of ``AuthError`` because both are "fix the account"."""

    reason_code = "quota"


class BadRequestError(ProviderError):
    reason_code = "bad_request"
