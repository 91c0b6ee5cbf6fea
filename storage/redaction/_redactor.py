"""The full redactor: secrets and personal data, before text is stored or sent to a model.

Detection runs the rules table (``_rules``) in two passes. The first finds secrets, national
identifiers, emails, cards and IBANs and replaces them. The second looks for phone numbers in what
is left: python-phonenumbers is by far the slowest detector and its cost grows with every run of
digits it has to parse, so it runs on text whose card numbers, IBANs and identifiers are already
gone (and can no longer be mistaken for phones), and not at all when fewer digits remain than the
shortest valid national number has.

Redaction fails closed: ``redact_or_withhold`` returns ``(None, False)`` when anything goes wrong,
and the caller stores metadata only.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from typing import Protocol

from storage.redaction._analyzer import RuleAnalyzer, digit_count
from storage.redaction._detectors import Options
from storage.redaction._rules import RULES
from storage.redaction._secrets import scrub_secrets
from storage.redaction._spans import Redacted, Span, apply

log = logging.getLogger(__name__)

LANGUAGE = "en"
#: The regions whose numbering plans the phone pass knows: US, GB, DE, FR, IL, IN, BR (presidio's
#: defaults, less CA, which shares +1 numbering with US: the same matches, twice the cost).
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IL", "IN", "BR")
#: The shortest national number any region's metadata allows (AT, DE, LU...): fewer digits, no phone.
MIN_PHONE_DIGITS = 4
UNKNOWN_TOKEN = "[REDACTED]"

_FIRST_PASS = list(dict.fromkeys(rule.entity for rule in RULES if not rule.second_pass))
_SECOND_PASS = list(dict.fromkeys(rule.entity for rule in RULES if rule.second_pass))
# One value per kind of detector that loads something when built: expressions, the domain list,
# Luhn, python-phonenumbers. python-stdnum (identifiers, IBANs) is imported on a family's first
# candidate (~30 ms cold, most of it modules a bot process has loaded anyway); here we only check
# it is installed.
_SELF_TEST = {
    "ANTHROPIC_KEY": "sk-ant-" + "x" * 24,
    "EMAIL_ADDRESS": "a.b@example.com",
    "CREDIT_CARD": "4111 1111 1111 1111",
    "PHONE_NUMBER": "+1 415 555 0132",
}


class AnalyzerResult(Protocol):
    """What we read from a detection (read-only: a frozen dataclass or a named tuple will do)."""

    @property
    def entity_type(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...

    @property
    def score(self) -> float: ...


class Analyzer(Protocol):
    """What the redactor asks of a detector: the built-in ``RuleAnalyzer``; tests inject fakes."""

    def analyze(self, text: str, language: str, entities: list[str]) -> Sequence[AnalyzerResult]: ...


class RedactorSetupError(RuntimeError):
    """The analyzer was built but does not detect what it must; nothing should be stored through it."""


class Redactor:
    """Redacts secrets and personal data. Build once per process (a few tens of ms, most of it
    importing python-phonenumbers); after that it is safe to share between threads: it holds no
    mutable state but patterns compiled on first use and python-stdnum modules imported on first
    use, both of which a race at worst does twice."""

    def __init__(
        self,
        analyzer: Analyzer | None = None,
        *,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        verify: bool = True,
    ) -> None:
        """``analyzer`` defaults to the rules table (``RuleAnalyzer``); ``verify`` runs a self-test
        that every kind of detector works, and raises ``RedactorSetupError`` if one does not."""
        tokens: dict[str, tuple[str, int]] = {}
        for rank, rule in enumerate(RULES):
            tokens.setdefault(rule.entity, (rule.token, rank))
        self._tokens = tokens
        self._unknown = (UNKNOWN_TOKEN, len(RULES))
        self._analyzer: Analyzer = (
            RuleAnalyzer(RULES, Options(tuple(phone_regions))) if analyzer is None else analyzer
        )
        if verify:
            self._verify()

    def redact(self, text: str) -> Redacted:
        """Replace every detected value by a token; raises if detection fails (see ``redact_or_withhold``)."""
        first = apply(text, self._detect(text, _FIRST_PASS))
        if digit_count(first.text) < MIN_PHONE_DIGITS:
            return first
        phones = apply(first.text, self._detect(first.text, _SECOND_PASS))
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

    def _detect_raw(self, text: str, entities: list[str]) -> Sequence[AnalyzerResult]:
        return self._analyzer.analyze(text=text, language=LANGUAGE, entities=entities)

    def _detect(self, text: str, entities: list[str]) -> list[Span]:
        results = self._detect_raw(text, entities)
        return [
            Span(r.start, r.end, r.entity_type, *self._tokens.get(r.entity_type, self._unknown))
            for r in results
            if r.score > 0
        ]

    def _verify(self) -> None:
        """Proves each kind of detector works before anything is stored, and loads their lazy
        parts (phonenumbers' metadata of each region) before threads share them. Each value is
        run through its own family's rules only: the others would compile and load on a text
        that holds nothing for them."""
        missing = sorted(
            entity
            for entity, value in _SELF_TEST.items()
            if not any(r.entity_type == entity and r.score > 0 for r in self._detect_raw(value, [entity]))
        )
        if importlib.util.find_spec("stdnum") is None:
            missing.append("python-stdnum (not installed)")
        if missing:
            raise RedactorSetupError(
                f"the redactor's self-test did not detect {missing}; check the installed "
                "phonenumbers and python-stdnum versions against pyproject.toml"
            )
