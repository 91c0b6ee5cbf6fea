"""Secrets only, with regular expressions alone: cheap enough for every log line.

The logging filter and drafts shown in Slack apply the credential rules of the one table
(``_rules.SECRET_RULES``), without the personal-data detectors and their libraries, so a family
added to the table is caught in the store, the logs and Slack at once. Values that are already a
redaction token are left alone, which keeps redaction idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from storage.redaction._analyzer import RuleSet, compile_rules, run_rules
from storage.redaction._detectors import Options
from storage.redaction._rules import SECRET_RULES
from storage.redaction._spans import Redacted, Span, apply


@cache
def _compiled() -> RuleSet:
    """Built on first use (a few ms of regex compiling), not at import."""
    return compile_rules(SECRET_RULES, Options(phone_regions=()))


def secret_spans(text: str) -> Iterator[Span]:
    """Every secret the rules detect, ranked by rule order; spans may overlap (``apply`` merges them)."""
    for item, start, end in run_rules(_compiled(), text):
        yield Span(start, end, item.rule.entity, item.rule.token, item.rank)


def scrub_secrets(text: str) -> Redacted:
    """Redact secrets only: cheap enough for every log line."""
    return apply(text, secret_spans(text))
