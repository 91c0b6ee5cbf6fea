"""Detectors for personal data whose shape a single regular expression cannot pin down.

* **E-mail addresses**, local parts and domains in any script (``zoë@…``, ``संपर्क@डाटामेल.भारत``,
  decomposed accents): a local part is letters, combining marks and digits of any script
  (``\\w`` alone misses marks and Indic vowel signs, and would leave half an address), any other
  non-ASCII character but blanks, brackets and sentence punctuation (RFC 6531: ``o’brien``,
  ``col·lega``), and of RFC 5322's ASCII specials ``. _ % + - '`` (the others end an address in
  URLs and query strings); ``@`` or a full-width ``＠``.
  The domain must end in a real top-level domain (``tlds.txt``, or an intranet one), which keeps
  ``icon@2x.png`` and ``X@W.shape`` in code intact. The ``user@`` of a URL is not an address (the
  secret rules take its password and leave the host readable).
* **Payment cards**: every span of whole digit groups holding 13–19 digits that starts like a
  card and passes Luhn, so a card is found whatever number sits next to it
  (``ref 2024 4111 1111 1111 1111``) and a 20+ digit id is never split into a "card".
* **IBANs**: a country code and two check digits, then up to 30 letters and digits (single spaces
  allowed); the longest prefix that passes ISO 7064 mod 97 and python-stdnum's ``iban`` (country
  length, BBAN structure, national check digits where stdnum knows them).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator

from storage.redaction._checks import LUHN, Stdnum
from storage.redaction._detectors import Finder, Hit, Options

# RFC 5322 allows more (``/ = ? & { }``…), but those end an address in URLs and query strings.
_LOCAL_SPECIALS = frozenset("._%+-'")
# RFC 6531 allows any non-ASCII character in a local part: ``o’brien``, ``col·lega``, ``ζωή♥``,
# ``👩‍💻dev`` (a zero-width joiner inside). Blanks, controls, brackets and sentence punctuation
# (``，。：`` in CJK text) end it; quotes and brackets before it are not part of it.
_NOT_LOCAL = frozenset({"Zs", "Zl", "Zp", "Cc", "Cs", "Co", "Cn", "Ps", "Pe"})
_SENTENCE_PUNCTUATION = frozenset("，。、：；！？…")
_LEADING = frozenset({"Pi", "Pf", "Po", "Pd"})
_AT_SIGNS = ("@", "\uff20")  # a full-width ＠ is what Japanese and Chinese keyboards type
_MAX_LOCAL = 64
_MAX_DOMAIN = 253
_URL_USERINFO_BEFORE = re.compile(r"://[^\s/@]*\Z")
_PRIVATE_TLDS = frozenset(
    {"local", "internal", "corp", "lan", "intranet", "home", "localdomain", "test", "example"}
)


def _word_char(char: str) -> bool:
    """A letter, combining mark or digit of any script, or a joiner (ZWJ, ZWNJ)."""
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Mc", "Me", "Cf")


def _local_char(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char in _LOCAL_SPECIALS
    return unicodedata.category(char) not in _NOT_LOCAL and char not in _SENTENCE_PUNCTUATION


def _leading(char: str) -> bool:
    """Punctuation before a local part's first letter belongs to the sentence: ``'ann@…'``, ``“ann@…``."""
    return char in _LOCAL_SPECIALS or (not char.isascii() and unicodedata.category(char) in _LEADING)


def load_tlds() -> frozenset[str]:
    """The top-level domains of the Public Suffix List (``tlds.txt``), in Unicode and punycode."""
    with open(os.path.join(os.path.dirname(__file__), "tlds.txt"), encoding="utf-8") as file:
        text = file.read()  # not pathlib: importing it (and urllib.parse) would cost this package ~3 ms
    labels = {line for line in text.splitlines() if line and not line.startswith("#")}
    return frozenset(labels | _PRIVATE_TLDS)


def emails(options: Options) -> Finder:
    """Addresses in any script whose domain ends in a known top-level domain."""
    tlds = load_tlds()

    def find(text: str) -> Iterator[Hit]:
        for at_sign in _AT_SIGNS:
            at = text.find(at_sign)
            while at != -1:
                span = _address(text, at, tlds)
                if span is not None:
                    yield span
                at = text.find(at_sign, span[1] if span else at + 1)

    return find


