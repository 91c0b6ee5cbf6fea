"""Everything wrong with a lanes.toml, found in one pass and explained to the person editing it.

A lane owner fixes a file faster when ``lanebot check`` lists every problem at once, so two kinds
of checks run independently of each other:

- *field problems*: pydantic's errors for keys and values (a typo'd key, a wrong type, a bad
  regular expression), each rewritten to say what to do: a missing key says what it can be, an
  unknown key names the closest valid key, a bad pattern says how to repair it;
- *reference problems*: the cross-lane rules (a lane names an undefined model tier, a prompt is
  missing, a command is used twice, the fallback is the default). They read the raw TOML data,
  not validated models, so a lane with a field problem is still checked, and a reference that
  cannot be read (a missing or mistyped key) is left to its field problem.

``in_file_order`` sorts both kinds as the file is written (sections, then lanes), and each reads
``dotted.key: message``; ``lanes.config`` prefixes the file name.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

INPUT_PLACEHOLDER = "{input}"
TIER_KEYS = ("default", "fallback", "escalate_to")
INTERNAL_KEYS = frozenset({"name", "source"})
"""Fields lanebot fills in itself (a lane's name is its table's name): never suggested."""


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (the TOML path) and what to do."""

    location: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.location)
        return f"{where}: {self.message}" if where else self.message


# --- reference checks on the raw data ---------------------------------------------------------


def reference_problems(data: Mapping[str, Any]) -> list[Problem]:
    """The cross-lane rules, checked on whatever parts of ``data`` are readable."""
    models = data.get("models")
    tiers = set(_table(models)) if isinstance(models, Mapping) else None  # None: [models] is broken
    problems: list[Problem] = []
    commands: dict[str, str] = {}
    for name, raw in _table(data.get("lanes")).items():
        lane = _table(raw)
        problems += _tier_problems(name, lane, tiers)
        problems += _prompt_problems(name, lane, tiers)
        problems += _rule_problems(name, lane)
        command = lane.get("command")
        if not isinstance(command, str):
            continue
        if command in commands:
            fix = f"is already used by lane '{commands[command]}'; give each lane its own command"
            problems.append(_at(name, "command", f"{command} {fix}"))
        commands.setdefault(command, name)
    return problems


def _at(lane: str, key: str, message: str) -> Problem:
    """A problem at ``lanes.<lane>.<key>`` (``key`` may be dotted)."""
    return Problem(("lanes", lane, *key.split(".")), message)


def _table(value: Any) -> Mapping[str, Any]:
    """A TOML table as a mapping; validated models (direct construction) are read as their data."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    return value if isinstance(value, Mapping) else {}


def _tier_problems(name: str, lane: Mapping[str, Any], tiers: set[str] | None) -> list[Problem]:
    problems = []
    shadow = lane.get("shadow")
    shadow_tier = shadow.get("tier") if isinstance(shadow, Mapping) else None
    for key, tier in (*((key, lane.get(key)) for key in TIER_KEYS), ("shadow.tier", shadow_tier)):
        if tiers is not None and isinstance(tier, str) and tier not in tiers:
            fix = f"define [models.{tier}] or use one of: {_known(tiers)}"
            problems.append(_at(name, key, f"unknown model {tier!r}; {fix}"))
    default = lane.get("default")
    if isinstance(default, str) and lane.get("fallback") == default:
        problems.append(_at(name, "fallback", f"must differ from default ({default!r}); pick another model"))
    return problems


def _prompt_problems(name: str, lane: Mapping[str, Any], tiers: set[str] | None) -> list[Problem]:
    prompts = lane.get("prompts", {})
    if not isinstance(prompts, Mapping):
        return []  # its field problem says what prompts must look like
    problems = []
    named = (lane.get(key) for key in ("default", "escalate_to"))
    for tier in dict.fromkeys(tier for tier in named if isinstance(tier, str)):
        if tier not in prompts:
            example = f'{tier} = {{ system = "...", template = "... {INPUT_PLACEHOLDER} ..." }}'
            problems.append(
                Problem(("lanes", name, "prompts", tier), f"missing; add [lanes.{name}.prompts] {example}")
            )
    for tier in prompts:
        if tiers is not None and tier not in tiers:
            message = f"no model tier {tier!r}; use one of: {_known(tiers)}"
            problems.append(Problem(("lanes", name, "prompts", tier), message))
    return problems


def _rule_problems(name: str, lane: Mapping[str, Any]) -> list[Problem]:
    problems = []
    schema = lane.get("schema", lane.get("output_schema"))
    if lane.get("evidence_required") is True and not schema:
        problems.append(
            _at(name, "evidence_required", "needs a schema with an 'evidence' list; add schema = {...}")
        )
    if lane.get("cross_check") is True and not schema:
        problems.append(_at(name, "cross_check", "compares key fields of structured output; add a schema"))
    shadow = lane.get("shadow")
    if isinstance(shadow, Mapping) and shadow.get("tier") == lane.get("default"):
        problems.append(_at(name, "shadow.tier", "is the lane's default already; shadow a different tier"))
    if lane.get("risk") == "high" and lane.get("review") == "none":
        problems.append(_at(name, "review", 'a high-risk lane needs review = "owner" or "two_person"'))
    return problems


def _known(tiers: Iterable[str]) -> str:
    return ", ".join(sorted(tiers)) or "(none defined)"


# --- pydantic's errors, explained -------------------------------------------------------------


def field_problems(exc: ValidationError, data: Mapping[str, Any], root: type[BaseModel]) -> list[Problem]:
    """Each validation error as a problem; a multi-line message becomes one problem per line."""
    return [
        Problem(tuple(error["loc"]), line)
        for error in exc.errors()
        for line in _message(error, data, root).split("\n")
    ]


def _message(error: ErrorDetails, data: Mapping[str, Any], root: type[BaseModel]) -> str:
    location = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return _unknown_key(location, root)
    if error["type"] == "missing":
        return _missing_key(location, data, root)
    return error["msg"].removeprefix("Value error, ")


def _unknown_key(location: tuple[str | int, ...], root: type[BaseModel]) -> str:
    message = "unknown key; remove it or check its spelling"
    allowed = _keys(_model_at(location[:-1], root))
    close = difflib.get_close_matches(str(location[-1]), allowed, n=1, cutoff=0.6)
    if close:
        return f"{message}: did you mean {close[0]!r}?"
    if allowed:
        return f"{message}; keys allowed here: {', '.join(allowed)}"
    return f"{message} against the README's lanes.toml reference"


def _missing_key(location: tuple[str | int, ...], data: Mapping[str, Any], root: type[BaseModel]) -> str:
    message = "required key is missing; add it"
    key = location[-1]
    if len(location) == 3 and location[0] == "lanes" and key in TIER_KEYS:
        lane = _table(_table(data.get("lanes")).get(str(location[1])))
        return f"{message}, {_tier_example(str(key), lane, data)}"
    hint = _MISSING_HINTS.get(str(key))
    if hint:
        return f"{message}, {hint}"
    choices = _choices(_model_at(location[:-1], root), str(key))
    return f"{message}, one of: {', '.join(choices)}" if choices else message


def _tier_example(key: str, lane: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """``fallback = "local"``: a defined tier the lane's other tier keys do not already use."""
    tiers = sorted(_table(data.get("models")))
    if not tiers:
        return 'naming a model tier; define one first, e.g. [models.fast] provider = "openai"'
    taken = {str(lane.get(other)) for other in TIER_KEYS if other != key}
    example = next((tier for tier in tiers if tier not in taken), tiers[0])
    return f'e.g. {key} = "{example}" (model tiers in this file: {", ".join(tiers)})'


