"""Secrets and personal data of every family lanebot must redact, planted by the leak tests.

The values are unique to these tests, so finding one anywhere the product writes (a database, a
log line) means it leaked; ``tests.leak_scan`` looks for them after the whole suite. The newer
families' values are assembled from parts (``"sk_" + "live_"``…) so that no secret scanner flags
this file.
"""

from __future__ import annotations

AZURE_ACCOUNT_KEY = (
    "Kq3vT8mZ1xR5nB7cW2yL9pD4fH6jA0sG3kE8uN1oI5tY7rM2wQ4zX6vC9bF1hJ3dS5gL7aP0eU2iO4nK6mT8xR1=="
)

PLANTED = {
    "openai": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "anthropic": "sk-ant-api03-Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1",
    "slack": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "aws": "AKIAIOSFODNN7EXAMPLQ",
    "github": "ghp_aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "password": "hunter2-Sup3rS3cret!",
    "stripe": "sk_" + "live_" + "51HqLyjWDarjtT1zdp7dcQx4Rv8Tn2Lm6Kp9",
    "google": "AI" + "za" + "SyD4eF6hIj8kLm0nOp2qRs4tUv6wXy8zAb1",
    "azure": AZURE_ACCOUNT_KEY,
    "npm": "np" + "m_" + "q7Wd2Rf9Tg4Yh6Uj1Ik3Ol5Pz8Xc0Vb2Nm4A",
    "pypi": "py" + "pi-AgEIcHlwaS5vcmc" + "CJDQ3ZTM1NzYtYjRmNi00ZDFiLWE0YTMtNmFhYjQ1NzA1ZTAxAAIqWzMsImY0YjI",
    "gitlab": "gl" + "pat-" + "xY7kP2mQ9vR4tW1zL8nB",
    "twilio": "S" + "K" + "3f9a1c7e5b2d8046a9c1e7f3b5d20486",
    "sendgrid": "S" + "G." + "Qx7Lm2Np9Rs4Tv6Wy1Zb3C.Dd5Ff7Hh9Jj1Kk3Mm5Pp7Rr9Tt1Vv3Xx5Zz7Bb9Cc1Ee",
    "keyed_secret": "Zq8Lm3Np6Rs9Tv2Wx5Yb7Cd0Ef",  # under STRIPE_KEY=, no provider format to go by
    "email": "dana.smith@example.org",
    "email_unicode": "síle.o’brien@example.ie",
    "phone": "+1 415 555 0132",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "ssn": "536-90-4399",
    "national_id": "RCCMNL83S18D969H",  # an Italian codice fiscale
}
PRIVATE_KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
#: Families that are personal data: stored redacted, but shown in Slack as the requester wrote them.
PERSONAL_FAMILIES = frozenset({"email", "email_unicode", "phone", "card", "iban", "ssn", "national_id"})

EVERY_PLANTED_VALUE = {
    **PLANTED,
    "private_key": PRIVATE_KEY_BODY,
    # What a redactor that stops at the typographic apostrophe leaves of the address: a name.
    "email_unicode (local part)": "síle.o’",
}
"""Family → value, for scans."""


def planted_request() -> str:
    """A request carrying one value of every family, as a careless user might paste it."""
    return (
        f"Customer {PLANTED['email']} (call {PLANTED['phone']}) paid with {PLANTED['card']}, "
        f"IBAN {PLANTED['iban']}, SSN {PLANTED['ssn']}, codice fiscale {PLANTED['national_id']}; "
        f"her colleague is {PLANTED['email_unicode']}. "
        f"Debug: OPENAI={PLANTED['openai']} ANTHROPIC={PLANTED['anthropic']} slack {PLANTED['slack']} "
        f"aws {PLANTED['aws']} gh {PLANTED['github']} jwt {PLANTED['jwt']} password={PLANTED['password']}\n"
        f"stripe {PLANTED['stripe']} maps {PLANTED['google']} npm {PLANTED['npm']} pypi {PLANTED['pypi']} "
        f"gitlab {PLANTED['gitlab']} twilio {PLANTED['twilio']} sendgrid {PLANTED['sendgrid']}\n"
        f"STRIPE_KEY={PLANTED['keyed_secret']}\n"
        "AZURE_STORAGE=DefaultEndpointsProtocol=https;AccountName=acme;"
        f"AccountKey={PLANTED['azure']};EndpointSuffix=core.windows.net\n"
        f"-----BEGIN PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END PRIVATE KEY-----"
    )
