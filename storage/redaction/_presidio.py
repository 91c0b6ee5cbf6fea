"""Presidio's AnalyzerEngine, built to run offline, quietly and fast.

Why each piece is the way it is:

* **No NLP model.** lanebot detects only pattern-shaped data (secrets, emails, phones, cards,
  IBANs), which needs no named-entity model; presidio's default engine would try to load (and
  download) a spaCy model. ``NoOpNlpEngine`` is presidio's own engine for exactly this case.
* **No context enhancer.** Context words raise scores using tokens and lemmas, which a no-op
  engine does not produce; the default enhancer would only log "skipping" for every detection.
  Our detections are validated instead (Luhn, IBAN checksum, phone metadata, known TLDs).
* **Emails checked offline.** presidio's ``EmailRecognizer`` calls ``tldextract.extract``, whose
  first use fetches the Public Suffix List over HTTP and writes a cache under ``$HOME``;
  ``OfflineEmailRecognizer`` reads the list bundled with tldextract once, at build time.
* **Cards of 13–19 digits.** presidio's pattern covers 13–17 digits in 4-4-4-4 style groups,
  misses Amex/Diners grouping (4-6-5, 4-6-4) and 19-digit cards, and reports nothing when its
  one greedy match fails Luhn (``4111 1111 1111 1111 12/26``, ``ref 2024 4111 1111 1111 1111``).
  ``CardRecognizer`` keeps presidio's Luhn check and tries every run of digit groups instead.
* **Phones next to other numbers.** ``PhoneRunRecognizer`` is presidio's recognizer plus a
  retry for the numbers python-phonenumbers gives up on when other digits touch them.
* **Only the phone regions that could match.** The same recognizer asks python-phonenumbers only
  about the regions where a number as long as the text's longest run of digits could be valid
  (``_phone_regions``): an order number and a date no longer cost seven full matcher passes.
* **Secrets as a presidio recognizer.** The rules live in ``_secrets`` so the logging filter can
  share them; ``SecretRecognizer`` reports the value span of each rule (presidio's
  ``PatternRecognizer`` can only report whole matches, which would redact ``password=`` too).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress

import phonenumbers
import tldextract
from phonenumbers.phonenumberutil import NumberParseException
from presidio_analyzer import (
    AnalyzerEngine,
    ContextAwareEnhancer,
    EntityRecognizer,
    LocalRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
)

from storage.redaction._phone_regions import PhoneRegions
from storage.redaction._secrets import SECRET_RULES, secret_spans

LANGUAGE = "en"

# Digit groups of 3+ joined by single spaces or dashes, not touching other digits.
_DIGIT_RUN = re.compile(r"(?<!\d)\d{3,19}(?:[ -]\d{3,19})*(?!\d)")
_GROUP = re.compile(r"\d+")
_CARD_DIGITS = range(13, 20)
# Digits with the punctuation phone numbers are written with, on one line.
_NUMBER_RUN = re.compile(r"[+(]*\d[\d \t().\-/]*\d")
_BLANKS = re.compile(r"[ \t]+")
_DIGIT = re.compile(r"\d")
_MIN_RUN_DIGITS = 7  # a run with fewer digits cannot hide a full number plus a neighbour
_MAX_RUN = 64  # a phone with three groups of neighbours on each side; longer runs are tables
_URL_USERINFO_BEFORE = re.compile(r"://[^\s/@]*\Z")
_PRIVATE_TLDS = frozenset(
    {"local", "internal", "corp", "lan", "intranet", "home", "localdomain", "test", "example"}
)
_CARD_FIRST_DIGITS = "123456"  # UATP, Mastercard, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay


class CardRecognizer(CreditCardRecognizer):
    """presidio's Luhn check over every span of whole digit groups holding 13–19 digits.

    A run like ``2024 4111 1111 1111 1111`` yields the spans starting at each group, so the card
    is found whatever number sits next to it; a 20+ digit id is never split into a "card"."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = []
        for run in _DIGIT_RUN.finditer(text):
            groups = [(run.start() + g.start(), g.end() - g.start()) for g in _GROUP.finditer(run.group())]
            for first, (start, _) in enumerate(groups):
                if text[start] not in _CARD_FIRST_DIGITS:
                    continue
                digits = 0
                for end_start, length in groups[first:]:
                    digits += length
                    if digits in _CARD_DIGITS and self.validate_result(text[start : end_start + length]):
                        results.append(self._result(start, end_start + length))
                    if digits >= _CARD_DIGITS.stop:
                        break
        return results

    def _result(self, start: int, end: int) -> RecognizerResult:
        return RecognizerResult(self.supported_entities[0], start, end, EntityRecognizer.MAX_SCORE)


