"""Checks a draft must pass before a person sees it, and the rules that read request text.

Every failure is a plain sentence a lane owner can act on ("too long: 1,530 chars > 1,200"), because
it is shown in Slack next to the draft and stored in the audit trail as the reason for escalating.

- ``max_chars`` and ``forbid`` catch the cheap, common problems (rambling, claiming an action).
- ``schema`` parses the draft as JSON (a ```json fenced block is tolerated: models add one even
  when told not to) and validates it with the ``jsonschema`` library, loaded the first time a
  lane with a schema checks a draft (a lane without one never needs it).
- ``evidence_required`` is the anti-hallucination rule for structured lanes: each evidence quote
  must occur verbatim in the input, ignoring only differences in whitespace.

``sensitive`` patterns raise a run's review rule to two people; ``cross_check_fields`` name the
fields two models must agree on. Regexes and schema validators are compiled once per distinct
pattern set (small LRU caches keyed by the patterns themselves), not once per draft.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lanes.config import LaneConfig

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

QUOTE_PREVIEW_CHARS = 60
SCHEMA_MESSAGE_CHARS = 200
MAX_SCHEMA_ERRORS = 3
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*[ \t]*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class CheckResult:
    """``failed`` holds one plain sentence per failed check; ``parsed`` is the JSON object, if any."""

    passed: bool
    failed: tuple[str, ...]
    parsed: dict[str, Any] | None = None


def check_draft(lane: LaneConfig, draft_text: str, input_text: str) -> CheckResult:
    """Run every check the lane declares on ``draft_text``; all failures are reported, not just the first."""
    failed: list[str] = []
    limit = lane.checks.max_chars
    if limit is not None and len(draft_text) > limit:
        failed.append(f"too long: {len(draft_text):,} chars > {limit:,}")
    for pattern, compiled in zip(lane.checks.forbid, _compiled(tuple(lane.checks.forbid)), strict=True):
        if compiled.search(draft_text):
            failed.append(f"forbidden pattern '{pattern}' matched")
    parsed: dict[str, Any] | None = None
    if lane.output_schema is not None:
        parsed, schema_failures = _check_schema(lane.output_schema, draft_text)
        failed.extend(schema_failures)
        if lane.evidence_required and parsed is not None:
            failed.extend(_check_evidence(parsed, input_text))
    return CheckResult(passed=not failed, failed=tuple(failed), parsed=parsed)


def sensitive_matches(lane: LaneConfig, *texts: str) -> tuple[str, ...]:
    """The lane's ``sensitive`` patterns that match any of ``texts``, in config order."""
    compiled = _compiled(tuple(lane.sensitive))
    return tuple(
        pattern
        for pattern, regex in zip(lane.sensitive, compiled, strict=True)
        if any(regex.search(text) for text in texts)
    )


def effective_review_rule(lane: LaneConfig, request_text: str, draft_text: str) -> str:
    """``two_person`` when the request or the draft touches a sensitive area, else the lane's rule."""
    if sensitive_matches(lane, request_text, draft_text):
        return "two_person"
    return lane.review


def compare_key_fields(
    lane: LaneConfig, parsed_a: Mapping[str, Any], parsed_b: Mapping[str, Any]
) -> tuple[str, ...]:
    """Names of ``cross_check_fields`` on which two answers disagree (case and whitespace ignored).

    A missing field counts as ``null``, so "absent" and "null" agree.
    """
    return tuple(
        name
        for name in lane.cross_check_fields
        if _normalised(parsed_a.get(name)) != _normalised(parsed_b.get(name))
    )


def parse_json_draft(draft_text: str) -> Any:
    """The JSON value in a draft, unwrapping a ```json fenced block; raises ``ValueError``."""
    fenced = _FENCE.match(draft_text)
    body = fenced.group("body") if fenced else draft_text
    return json.loads(body)


# --- schema and evidence ----------------------------------------------------------------------


def _check_schema(schema: dict[str, Any], draft_text: str) -> tuple[dict[str, Any] | None, list[str]]:
    from jsonschema.exceptions import SchemaError

    try:
        value = parse_json_draft(draft_text)
    except ValueError as exc:
        return None, [f"schema: the draft is not valid JSON ({_first_line(str(exc))})"]
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
    except SchemaError as exc:
        return None, [
            f"schema: the lane's schema itself is invalid ({_first_line(exc.message)}); fix it in lanes.toml"
        ]
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.message))
    failures = [_schema_failure(error.absolute_path, error.message) for error in errors[:MAX_SCHEMA_ERRORS]]
    if len(errors) > MAX_SCHEMA_ERRORS:
        more = len(errors) - MAX_SCHEMA_ERRORS
        failures.append(f"schema: {more} more problem{'s' if more > 1 else ''}")
    return (value if isinstance(value, dict) else None), failures


def _schema_failure(path: Any, message: str) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    text = _truncate(message, SCHEMA_MESSAGE_CHARS)
    return f"schema: {where}: {text}" if where else f"schema: {text}"


def _check_evidence(parsed: dict[str, Any], input_text: str) -> list[str]:
    evidence = parsed.get("evidence")
    if not isinstance(evidence, list):
        return []  # the schema check already says what is wrong with it
    if not evidence:
        return ["evidence missing: every claim needs a quote copied from the input"]
    haystack = _squash(input_text)
    failures: list[str] = []
    for item in evidence:
        quote = item.get("quote") if isinstance(item, dict) else None
        if not isinstance(quote, str) or not _squash(quote):
            failures.append("evidence quote is empty")
        elif _squash(quote) not in haystack:
            failures.append(
                f'evidence not found in input: "{_truncate(_squash(quote), QUOTE_PREVIEW_CHARS)}"'
            )
    return failures


# --- helpers ----------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Compiled once per distinct pattern tuple (config validation already proved they compile)."""
    return tuple(re.compile(pattern) for pattern in patterns)


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Validator:
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    schema = json.loads(schema_json)
    cls = validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        return _squash(value).casefold()
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in sorted(value.items())}
    return value


def _squash(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text