def _address(text: str, at: int, tlds: frozenset[str]) -> Hit | None:
    start = at
    while start > 0 and at - start < _MAX_LOCAL and _local_char(text[start - 1]):
        start -= 1
    while start < at and _leading(text[start]):
        start += 1
    if start == at or _URL_USERINFO_BEFORE.search(text, max(0, start - 256), start):
        return None
    end = _domain_end(text, at + 1, tlds)
    return (start, end) if end else None


def _domain_end(text: str, begin: int, tlds: frozenset[str]) -> int:
    """End of the longest run of dot-separated labels after ``@`` whose last label is a TLD."""
    labels: list[tuple[int, int]] = []
    cursor = begin
    limit = min(len(text), begin + _MAX_DOMAIN)
    while cursor < limit:
        end = cursor
        while end < limit and (_word_char(text[end]) or text[end] == "-"):
            end += 1
        if end == cursor:
            break
        labels.append((cursor, end))
        if end + 1 < limit and text[end] == "." and _word_char(text[end + 1]):
            cursor = end + 1
        else:
            break
    for index in range(len(labels) - 1, 0, -1):  # at least two labels
        start, end = labels[index]
        if unicodedata.normalize("NFC", text[start:end]).casefold() in tlds:
            return end
    return 0


# Digit groups of 3+ joined by single spaces or dashes, not touching other digits.
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{3,19}(?:[ -][0-9]{3,19})*(?![0-9])")
_GROUP = re.compile(r"[0-9]+")
_CARD_DIGITS = range(13, 20)
_CARD_FIRST_DIGITS = "123456"  # UATP, Mastercard, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay


def cards(options: Options) -> Finder:
    """Payment card numbers: 13–19 digits in whole groups, an issuer's first digit, Luhn-valid."""
    return _cards


def _cards(text: str) -> Iterator[Hit]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [(run.start() + g.start(), g.group()) for g in _GROUP.finditer(run.group())]
        for first, (start, _) in enumerate(groups):
            if text[start] not in _CARD_FIRST_DIGITS:
                continue
            digits = ""
            for group_start, group in groups[first:]:
                digits += group
                if len(digits) in _CARD_DIGITS and LUHN(digits):
                    yield start, group_start + len(group)
                if len(digits) >= _CARD_DIGITS.stop:
                    break


_IBAN_START = re.compile(r"[A-Z]{2}[0-9]{2}(?=[ ]?[0-9A-Z])")  # what precedes: checked in ``_ibans``
_IBAN_BODY = re.compile(r"(?:[ ]?[0-9A-Z]){1,30}")  # after country and check digits, up to 34 in all
_IBAN_LENGTHS = range(15, 35)


IS_IBAN = Stdnum("iban")


def ibans(options: Options) -> Finder:
    """IBANs, compact or in groups: mod 97 first (cheap), then python-stdnum's ``iban``."""
    return _ibans


def _ibans(text: str) -> Iterator[Hit]:
    resume = 0
    for match in _IBAN_START.finditer(text):
        start = match.start()
        if start < resume or (start and text[start - 1].isalnum()):
            continue
        body = _IBAN_BODY.match(text, match.end())
        chars, ends = match.group(), [match.end()] * 4
        for offset, char in enumerate(body.group() if body else "", start=match.end() + 1):
            if char != " ":
                chars += char
                ends.append(offset)
        for length in sorted(_mod97_prefixes(chars), reverse=True):
            end = ends[length - 1]
            if end < len(text) and text[end].isalnum():
                continue  # would cut a word or a group in two
            if IS_IBAN(chars[:length]):
                yield start, end
                resume = end
                break


def phones(options: Options) -> Finder:
    """Valid phone numbers of the redactor's regions (``Options.phone_regions``); see ``_phones``."""
    from storage.redaction._phones import PhoneFinder  # imports phonenumbers (~20 ms)

    return PhoneFinder(options.phone_regions)


def _mod97_prefixes(chars: str) -> set[int]:
    """The lengths (15–34) of the prefixes of ``chars`` that pass ISO 7064 mod 97 as IBANs: the
    account (letters as 10..35), then the country and check digits, mod 97 == 1. One pass over
    ``chars`` for every length at once: runs of capitals and digits make many candidates."""
    head = "".join(str(int(c, 36)) for c in chars[:4])
    head_value, head_scale = int(head) % 97, pow(10, len(head), 97)
    passing, remainder = set(), 0
    for length, char in enumerate(chars[4:], start=5):
        value = int(char, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
        if length in _IBAN_LENGTHS and (remainder * head_scale + head_value) % 97 == 1:
            passing.add(length)
    return passing
