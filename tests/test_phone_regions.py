"""The phone pass skips regions that cannot match (``storage.redaction._phone_regions``): checked
against python-phonenumbers' own matcher, which must find nothing in every region skipped, on the
example numbers of every region in every format and on random digit soup around them."""

from __future__ import annotations

from functools import cache

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from storage.redaction import DEFAULT_PHONE_REGIONS, Redactor
from storage.redaction._phone_regions import (
    KNOWN_SHORTEST_NATIONAL,
    PhoneRegions,
    _shortest_national,
    shortest_national_from_metadata,
)

VALID = 1  # python-phonenumbers' Leniency.VALID, the one the redactor uses


@cache
def regions() -> PhoneRegions:
    return PhoneRegions.build(DEFAULT_PHONE_REGIONS)


def finds(text: str, region: str) -> bool:
    return any(True for _ in phonenumbers.PhoneNumberMatcher(text, region, leniency=VALID))


def assert_skipped_regions_find_nothing(text: str) -> None:
    possible = regions().possible(text)
    for region in DEFAULT_PHONE_REGIONS:
        if region not in possible:
            assert not finds(text, region), f"{region} skipped but matches in {text!r}"


@cache
def example_numbers() -> list[PhoneNumber]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in vars(PhoneNumberType).values():
            if isinstance(kind, int) and (number := phonenumbers.example_number_for_type(region, kind)):
                numbers.append(number)
    return numbers


def written(number: PhoneNumber) -> list[str]:
    """The ways people write ``number``: national, international, E.164, dialled from each region."""
    forms = [
        phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
    ]
    forms += [phonenumbers.format_out_of_country_calling_number(number, r) for r in DEFAULT_PHONE_REGIONS]
    return sorted(set(forms))


def test_example_numbers_of_every_region_are_never_skipped_where_they_match() -> None:
    checked = 0
    for number in example_numbers():
        for form in written(number):
            assert_skipped_regions_find_nothing(f"Please call {form} after 10.")
            checked += 1
    assert checked > 2000


def test_ordinary_support_mail_needs_only_the_regions_with_short_numbers() -> None:
    text = "I was charged twice for order 48213 on 3 November. Thanks, Dana"

    assert regions().possible(text) == ("DE",)  # Germany has valid numbers of 4-6 digits
    assert regions().possible("No digits here at all.") == ()
    assert regions().possible("Call +1 415 555 0132") == DEFAULT_PHONE_REGIONS


def test_phones_are_still_redacted_in_every_default_region(redactor: Redactor) -> None:
    for region in DEFAULT_PHONE_REGIONS:
        number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        assert number is not None
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        result = redactor.redact(f"order 48213, my number is {national}, thanks")
        assert "PHONE_NUMBER" in result.findings, f"{region}: {national}"
        assert national not in result.text


_separators = st.sampled_from([" ", "-", ".", "/", " - ", "(", ") ", "  ", ", ", " on ", "x"])
_prefixes = st.sampled_from(["", "+", "00", "011", "0", "(0)", "+49 ", "00 44 "])


@st.composite
def digit_soup(draw: st.DrawFn) -> str:
    """Digit groups near an example number, or digits of one taken apart, in words."""
    number = draw(st.sampled_from(example_numbers()))
    digits = phonenumbers.national_significant_number(number)
    cut = draw(st.integers(0, len(digits)))
    groups = [draw(st.text("0123456789", min_size=1, max_size=6)) for _ in range(draw(st.integers(0, 3)))]
    pieces = [digits[:cut], *groups] if draw(st.booleans()) else [*groups, digits[cut:]]
    body = "".join(piece + draw(_separators) for piece in pieces if piece)
    return f"ref {draw(_prefixes)}{body}end"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digit_soup())
def test_random_digit_soup_is_never_skipped_where_it_matches(text: str) -> None:
    assert_skipped_regions_find_nothing(text)


@pytest.mark.parametrize("length", [1, 2, 3])
def test_every_short_digit_string_is_skipped_or_matches_nothing(length: int) -> None:
    """Below the smallest bound nothing is valid anywhere (exhaustive for 1-3 digits)."""
    for n in range(10**length):
        assert_skipped_regions_find_nothing(f"code {n:0{length}d} ok")


def test_the_recorded_shortest_national_lengths_are_the_metadata_s() -> None:
    """The start-up shortcut (``KNOWN_SHORTEST_NATIONAL``) says what the metadata says; after a
    phonenumbers upgrade, record the new figures (this test prints them) with the new version."""
    version, known = KNOWN_SHORTEST_NATIONAL
    codes = {phonenumbers.country_code_for_region(region) for region in DEFAULT_PHONE_REGIONS}
    computed = {code: shortest_national_from_metadata(code, local_lengths=False) for code in sorted(codes)}

    assert set(known) == codes
    if phonenumbers.__version__ == version:
        assert known == computed, f"record {computed} for {phonenumbers.__version__}"
    else:  # another version: the shortcut is not taken
        assert all(_shortest_national(code, local_lengths=False) == computed[code] for code in codes)
