"""Phone numbers: python-phonenumbers' matcher, only in the regions that could match, retried next
to other numbers.

* **Valid numbers only.** ``PhoneNumberMatcher`` at leniency VALID: the number must be one the
  region's metadata allows (length and prefix), which keeps dates and order numbers out.
* **Only the phone regions that could match.** The matcher scans the whole text once per region;
  a region where a number as long as the text's longest run of digits cannot be valid is skipped
  (``_phone_regions``): an order number and a date no longer cost seven full matcher passes.
* **Phones next to other numbers.** python-phonenumbers reads ``+44 20 7946 0958 10am`` or
  ``(415) 555-0132 2 times`` as one too-long candidate and reports nothing. For each short run of
  digits it left unclaimed, we ask again about the run alone, then without up to three
  blank-separated groups at its end and/or its start (``ref 12 020 7946 0958``), widest first.

Importing this module imports phonenumbers (~20 ms): the redactor does so when it is built.
"""

from __future__ import annotations

import inspect
import re

import phonenumbers

from storage.redaction._detectors import Hit
from storage.redaction._phone_regions import PhoneRegions

# Digits with the punctuation phone numbers are written with, on one line.
_NUMBER_RUN = re.compile(r"[+(]*\d[\d \t().\-/]*\d")
_ASCII_NUMBER_RUN = re.compile(r"[+(]*[0-9][0-9 \t().\-/]*[0-9]")  # the same, for ASCII text
_BLANKS = re.compile(r"[ \t]+")
_DIGIT = re.compile(r"\d")
_MIN_RUN_DIGITS = 7  # a run with fewer digits cannot hide a full number plus a neighbour
_MAX_RUN = 64  # a phone with three groups of neighbours on each side; longer runs are tables
_LENIENCY = phonenumbers.Leniency.VALID
# python-phonenumbers' own option (not in libphonenumber) to skip candidates before parsing them.
_SKIPS_SHORT_CANDIDATES = (
    "min_candidate_length" in inspect.signature(phonenumbers.PhoneNumberMatcher).parameters
)


class PhoneFinder:
    """Spans of the phone numbers in a text; holds no mutable state, so threads may share it."""

    def __init__(self, regions: tuple[str, ...]) -> None:
        self._possible = PhoneRegions.build(regions)  # VALID counts no local-only lengths

    def __call__(self, text: str) -> list[Hit]:
        spans = self._phones(text)
        for run in (_ASCII_NUMBER_RUN if text.isascii() else _NUMBER_RUN).finditer(text):
            if not _worth_retrying(run.group(), max_length=None):  # nor is any piece of it
                continue
            pending = _unclaimed(text, run, spans)
            while pending:  # a find leaves only strictly shorter pieces to look at, so this ends
                piece = pending.pop()
                found = self._retry(piece) if _worth_retrying(piece.group()) else []
                if found:
                    spans.extend(found)
                    pending.extend(_unclaimed(text, piece, found))
        return spans

    def _retry(self, run: re.Match[str]) -> list[Hit]:
        digits, blanks = run.group(), [m.span() for m in _BLANKS.finditer(run.group())]
        # A cut at the start only where a number is written in full (trunk 0, +, or area code in
        # parentheses): any 10 digits from the middle of a longer run may pass as some number.
        starts = [0] + [cut for _, cut in blanks[:3] if digits[cut] in "0+("]
        ends = [len(digits)] + [cut for cut, _ in reversed(blanks[-3:])]
        windows = sorted(((s, e) for s in starts for e in ends if s < e), key=lambda w: w[0] - w[1])
        for start, end in windows:
            found = self._phones(digits[start:end])
            if found:
                offset = run.start() + start
                return [(s + offset, e + offset) for s, e in found]
        return []

    def _phones(self, text: str) -> list[Hit]:
        """Every number valid in one of the regions possible for ``text``, each span once."""
        spans: dict[Hit, None] = {}
        for region, fewest_digits in self._possible.possible_with_bounds(text):
            # A candidate has at least as many characters as digits: shorter ones cannot be valid.
            shortest = {"min_candidate_length": fewest_digits} if _SKIPS_SHORT_CANDIDATES else {}
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=_LENIENCY, **shortest):
                spans[(match.start, match.end)] = None
        return list(spans)


def _unclaimed(text: str, run: re.Match[str], spans: list[Hit]) -> list[re.Match[str]]:
    """The parts of a run of digits that no phone number found so far covers."""
    claimed = sorted((s, e) for s, e in spans if s < run.end() and run.start() < e)
    pieces: list[re.Match[str]] = []
    cursor = run.start()
    for start, end in [*claimed, (run.end(), run.end())]:
        if start > cursor:
            pieces.extend(_NUMBER_RUN.finditer(text, cursor, start))
        cursor = max(cursor, end)
    return pieces


def _worth_retrying(run: str, max_length: int | None = _MAX_RUN) -> bool:
    """Short runs of several groups: a single group was judged as it stands (``ID4155550132``)."""
    return (
        (max_length is None or len(run) <= max_length)
        and _BLANKS.search(run) is not None
        and len(_DIGIT.findall(run)) >= _MIN_RUN_DIGITS
    )
