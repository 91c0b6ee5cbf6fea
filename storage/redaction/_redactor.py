"""The full redactor: secrets and personal data, before text is stored or sent to a model.

Detection runs in two passes over presidio's analyzer. The first finds secrets, emails, cards and
IBANs and replaces them. The second looks for phone numbers in what is left: python-phonenumbers
is by far the slowest recognizer and its cost grows with every run of digits it has to parse, so
it runs on text whose card numbers and IBANs are already gone (and can no longer be mistaken for
phones), and not at all when fewer digits remain than the shortest valid national number has.

Redaction fails closed: ``redact_or_withhold`` returns ``(None, False)`` when anything goes wrong,
and the caller stores metadata only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

from storage.redaction._secrets import SECRET_RULES, scrub_secrets
from storage.redaction._spans import Redacted, Span, apply

log = logging.getLogger(__name__)

LANGUAGE = "en"
#: presidio's default regions minus CA, which shares +1 numbering with US (same matches, twice the cost).
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IL", "IN", "BR")
#: The shortest national number any region's metadata allows (AT, DE, LU...): fewer digits, no phone.
MIN_PHONE_DIGITS = 4
_MIN_CARD_DIGITS = 13
_MIN_IBAN_DIGITS = 2  # the check digits
_DIGIT = re.compile(r"\d")
# Order = precedence when spans overlap: an IBAN's checksum covers more than a card's Luhn digits.
_PII_TOKENS = {
    "IBAN_CODE": "[IBAN]",
    "CREDIT_CARD": "[CARD]",
    "EMAIL_ADDRESS": "[EMAIL]",
    "PHONE_NUMBER": "[PHONE]",
}
_SECRETS = tuple(rule.entity for rule in SECRET_RULES)
_WARM_UP = (
    "a.b@example.com 4111 1111 1111 1111 DE89 3704 0044 0532 0130 00 +1 415 555 0132 sk-ant-" + "x" * 24
)


class AnalyzerResult(Protocol):
    """What we read from a detection (presidio's ``RecognizerResult`` has these and more)."""

    entity_type: str
    start: int
    end: int
    score: float


class Analyzer(Protocol):
    """The slice of presidio's ``AnalyzerEngine`` we use; tests inject fakes through it."""

    def analyze(self, text: str, language: str, entities: list[str]) -> Sequence[AnalyzerResult]: ...


class RedactorSetupError(RuntimeError):
    """The analyzer was built but does not detect what it must; nothing should be stored through it."""


class Redactor:
    """Redacts secrets and personal data. Build once per process (setup takes about 1.5 s, mostly
    importing presidio and spaCy); after that it is safe to share between threads: it holds no
    mutable state, and its self-test has already loaded everything presidio loads lazily."""

    def __init__(
        self,
        analyzer: Analyzer | None = None,
        *,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        verify: bool = True,
    ) -> None:
        """``analyzer`` defaults to presidio built offline (see ``_presidio``); ``verify`` runs a
        self-test that every family is detected, and raises ``RedactorSetupError`` if one is not."""
        families = [(rule.entity, rule.token) for rule in SECRET_RULES] + list(_PII_TOKENS.items())
        self._tokens = {entity: (token, rank) for rank, (entity, token) in enumerate(families)}
        if analyzer is None:
            _quiet_presidio()
            from storage.redaction._presidio import build_analyzer  # heavy: imported only when built

            analyzer = build_analyzer(phone_regions)
        self._analyzer = analyzer
        if verify:
            self._verify()

    def redact(self, text: str) -> Redacted:
        """Replace every detected value by a token; raises if detection fails (see ``redact_or_withhold``)."""
        first = apply(text, self._detect(text, _first_pass(text)))
        if _digits(first.text) < MIN_PHONE_DIGITS:
            return first
        phones = apply(first.text, self._detect(first.text, ("PHONE_NUMBER",)))
        return Redacted(phones.text, first.findings + phones.findings)

    def redact_or_withhold(self, text: str) -> tuple[str | None, bool]:
        """``(redacted text, True)``, or ``(None, False)`` if redaction failed: store metadata only."""
        try:
            return self.redact(text).text, True
        except Exception as exc:  # fail closed whatever broke; the text itself is never logged
            log.error(
                "redaction failed, so only metadata is kept; fix the analyzer or file a bug",
                extra={"error_type": type(exc).__name__, "text_chars": len(text)},
            )
            return None, False

    def redact_secrets(self, text: str) -> str:
        """Secrets only, by regular expression: for drafts shown in Slack, where names and numbers
        the requester already sees may stay but a leaked credential may not."""
        return scrub_secrets(text).text

    def _detect(self, text: str, entities: Sequence[str]) -> list[Span]:
        results = self._analyzer.analyze(text=text, language=LANGUAGE, entities=list(entities))
        unknown = ("[REDACTED]", len(self._tokens))
        return [
            Span(r.start, r.end, r.entity_type, *self._tokens.get(r.entity_type, unknown))
            for r in results
            if r.score > 0
        ]

    def _verify(self) -> None:
        """First use loads presidio's lazy parts (compiled patterns, the suffix list) before any
        thread shares them, and proves every family is detected before anything is stored."""
        found = set(self.redact(_WARM_UP).findings)
        missing = {"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "PHONE_NUMBER", "ANTHROPIC_KEY"} - found
        if missing:
            raise RedactorSetupError(
                f"the redactor's self-test did not detect {sorted(missing)}; check the installed "
                "presidio-analyzer and phonenumbers versions against pyproject.toml"
            )


def _digits(text: str) -> int:
    return len(_DIGIT.findall(text))


def _first_pass(text: str) -> list[str]:
    """The entities this text can contain at all. An email needs an ``@``, a card 13 digits, an
    IBAN its 2 check digits: cheap necessary conditions that skip presidio's slowest patterns
    (the email regex costs more than all our secret rules together) on ordinary prose."""
    digits = _digits(text)
    entities = list(_SECRETS)
    if "@" in text:
        entities.append("EMAIL_ADDRESS")
    if digits >= _MIN_CARD_DIGITS:
        entities.append("CREDIT_CARD")
    if digits >= _MIN_IBAN_DIGITS:
        entities.append("IBAN_CODE")
    return entities


def _quiet_presidio() -> None:
    """presidio logs its device, every recognizer it loads and more at INFO, from import time on;
    keep that out of our logs unless an operator has set the ``presidio-analyzer`` level already."""
    logger = logging.getLogger("presidio-analyzer")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