_MISSING_HINTS = {
    "models": 'define at least one model tier, e.g. [models.fast] provider = "openai", model = "gpt-5-mini"',
    "lanes": 'define at least one lane, e.g. [lanes.support] command = "/support", default = "fast", ...',
    "command": 'e.g. command = "/support" (a slash, then lowercase letters, digits, - or _)',
    "model": 'the provider\'s model name, e.g. model = "gpt-5-mini"',
    "channel": 'the Slack channel id to post to, e.g. channel = "C0123456789"',
    "input_per_mtok": "USD per million input tokens, e.g. input_per_mtok = 0.25",
    "output_per_mtok": "USD per million output tokens, e.g. output_per_mtok = 2.0",
}


def _model_at(location: Sequence[str | int], root: type[BaseModel]) -> type[BaseModel] | None:
    """The config model that a TOML table at ``location`` is validated as (None: a free-form table)."""
    annotation: Any = root
    for part in location:
        annotation = _unwrap_optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = _fields(annotation).get(str(part))
            if field is None:
                return None
            annotation = field
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    annotation = _unwrap_optional(annotation)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """Field annotations by the key written in TOML (the alias where there is one)."""
    return {
        (info.alias or name): info.annotation
        for name, info in model.model_fields.items()
        if name not in INTERNAL_KEYS
    }


def _keys(model: type[BaseModel] | None) -> list[str]:
    return sorted(_fields(model)) if model else []


def _choices(model: type[BaseModel] | None, key: str) -> list[str]:
    annotation = _unwrap_optional(_fields(model).get(key)) if model else None
    return [str(choice) for choice in get_args(annotation)] if get_origin(annotation) is Literal else []


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [member for member in get_args(annotation) if member is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


# --- regular expressions ----------------------------------------------------------------------

_REGEX_FIXES = (
    ("missing )", "close each ( with ), or escape it as \\( to match a parenthesis"),
    ("unbalanced parenthesis", "remove the extra ), or escape it as \\) to match a parenthesis"),
    ("unterminated character set", "close the [ with ], or escape it as \\[ to match a bracket"),
    ("nothing to repeat", "put the *, + or ? after what it repeats, or escape it (\\*, \\+, \\?)"),
    ("multiple repeat", "use one quantifier (a+, not a+*), or escape the second (\\*, \\+, \\?)"),
    ("bad escape", "remove that backslash, or escape it as \\\\ to match a backslash"),
    ("bad character range", "write the range low to high ([a-z]), or escape the - as \\-"),
)
_GENERIC_REGEX_FIX = (
    "check the pattern (Python regular expression syntax), or escape special characters "
    "(. * + ? ( ) [ ] { } |) with a backslash to match them literally"
)
_TOML_BACKSLASH = "in TOML write a backslash as \\\\ inside \"...\", or use a '...' string"


def pattern_problem(pattern: str, exc: re.error) -> str:
    """Why ``pattern`` does not compile, and how to repair it (escapes spelled as TOML needs them)."""
    text = str(exc)
    fix = next((fix for start, fix in _REGEX_FIXES if text.startswith(start)), _GENERIC_REGEX_FIX)
    return f"bad regular expression {pattern!r}: {text}; {fix} ({_TOML_BACKSLASH})"


# --- order --------------------------------------------------------------------------------------


def in_file_order(problems: Iterable[Problem], data: Mapping[str, Any]) -> list[Problem]:
    """Problems sorted by where their section and table appear in the file (stable otherwise)."""

    def position(problem: Problem) -> tuple[int, int]:
        section, *rest = problem.location or ("",)
        sections = list(data)
        first = sections.index(section) if section in sections else len(sections)
        table = list(_table(data.get(str(section))))
        second = table.index(rest[0]) if rest and rest[0] in table else -1
        return first, second

    return sorted(problems, key=position)
