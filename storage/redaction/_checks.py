"""Validators that confirm a candidate a pattern found: checksums keep false positives low.

A date, an order number or a part number can have the shape of a national identifier; its check
digits rarely fit too. python-stdnum does the checking for the identifiers it knows (it validates
structure, dates of birth and check digits); its modules are imported on first use, because
``stdnum.util`` alone costs ~30 ms in a bare interpreter and most texts hold no candidate at all.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

_validators: dict[str, Callable[[str], bool]] = {}
_lock = threading.Lock()
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def stdnum_is_valid(module: str) -> Callable[[str], bool]:
    """``stdnum.<module>.is_valid``, imported once."""
    found = _validators.get(module)
    if found is None:
        with _lock:
            imported = importlib.import_module(f"stdnum.{module}")
            found = _validators[module] = cast(Callable[[str], bool], imported.is_valid)
    return found


@dataclass(frozen=True)
class Stdnum:
    """Valid according to python-stdnum's ``module`` (``"us.ssn"`` is ``stdnum.us.ssn``).

    ``also``: compact forms to accept although stdnum rejects them, such as the SSNs printed in
    advertisements, which people paste as their own."""

    module: str
    also: frozenset[str] = frozenset()

    def __call__(self, value: str) -> bool:
        if self.also and _NON_ALNUM.sub("", value) in self.also:
            return True
        return stdnum_is_valid(self.module)(value.replace(" ", ""))  # not every module drops blanks

    def __str__(self) -> str:
        return f"python-stdnum `{self.module}`"


@dataclass(frozen=True)
class Own:
    """A check python-stdnum has no module for; ``doc`` says what it checks."""

    function: Callable[[str], bool]
    doc: str

    def __call__(self, value: str) -> bool:
        return self.function(value)

    def __str__(self) -> str:
        return self.doc


def _luhn(digits: str) -> bool:
    """The Luhn checksum of a string of ASCII digits. Ours rather than python-stdnum's ``luhn``
    (the test suite holds them equal) so that the self-test's card needs no stdnum at start-up."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        total += digit if position % 2 == 0 else (2 * digit - 9 if digit > 4 else 2 * digit)
    return total % 10 == 0


LUHN = Own(_luhn, "Luhn")


# HMRC: the first two letters are never D, F, I, Q, U, V; the second never O; these pairs are
# never issued (BG, GB, KN, NK, NT, TN, ZZ), so a product code rarely passes for a NINO.
_NINO_NOT_ISSUED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino(value: str) -> bool:
    return _NON_ALNUM.sub("", value)[:2].upper() not in _NINO_NOT_ISSUED


NINO = Own(_nino, "prefix issued by HMRC (python-stdnum has no NINO module)")