class SecretRecognizer(LocalRecognizer):
    """Runs lanebot's secret rules (``_secrets.SECRET_RULES``) inside presidio."""

    def __init__(self) -> None:
        super().__init__(supported_entities=[rule.entity for rule in SECRET_RULES], name="LanebotSecrets")

    def load(self) -> None:
        """Nothing to load: the rules are compiled regular expressions."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities)
        return [
            RecognizerResult(span.entity, span.start, span.end, EntityRecognizer.MAX_SCORE)
            for span in secret_spans(text)
            if span.entity in wanted
        ]


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's email pattern; the domain must end in a real top-level domain (or an intranet one).

    presidio asks tldextract for a registrable domain, which misses ``x@a.za`` (the list has only
    ``co.za``…) and reads a ``#`` or ``/`` in the local part as a URL fragment or path. We check
    the last label against every TLD in tldextract's bundled suffix list instead."""

    def __init__(self) -> None:
        suffixes = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True).tlds
        labels = {suffix.rpartition(".")[2].lower() for suffix in suffixes}
        punycode = {"xn--" + label.encode("punycode").decode() for label in labels if not label.isascii()}
        self._tlds = frozenset(labels | punycode | _PRIVATE_TLDS)
        super().__init__()

    def validate_result(self, pattern_text: str) -> bool:
        return pattern_text.rpartition(".")[2].lower() in self._tlds

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Emails, except the ``user:password@host`` of a URL, which is not one (the secret rules
        take the password and leave the host readable)."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not _URL_USERINFO_BEFORE.search(text, max(0, r.start - 256), r.start)]


class PhoneRunRecognizer(PhoneRecognizer):
    """presidio's phone recognizer, retried without the neighbouring numbers that hide a phone.

    python-phonenumbers reads ``+44 20 7946 0958 10am`` or ``(415) 555-0132 2 times`` as one
    too-long candidate and reports nothing. For each short run of digits it left unclaimed, we
    ask again about the run alone, then without up to three blank-separated groups at its end
    and/or its start (``ref 12 020 7946 0958``), widest window first.

    Each text (and each retried piece) is matched only in the regions ``PhoneRegions`` leaves
    possible for it; otherwise this is presidio's ``PhoneRecognizer.analyze``."""

    def __init__(self, *, supported_regions: Sequence[str], leniency: int = 1) -> None:
        super().__init__(supported_regions=tuple(supported_regions), leniency=leniency)
        self._leniency = leniency
        self._possible = PhoneRegions.build(self.supported_regions, local_lengths=leniency < 1)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = self._phones(text, nlp_artifacts)
        for run in _NUMBER_RUN.finditer(text):
            pending = _unclaimed(text, run, results)
            while pending:  # a find leaves only strictly shorter pieces to look at, so this ends
                piece = pending.pop()
                found = self._retry(piece, entities, nlp_artifacts) if _worth_retrying(piece.group()) else []
                if found:
                    results.extend(found)
                    pending.extend(_unclaimed(text, piece, found))
        return results

    def _retry(
        self, run: re.Match[str], entities: list[str], nlp_artifacts: NlpArtifacts | None
    ) -> list[RecognizerResult]:
        digits, blanks = run.group(), [m.span() for m in _BLANKS.finditer(run.group())]
        # A cut at the start only where a number is written in full (trunk 0, +, or area code in
        # parentheses): any 10 digits from the middle of a longer run may pass as some number.
        starts = [0] + [cut for _, cut in blanks[:3] if digits[cut] in "0+("]
        ends = [len(digits)] + [cut for cut, _ in reversed(blanks[-3:])]
        windows = sorted(((s, e) for s in starts for e in ends if s < e), key=lambda w: w[0] - w[1])
        for start, end in windows:
            found = self._phones(digits[start:end], nlp_artifacts)
            if found:
                offset = run.start() + start
                for result in found:
                    result.start, result.end = result.start + offset, result.end + offset
                return found
        return []

    def _phones(self, text: str, nlp_artifacts: NlpArtifacts | None) -> list[RecognizerResult]:
        """presidio's ``PhoneRecognizer.analyze`` (2.2), over the regions possible for ``text``."""
        results = []
        for region in self._possible.possible(text):
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=self._leniency):
                found_in: str | None = region
                with suppress(NumberParseException):  # presidio names the number's own region if it can
                    found_in = phonenumbers.region_code_for_number(
                        phonenumbers.parse(text[match.start : match.end])
                    )
                results.append(self._get_recognizer_result(match, text, found_in, nlp_artifacts))
        return EntityRecognizer.remove_duplicates(results)


def _unclaimed(text: str, run: re.Match[str], results: list[RecognizerResult]) -> list[re.Match[str]]:
    """The parts of a run of digits that no phone number found so far covers."""
    claimed = sorted((r.start, r.end) for r in results if r.start < run.end() and run.start() < r.end)
    pieces: list[re.Match[str]] = []
    cursor = run.start()
    for start, end in [*claimed, (run.end(), run.end())]:
        if start > cursor:
            pieces.extend(_NUMBER_RUN.finditer(text, cursor, start))
        cursor = max(cursor, end)
    return pieces


def _worth_retrying(run: str) -> bool:
    """Short runs of several groups: a single group was judged as it stands (``ID4155550132``)."""
    return (
        len(run) <= _MAX_RUN
        and _BLANKS.search(run) is not None
        and len(_DIGIT.findall(run)) >= _MIN_RUN_DIGITS
    )


class _NoContext(ContextAwareEnhancer):
    """Leaves scores alone: there are no tokens to find context words in (see module docstring)."""

    def __init__(self) -> None:
        super().__init__(0, 0, 0, 0)

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        return raw_results


def build_analyzer(phone_regions: Sequence[str]) -> AnalyzerEngine:
    """An AnalyzerEngine with the no-op NLP engine, our secret rules and four PII recognizers."""
    recognizers: list[EntityRecognizer] = [
        SecretRecognizer(),
        OfflineEmailRecognizer(),
        CardRecognizer(),
        IbanRecognizer(),
        PhoneRunRecognizer(supported_regions=tuple(phone_regions)),
    ]
    return AnalyzerEngine(
        registry=RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE]),
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}]),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=_NoContext(),
    )
