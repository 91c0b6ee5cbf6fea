"""Refusing a name nobody defined (a lane, a status, a model), with the valid ones and a guess.

A typo in a filter is the worst kind of mistake to let through: ``--status aproved`` would
answer "no runs match", which reads as a fact about the audit trail. So every place that takes
such a name from a person checks it here, and the refusal lists the valid names and, when one
is close, asks "did you mean ...?" (``difflib``, case-insensitive).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lanes.errors import InvalidRequestError

if TYPE_CHECKING:
    from lanes.config import LanesConfig

CUTOFF = 0.6
"""``difflib``'s similarity threshold: 'suport' → 'support', 'aproved' → 'approved', 'xyz' → none."""


class UnknownChoiceError(InvalidRequestError):
    """``value`` is not one of ``choices``; ``suggestion`` is the closest one, if any is close."""

    def __init__(self, kind: str, value: str, choices: Iterable[str], *, plural: str | None = None) -> None:
        self.kind = kind
        self.value = value
        self.choices = tuple(choices)
        self.suggestion = closest(value, self.choices)
        plural = plural or f"{kind}s"
        guess = f"did you mean {self.suggestion!r}? " if self.suggestion else ""
        listed = ", ".join(self.choices) if self.choices else "none yet"
        super().__init__(f"unknown {kind} {value!r}; {guess}{plural}: {listed}")


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``value`` (ignoring case), or None when nothing is close."""
    by_folded = {choice.casefold(): choice for choice in choices}
    match = difflib.get_close_matches(value.casefold(), list(by_folded), n=1, cutoff=CUTOFF)
    return by_folded[match[0]] if match else None


def check_choice(kind: str, value: str, choices: Iterable[str], *, plural: str | None = None) -> str:
    """``value`` if it is one of ``choices``, else ``UnknownChoiceError`` naming them."""
    options = tuple(choices)
    if value in options:
        return value
    raise UnknownChoiceError(kind, value, options, plural=plural)


def model_names(config: LanesConfig) -> list[str]:
    """What a person may call a model: its tier (``fast``) or the provider's name (``gpt-5-mini``)."""
    return sorted(set(config.models) | {spec.model for spec in config.models.values()})


__all__ = ["CUTOFF", "UnknownChoiceError", "check_choice", "closest", "model_names"]
