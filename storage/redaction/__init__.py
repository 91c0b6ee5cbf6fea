"""Redaction of secrets and personal data before text is stored, logged or sent to a model.

    Redactor            every family of the rules table: secrets, national identifiers, VAT
                        numbers, emails, phones, cards (Luhn), IBANs; built once per process,
                        shared by threads, fails closed
    RedactingFilter     logging.Filter: the secret rules only, for every log handler
    scrub_secrets       the same secret rules as a function (drafts shown in Slack)
    RULES               the one table of families (``docs/redaction.md`` is generated from it)

Replacement tokens name the family and nothing of the value: ``[EMAIL]``, ``[PHONE]``, ``[CARD]``,
``[IBAN]``, ``[ID:us_ssn]`` and the like for national identifiers, ``[ID:vat]``,
``[SECRET:openai]``, ``[SECRET:stripe]``… for provider credentials, ``[SECRET]`` for a URL's
password or the value of a ``password=`` / ``STRIPE_KEY:`` / ``"api_key": "…"`` style setting
(``[REDACTED]`` for any other entity an injected analyzer reports).

Importing this package is cheap (no python-phonenumbers, no python-stdnum): those load when a
``Redactor`` is built, the secret rules' expressions when they are first used.
"""

from storage.redaction._logging import RedactingFilter
from storage.redaction._redactor import (
    DEFAULT_PHONE_REGIONS,
    Analyzer,
    AnalyzerResult,
    Redactor,
    RedactorSetupError,
)
from storage.redaction._rules import RULES, SECRET_RULES, Rule
from storage.redaction._secrets import scrub_secrets
from storage.redaction._spans import Redacted

__all__ = [
    "DEFAULT_PHONE_REGIONS",
    "RULES",
    "SECRET_RULES",
    "Analyzer",
    "AnalyzerResult",
    "Redacted",
    "RedactingFilter",
    "Redactor",
    "RedactorSetupError",
    "Rule",
    "scrub_secrets",
]
