"""Secrets and personal data of every family lanebot must redact, planted by the leak tests.

The values are unique to these tests, so finding one anywhere the product writes (a database, a
log line) means it leaked; ``tests.leak_scan`` looks for them after the whole suite."""

from __future__ import annotations

PLANTED = {
    "openai": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "anthropic": "sk-ant-api03-Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1",
    "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "aws": "AKIAIOSFODNN7EXAMPLQ",
    "github": "ghp_aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "password": "hunter2-Sup3rS3cret!",
    "email": "dana.smith@example.org",
    "phone": "+1 415 555 0132",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
}
PRIVATE_KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"

EVERY_PLANTED_VALUE = {**PLANTED, "private_key": PRIVATE_KEY_BODY}
"""Family → value, for scans."""


def planted_request() -> str:
    """A request carrying one value of every family, as a careless user might paste it."""
    return (
        f"Customer {PLANTED['email']} (call {PLANTED['phone']}) paid with {PLANTED['card']}, "
        f"IBAN {PLANTED['iban']}. "
        f"Debug: OPENAI={PLANTED['openai']} ANTHROPIC={PLANTED['anthropic']} slack {PLANTED['slack']} "
        f"aws {PLANTED['aws']} gh {PLANTED['github']} jwt {PLANTED['jwt']} password={PLANTED['password']}\n"
        f"-----BEGIN PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END PRIVATE KEY-----"
    )
