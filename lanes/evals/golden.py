"""Golden sets: a lane's reviewed examples, one JSON object per line in ``evals/<lane>.jsonl``.

A golden set is what the team already agreed a good answer is: approved drafts (the draft as
approved), edited-then-approved drafts (the person's final text is the reference) and rejected
drafts (negative examples, with the reason). ``lanebot golden harvest`` writes them from the
audit store; owners add, edit and retire examples by hand, and every file is validated the way
lanes.toml is: ``extra="forbid"`` on every object, and each problem reported at once as
``file:line: key: what is wrong; what to do``.

The format is documented in ``docs/golden-sets.md`` (a test keeps it honest). JSONL, not one
JSON document, so a diff of a reviewed change shows exactly the examples that changed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lanes.errors import GoldenSetError

ExampleKind = Literal["positive", "negative"]
ExpectedRoute = Literal["default", "escalation", "confirmation"]
ExampleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,80}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteInfo(_Strict):
    """The route the harvested run took and why, as the audit trail recorded it."""

    kind: str | None = None
    tier: str | None = None
    model: str | None = None
    reasons: list[str] = Field(default_factory=list)
    fallback_reason: str | None = None
    escalation_reason: str | None = None


class ChecksInfo(_Strict):
    """Whether the harvested run's draft passed the lane's checks, and which one failed if not."""

    passed: bool
    failed_check: str | None = None


class DecisionInfo(_Strict):
    """The human decision the example comes from."""

    kind: Literal["approve", "edit", "reject"]
    actor: str
    at: datetime
    edit_distance: int | None = None
    note: str | None = None


class SourceInfo(_Strict):
    """Which run an example was harvested from, and when."""

    run_id: str
    run_created_at: datetime
    harvested_at: datetime


class GoldenExample(_Strict):
    """One example. ``positive`` ones carry the ``reference`` a draft should come close to;
    ``negative`` ones the ``rejected_draft`` a draft must not repeat and the reason it was
    rejected. ``retired`` examples stay in the file (and in its history) but are not run."""

    id: ExampleId
    lane: str = Field(min_length=1)
    kind: ExampleKind
    status: Literal["active", "retired"] = "active"
    input: str = Field(min_length=1)
    reference: str | None = None
    rejected_draft: str | None = None
    rejection_reason: str | None = None
    expected_route: ExpectedRoute = "default"
    route: RouteInfo | None = None
    checks: ChecksInfo | None = None
    risk: str | None = None
    prompt_id: str | None = None
    prompt_version: str | None = None
    policy_version: str | None = None
    policy_hash: str | None = None
    decision: DecisionInfo | None = None
    source: SourceInfo | None = None
    notes: str | None = None
    retired_reason: str | None = None

    @model_validator(mode="after")
    def _what_each_kind_needs(self) -> GoldenExample:
        if self.kind == "positive" and not (self.reference or "").strip():
            raise ValueError(
                "reference: a positive example needs the approved text; add it, or make it negative"
            )
        if self.kind == "negative" and not (self.rejection_reason or "").strip():
            raise ValueError(
                'rejection_reason: a negative example needs why it was rejected, e.g. "wrong facts"'
            )
        return self

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class GoldenSet:
    """A lane's examples as read from ``path``, in file order."""

    lane: str
    path: Path
    examples: tuple[GoldenExample, ...]

    @property
    def active(self) -> tuple[GoldenExample, ...]:
        return tuple(e for e in self.examples if e.active)

    def ids(self) -> frozenset[str]:
        return frozenset(e.id for e in self.examples)


def golden_path(directory: Path, lane: str, configured: str | None = None) -> Path:
    """Where ``lane``'s golden set lives: ``[lanes.<lane>.eval] golden_file``, else ``<dir>/<lane>.jsonl``."""
    return Path(configured) if configured else directory / f"{lane}.jsonl"


def read_golden_set(path: Path, lane: str, *, missing_ok: bool = False) -> GoldenSet:
    """Read and validate ``path``; every problem is reported at once as a ``GoldenSetError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return GoldenSet(lane, path, ())
        raise GoldenSetError(
            [
                f"{path}: no golden set for lane {lane}; "
                f"harvest one with `lanebot golden harvest --lane {lane}`"
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenSetError(
            [f"{path}: cannot read ({exc}); it must be UTF-8 text, one JSON object per line"]
        ) from exc
    return parse_golden_lines(text.splitlines(), path, lane)


def parse_golden_lines(lines: Sequence[str], path: Path, lane: str) -> GoldenSet:
    examples: list[GoldenExample] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        example, line_problems = _parse_line(line, lane)
        problems += [f"{path}:{number}: {problem}" for problem in line_problems]
        if example is None:
            continue
        if example.id in seen:
            problems.append(
                f"{path}:{number}: id {example.id!r} is already used on line {seen[example.id]}; "
                "give each example its own id"
            )
            continue
        seen[example.id] = number
        examples.append(example)
    if problems:
        raise GoldenSetError(problems)
    return GoldenSet(lane, path, tuple(examples))


def _parse_line(line: str, lane: str) -> tuple[GoldenExample | None, list[str]]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON ({exc.msg} at column {exc.colno}); each line is one JSON object"]
    if not isinstance(data, dict):
        return None, ["each line must be one JSON object ({...}), not a list or a value"]
    try:
        example = GoldenExample.model_validate(data)
    except ValidationError as exc:
        return None, [_problem(error) for error in exc.errors()]
    if example.lane != lane:
        return None, [
            f"lane: {example.lane!r} in lane {lane}'s golden set; move the example to {example.lane}'s file"
        ]
    return example, []


def _problem(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = _keys_at(error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"keys allowed here: {', '.join(allowed)}"
        return f"{location}: unknown key; remove it or check its spelling: {hint}"
    if error["type"] == "missing":
        return f"{location}: required key is missing; add it (see docs/golden-sets.md)"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def _keys_at(location: Sequence[Any]) -> list[str]:
    model: type[BaseModel] = GoldenExample
    for part in location:
        annotation = model.model_fields.get(str(part))
        nested = _model_of(annotation.annotation if annotation else None)
        if nested is None:
            return []
        model = nested
    return sorted(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def golden_line(example: GoldenExample) -> str:
    """One example as its file line: keys in the documented order, no nulls, UTF-8 as is."""
    return json.dumps(example.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


def write_golden_set(path: Path, examples: Iterable[GoldenExample]) -> None:
    """Write ``examples`` to ``path`` (atomically: a temporary file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(golden_line(e) + "\n" for e in examples), encoding="utf-8")
    temporary.replace(path)
