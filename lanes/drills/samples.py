"""Drafts a fire drill feeds a lane: one that passes every check, and ones each check must stop.

Built from the lane's own config, so a drill needs no fixtures per lane:

- the *good* draft is plain text for plain lanes, and for structured lanes a JSON object built
  from the schema (required keys, the declared types) whose every string is a piece of the
  drill's request, so evidence quotes are verbatim by construction;
- the *bad* drafts: each ``[lanes.<lane>.drill] must_catch`` text the owners listed, one draft
  matching each ``checks.forbid`` pattern (synthesised from the regular expression), one over
  ``max_chars``, and for structured lanes one that is not JSON and one whose evidence quote is
  not in the request.

A sample that cannot be built (a pattern too unusual to synthesise) is reported, never skipped
silently: the drill then asks for a ``must_catch`` example instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from re import _parser as sre  # type: ignore[attr-defined]  # the stdlib's own regex parser
from typing import Any

from lanes.checks import check_draft
from lanes.config import LaneConfig

DEFAULT_REQUEST = "Drill request: please confirm you received this short note about order 1042."
PLAIN_DRAFT = "Thanks for your note about order 1042; a colleague will confirm it shortly."
_MAX_REPEAT = 3


@dataclass(frozen=True)
class BadDraft:
    """A draft the lane's checks must stop, and what it exercises."""

    label: str
    text: str | None
    """None when it could not be built; ``problem`` says why."""
    problem: str | None = None


def drill_request(lane: LaneConfig) -> str:
    return lane.drill.request if lane.drill and lane.drill.request else DEFAULT_REQUEST


def good_draft(lane: LaneConfig, request: str, *, variant: int = 0) -> str:
    """A draft that passes the lane's checks; ``variant`` changes every string (cross-checks)."""
    if lane.output_schema is None:
        text = PLAIN_DRAFT if not variant else f"{PLAIN_DRAFT} (variant {variant})"
        return text[: lane.checks.max_chars] if lane.checks.max_chars else text
    pieces = _pieces(request)
    value = _instance(lane.output_schema, pieces, variant, "")
    return json.dumps(value, ensure_ascii=False)


def bad_drafts(lane: LaneConfig, request: str) -> list[BadDraft]:
    drafts = [
        BadDraft(f"must_catch {text[:40]!r}", text) for text in (lane.drill.must_catch if lane.drill else [])
    ]
    for pattern in lane.checks.forbid:
        drafts.append(_forbidden(pattern))
    good = good_draft(lane, request)
    if lane.checks.max_chars is not None:
        long = (good + " ") * (lane.checks.max_chars // max(len(good), 1) + 1)
        drafts.append(
            BadDraft(f"over max_chars {lane.checks.max_chars:,}", long[: lane.checks.max_chars + 1])
        )
    if lane.output_schema is not None:
        drafts.append(BadDraft("not JSON", "Here is the summary you asked for: everything looks fine."))
    if lane.evidence_required and lane.output_schema is not None:
        drafts.append(BadDraft("evidence not in the request", _invented_evidence(good)))
    return drafts


def _forbidden(pattern: str) -> BadDraft:
    label = f"forbid {pattern!r}"
    sample = sample_match(pattern)
    if sample is None:
        return BadDraft(label, None, f"cannot build a draft matching {pattern!r}; add one to must_catch")
    for candidate in (f"Thanks for waiting. {sample} Best regards.", sample):
        if re.search(pattern, candidate):
            return BadDraft(label, candidate)
    return BadDraft(label, None, f"cannot build a draft matching {pattern!r}; add one to must_catch")


def sample_match(pattern: str) -> str | None:
    """A short string ``pattern`` matches, built from its parse tree; None if that is beyond us."""
    try:
        text = _sample(sre.parse(pattern))
    except (re.error, _Unsupported):
        return None
    return text if re.search(pattern, text) else None


class _Unsupported(Exception):
    pass


def _sample(parsed: Any) -> str:
    return "".join(_one(op, arg) for op, arg in parsed)


def _one(op: Any, arg: Any) -> str:
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "NOT_LITERAL":
        return "a" if chr(arg) != "a" else "b"
    if name == "ANY":
        return "a"
    if name == "IN":
        return _in(arg)
    if name == "BRANCH":
        return _sample(arg[1][0])
    if name == "SUBPATTERN":
        return _sample(arg[-1])
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, _high, item = arg
        return str(_sample(item) * int(low))
    if name == "AT":
        return " " if str(arg) == "AT_BOUNDARY" else ""  # a word boundary: a space makes one
    if name == "CATEGORY":
        return _category(str(arg))
    if name in ("ASSERT", "ASSERT_NOT"):
        return ""
    raise _Unsupported(name)


def _in(items: Any) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    if negate:
        excluded = {chr(a) for op, a in items if str(op) == "LITERAL"}
        return next(c for c in "abcxyz019 " if c not in excluded)
    for op, arg in items:
        if str(op) == "LITERAL":
            return chr(arg)
        if str(op) == "RANGE":
            return chr(arg[0])
        if str(op) == "CATEGORY":
            return _category(str(arg))
    raise _Unsupported("IN")


def _category(name: str) -> str:
    if "NOT" in name:
        return "-" if "WORD" in name or "DIGIT" in name else "a"
    return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a"}.get(name, "a")


def _pieces(request: str) -> list[str]:
    words = request.split()
    return [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)] or [request]


def _instance(schema: Any, pieces: list[str], variant: int, key: str) -> Any:
    """A value of ``schema`` (the JSON Schema subset lanes use); strings are request pieces."""
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in schema:
        properties = schema.get("properties", {})
        required = schema.get("required", list(properties))
        return {
            name: _instance(properties.get(name, {"type": "string"}), pieces, variant, name)
            for name in required
        }
    if "array" in kinds:
        return [_instance(schema.get("items", {"type": "string"}), pieces, variant, key)]
    if "string" in kinds:
        return pieces[(len(key) + variant) % len(pieces)]
    if "integer" in kinds or "number" in kinds:
        return variant
    if "boolean" in kinds:
        return bool(variant % 2)
    return None


def _invented_evidence(good: str) -> str:
    value = json.loads(good)
    if isinstance(value, dict) and isinstance(value.get("evidence"), list) and value["evidence"]:
        first = value["evidence"][0]
        if isinstance(first, dict):
            first["quote"] = "a clause the request never contained"
    return json.dumps(value, ensure_ascii=False)


def passes(lane: LaneConfig, draft: str, request: str) -> bool:
    return check_draft(lane, draft, request).passed
