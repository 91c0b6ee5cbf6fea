"""Turning detections into redacted text.

Detectors (the rules of the table, an injected analyzer) report character spans that may overlap:
an email inside a ``password=`` value, an OpenAI key that the generic ``token:`` rule also sees,
a card number whose first group also looks like a bare value. Overlapping spans are merged into
one span covering all of them, so no fragment of any detected value survives between two
replacements; the merged span takes the token of its most specific member (lowest ``rank``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Redacted:
    """Text with every detected value replaced by a token such as ``[EMAIL]`` or ``[SECRET:openai]``.

    ``findings`` names what was replaced, one entry per replacement (entity names like
    ``EMAIL_ADDRESS`` or ``OPENAI_KEY``; in text order, except that phone numbers, found in a
    second pass, come last), so audits can count without seeing the values.
    """

    text: str
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    """One detected value: ``text[start:end]`` is replaced by ``token``."""

    start: int
    end: int
    entity: str
    token: str
    rank: int


def merge(spans: Iterable[Span]) -> list[Span]:
    """Union overlapping spans; the most specific detector (lowest rank) names the result."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end, s.rank)):
        if span.end <= span.start:
            continue
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            best = last if last.rank <= span.rank else span
            merged[-1] = Span(last.start, max(last.end, span.end), best.entity, best.token, best.rank)
        else:
            merged.append(span)
    return merged


def apply(text: str, spans: Iterable[Span]) -> Redacted:
    """Replace every (merged) span by its token, left to right."""
    parts: list[str] = []
    findings: list[str] = []
    cursor = 0
    for span in merge(spans):
        parts.append(text[cursor : span.start])
        parts.append(span.token)
        findings.append(span.entity)
        cursor = span.end
    if not findings:
        return Redacted(text)
    parts.append(text[cursor:])
    return Redacted("".join(parts), tuple(findings))
