"""Which phone regions could match anything in a text: the phone pass skips the others.

The phone detector runs python-phonenumbers' matcher once per region (seven by default), and
each run scans the whole text and parses every digit group it finds: most of the redactor's
time on ordinary support mail, where the only digits are an order number and a date. A number is
only *valid* in a region (the leniency the redactor uses) if its national significant number has one
of the lengths the region's metadata allows, and every digit of that number is written in the
text. So a region whose shortest valid number has more digits than any run of digits in the text
can match nothing there, and is skipped. The bound per region is the smallest of:

- **national form**: the shortest ``possible_length`` of any region sharing its country code
  (a national number typed for GB may be a Jersey number), less any digits the region's
  ``national_prefix_transform_rule`` writes itself;
- **international form with the region's exit code** (``00 49 …``, ``011 44 …``): the shortest
  exit code it dials plus the shortest country code + national number anywhere;
- **with a ``+``** anywhere in the text: the shortest country code + national number anywhere.

"Anywhere" is taken as one digit of country code plus ``MIN_NATIONAL_DIGITS``, the fewest digits
any region's national number has (``tests/test_redaction.py`` checks it against every region's
metadata). That is a lower bound of the exact figure (6), so it skips a little less, and it needs
no metadata: computing the exact figure loads all ~245 regions' metadata, ~50 ms at every start.

A "run" is maximal digits joined by at most four non-digit characters: python-phonenumbers joins
digit blocks by at most four punctuation characters, so each of its candidates lies within one run
(a run may be longer; that only costs time). Everything is computed from the installed metadata
when the redactor is built; ``tests/test_phone_regions.py`` checks the bounds against phonenumbers'
own matcher on example numbers of every region and on random text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

_RUN = re.compile(r"\d(?:\D{0,4}\d)*")
_DIGIT = re.compile(r"\d")
# The same for ASCII text, where ``[0-9]`` finds the same digits without a Unicode lookup per character.
_ASCII_RUN = re.compile(r"[0-9](?:[^0-9]{0,4}[0-9])*")
_PLUS = ("+", "\uff0b")  # phonenumbers' PLUS_CHARS
_RULE_LITERAL_DIGIT = re.compile(r"(?<![\\$])\d")  # a digit a transform rule writes, not a group reference
_MAX_EXIT_CODE_PROBE = 3
#: The shortest national number any region's metadata allows (AT, DE, LU...): fewer digits, no phone.
MIN_NATIONAL_DIGITS = 4
_SHORTEST_COUNTRY_CODE = 1


@dataclass(frozen=True)
class PhoneRegions:
    """The fewest digits a valid number needs in each region, with and without a ``+`` in the text."""

    regions: tuple[str, ...]
    without_plus: tuple[int, ...]
    with_plus: tuple[int, ...]

    @classmethod
    def build(cls, regions: Sequence[str], *, local_lengths: bool = False) -> PhoneRegions:
        """``local_lengths``: count local-only lengths too (for a leniency below VALID)."""
        shortest_anywhere = _shortest_anywhere(local_lengths)
        without, with_plus = [], []
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region(region)
            national = _national_bound(metadata, local_lengths) if metadata is not None else 1
            dialled = _exit_code_digits(metadata) + shortest_anywhere if metadata is not None else 1
            without.append(min(national, dialled))
            with_plus.append(min(national, dialled, shortest_anywhere))
        return cls(tuple(regions), tuple(without), tuple(with_plus))

    def possible(self, text: str) -> tuple[str, ...]:
        """The regions in which some number in ``text`` could be valid, in the configured order."""
        return tuple(region for region, _ in self.possible_with_bounds(text))

    def possible_with_bounds(self, text: str) -> list[tuple[str, int]]:
        """``possible``, each region with the fewest digits a valid number there has in ``text``."""
        digits = max(map(_digits, (_ASCII_RUN if text.isascii() else _RUN).findall(text)), default=0)
        bounds = self.with_plus if any(plus in text for plus in _PLUS) else self.without_plus
        return [
            (region, bound) for region, bound in zip(self.regions, bounds, strict=True) if digits >= bound
        ]


def _digits(run: str) -> int:
    return sum(map(run.count, "0123456789")) if run.isascii() else len(_DIGIT.findall(run))


def _shortest_anywhere(local_lengths: bool) -> int:
    """Fewest digits of country code + national number (a lower bound, see the module docstring)."""
    if not local_lengths:
        return _SHORTEST_COUNTRY_CODE + MIN_NATIONAL_DIGITS
    return min(  # local-only lengths have no such bound: the exact figure, from all the metadata
        len(str(code)) + length
        for code in COUNTRY_CODE_TO_REGION_CODE
        if (length := _shortest_national(code, local_lengths)) is not None
    )


# The fewest national digits under the calling codes of ``DEFAULT_PHONE_REGIONS``, as computed by
# ``_shortest_national`` from the metadata of the python-phonenumbers version named. Computing it
# loads the metadata of every region sharing the code (25 for +1): ~10 ms at every start. Another
# installed version computes it afresh; ``tests/test_phone_regions.py`` holds the two equal.
KNOWN_SHORTEST_NATIONAL = ("9.0.43", {1: 7, 33: 9, 44: 7, 49: 4, 55: 8, 91: 8, 972: 7})


def _shortest_national(code: int, local_lengths: bool) -> int | None:
    version, known = KNOWN_SHORTEST_NATIONAL
    if not local_lengths and code in known and phonenumbers.__version__ == version:
        return known[code]
    return shortest_national_from_metadata(code, local_lengths)


def shortest_national_from_metadata(code: int, local_lengths: bool) -> int | None:
    """The shortest ``possible_length`` of any region sharing the calling code ``code``."""
    lengths = [
        length
        for region in COUNTRY_CODE_TO_REGION_CODE[code]
        if (metadata := PhoneMetadata.metadata_for_region_or_calling_code(code, region)) is not None
        for length in _lengths(metadata, local_lengths)
    ]
    return min(lengths, default=None)


def _lengths(metadata: PhoneMetadata, local_lengths: bool) -> list[int]:
    desc = metadata.general_desc
    if desc is None:
        return []
    local = list(desc.possible_length_local_only or ()) if local_lengths else []
    return [length for length in (*(desc.possible_length or ()), *local) if length > 0]


def _national_bound(metadata: PhoneMetadata, local_lengths: bool) -> int:
    code = metadata.country_code
    shortest = _shortest_national(code, local_lengths) if code is not None else None
    if shortest is None:
        return 1  # no metadata to reason with: never skip the region
    written = len(_RULE_LITERAL_DIGIT.findall(metadata.national_prefix_transform_rule or ""))
    return max(1, shortest - written)


def _exit_code_digits(metadata: PhoneMetadata) -> int:
    """The fewest digits of an exit code the region dials (its ``international_prefix`` pattern)."""
    pattern = metadata.international_prefix
    if not pattern:
        return 0
    compiled = re.compile(pattern)
    for length in range(1, _MAX_EXIT_CODE_PROBE + 1):
        if any(compiled.fullmatch("".join(d)) for d in itertools.product("0123456789", repeat=length)):
            return length
    return _MAX_EXIT_CODE_PROBE + 1  # nothing shorter matched, so at least this many
