"""Runs the rules table over a text: lanebot's own analyzer, regular expressions and validators.

Each rule first passes its cheap gates (a needle substring, a minimum number of digits, a shared
expression), then its finder runs; a text that holds none of a family's prefixes costs that
family one substring search. Building loads what the personal-data detectors need (python-
phonenumbers, the top-level domain list); patterns compile on first use. Nothing here changes
after that but caches a race can at worst fill twice, so threads share one analyzer.
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


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Built rules in table order, and every needle any of them has, each looked for once per text.

    Needles holding one of a few punctuation marks (``sk_live_``, ``glpat-``, ``SG.``) are filed
    under it and looked for only when the text has that mark at all: prose without ``_`` or ``-``
    skips half of them with two substring searches."""

    items: tuple[Compiled, ...]
    needles: tuple[str, ...]  # holding none of ``_MARKS``
    marked: tuple[tuple[str, tuple[str, ...]], ...]  # (mark, needles holding it)

    def only(self, entities: Iterable[str]) -> RuleSet:
        wanted = set(entities)
        return _rule_set(item for item in self.items if item.rule.entity in wanted)

    def present(self, text: str) -> set[str]:
        """The needles that occur in ``text``."""
        found = set(filter(text.__contains__, self.needles))  # a C-level loop over the needles
        for mark, needles in self.marked:
            if mark in text:
                found.update(filter(text.__contains__, needles))
        return found


_MARKS = "~=_:-/."  # rarest in prose first


def compile_rules(rules: Iterable[Rule], options: Options) -> RuleSet:
    return _rule_set(Compiled(rank, rule, rule.detector.build(options)) for rank, rule in enumerate(rules))


def _rule_set(items: Iterable[Compiled]) -> RuleSet:
    kept = tuple(items)
    plain: list[str] = []
    marked: dict[str, list[str]] = {mark: [] for mark in _MARKS}
    for needle in dict.fromkeys(needle for item in kept for needle in item.rule.needles):
        mark = next((m for m in _MARKS if m in needle), None)
        (plain if mark is None else marked[mark]).append(needle)
    return RuleSet(kept, tuple(plain), tuple((m, tuple(n)) for m, n in marked.items() if n))


_ASCII_DIGITS = "0123456789"


def digit_count(text: str) -> int:
    """Digits in ``text``, of any script (python-phonenumbers reads full-width digits too)."""
    if text.isascii():
        return sum(map(text.count, _ASCII_DIGITS))  # ten C-speed counts beat one regex pass
    return len(_DIGIT.findall(text))


def run_rules(rules: RuleSet, text: str) -> Iterator[tuple[Compiled, int, int]]:
    """Every detection of ``rules`` in ``text``; spans may overlap (``_spans.merge`` unites them)."""
    present = rules.present(text)
    digits = -1
    gates: dict[str, bool] = {}
    for item in rules.items:
        rule = item.rule
        if rule.needles and present.isdisjoint(rule.needles):
            continue
        if rule.min_digits:
            if digits < 0:
                digits = digit_count(text)
            if digits < rule.min_digits:
                continue
        if rule.gate:
            passed = gates.get(rule.gate)
            if passed is None:
                passed = gates[rule.gate] = re.search(rule.gate, text) is not None
            if not passed:
                continue
        for start, end in item.find(text):
            yield item, start, end


class RuleAnalyzer:
    """The rules table as an ``Analyzer``: ``analyze`` reports the entities asked for."""

    def __init__(self, rules: Sequence[Rule], options: Options) -> None:
        self._rules = compile_rules(rules, options)
        self._selected: dict[tuple[str, ...], RuleSet] = {}

    def analyze(self, text: str, language: str, entities: list[str]) -> list[Finding]:
        return [
            Finding(item.rule.entity, start, end)
            for item, start, end in run_rules(self._select(entities), text)
        ]

    def _select(self, entities: list[str]) -> RuleSet:
        key = tuple(entities)
        selected = self._selected.get(key)
        if selected is None:  # a benign race: two threads may compute the same selection
            selected = self._selected[key] = self._rules.only(entities)
        return selected
