"""Redaction of secrets and personal data before text is stored, logged or sent to a model.

    Redactor            secrets + emails, phones, cards (Luhn), IBANs (checksum), via presidio;
                        built once per process, shared by threads, fails closed
    RedactingFilter     logging.Filter: secrets only, regex only, for every log handler
    scrub_secrets       the same secret rules as a function, for text that needs no presidio

Replacement tokens name the family and nothing of the value: ``[EMAIL]``, ``[PHONE]``, ``[CARD]``,
``[IBAN]``, ``[SECRET:openai]``, ``[SECRET:anthropic]``, ``[SECRET:slack]``, ``[SECRET:aws]``,
``[SECRET:github]``, ``[SECRET:jwt]``, ``[SECRET:private_key]`` and ``[SECRET]`` for the value of a
``password=`` / ``token:`` / ``"api_key": "…"`` style setting or a URL's ``user:password@``
(``[REDACTED]`` for any other entity an injected analyzer reports).

Importing this package is cheap; presidio (and spaCy under it) is imported when a ``Redactor``
is built.
"""

from storage.redaction._logging import RedactingFilter
from storage.redaction._redactor import (
    DEFAULT_PHONE_REGIONS,
    Analyzer,
    AnalyzerResult,
    Redactor,
    RedactorSetupError,
)
from storage.redaction._secrets import SECRET_RULES, SecretRule, scrub_secrets
from storage.redaction._spans import Redacted

__all__ = [
    "DEFAULT_PHONE_REGIONS",
    "SECRET_RULES",
    "Analyzer",
    "AnalyzerResult",
    "Redacted",
    "RedactingFilter",
    "Redactor",
    "RedactorSetupError",
    "SecretRule",
    "scrub_secrets",
]
