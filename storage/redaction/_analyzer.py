"""Runs the rules table over a text: lanebot's own analyzer, regular expressions and validators.

Each rule first passes its cheap gates (a needle substring, a minimum number of digits), then its
finder runs; a text that holds none of a family's prefixes costs that family one substring search.
Building compiles every expression and loads what the personal-data detectors need (python-
phonenumbers, the top-level domain list); nothing here holds mutable state, so threads share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from storage.redaction._detectors import Finder, Options
from storage.redaction._rules import Rule

_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Finding:
    """One detected value (the shape of the ``AnalyzerResult`` protocol)."""

    entity_type: str
    start: int
    end: int
    score: float = 1.0


@dataclass(frozen=True)
class Compiled:
    """A rule, its rank in the table and its built finder."""

    rank: int
    rule: Rule
    find: Finder


def compile_rules(rules: Iterable[Rule], options: Options) -> tuple[Compiled, ...]:
    return tuple(Compiled(rank, rule, rule.detector.build(options)) for rank, rule in enumerate(rules))


def digit_count(text: str) -> int:
    return len(_DIGIT.findall(text))


def run_rules(compiled: Iterable[Compiled], text: str) -> Iterator[tuple[Compiled, int, int]]:
    """Every detection of ``compiled`` in ``text``; spans may overlap (``_spans.merge`` unites them)."""
    digits = -1
    for item in compiled:
        rule = item.rule
        if rule.needles and not any(needle in text for needle in rule.needles):
            continue
        if rule.min_digits:
            if digits < 0:
                digits = digit_count(text)
            if digits < rule.min_digits:
                continue
        for start, end in item.find(text):
            yield item, start, end


class RuleAnalyzer:
    """The rules table as an ``Analyzer``: ``analyze`` reports the entities asked for."""

    def __init__(self, rules: Sequence[Rule], options: Options) -> None:
        self._compiled = compile_rules(rules, options)
        self._selected: dict[tuple[str, ...], tuple[Compiled, ...]] = {}

    def analyze(self, text: str, language: str, entities: list[str]) -> list[Finding]:
        return [
            Finding(item.rule.entity, start, end)
            for item, start, end in run_rules(self._select(entities), text)
        ]

    def _select(self, entities: list[str]) -> tuple[Compiled, ...]:
        key = tuple(entities)
        selected = self._selected.get(key)
        if selected is None:  # a benign race: two threads may compute the same tuple
            wanted = set(entities)
            selected = self._selected[key] = tuple(c for c in self._compiled if c.rule.entity in wanted)
        return selected
