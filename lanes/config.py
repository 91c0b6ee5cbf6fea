"""lanes.toml: the users' interface, validated once at start.

Every key is declared here with ``extra="forbid"`` so a typo is an error, not a silently ignored
setting. ``load_config`` turns TOML syntax errors, pydantic validation errors and broken
references between sections into one ``ConfigError`` whose lines each name the file, the dotted
key and the fix, because the person reading them is a lane owner editing a text file, not a
Python developer. Every problem is reported in one pass (``lanes.config_problems``): a typo in one
lane does not hide an unknown model tier in another.

Model *tiers* are the keys of ``[models.*]`` (``fast``, ``strong``, ``local``...). A lane names a
tier for its default, its fallback and its escalation; prompts are written per tier because a
small model needs tighter instructions than a strong one. The fallback reuses the prompt of the
attempt it replaces ("same prompt"), so prompts are required for ``default`` and ``escalate_to``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lanes.config_problems import (
    INPUT_PLACEHOLDER,
    field_problems,
    in_file_order,
    pattern_problem,
    reference_problems,
)
from lanes.errors import ConfigError

ProviderName = Literal["openai", "anthropic", "openai_compatible", "offline"]
Risk = Literal["low", "medium", "high"]
ReviewRule = Literal["none", "owner", "two_person"]
StoreText = Literal["redacted", "none"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Strict):
    """USD per million tokens; overrides genai-prices for self-hosted or negotiated models."""

    input_per_mtok: Annotated[float, Field(ge=0)]
    output_per_mtok: Annotated[float, Field(ge=0)]


class ModelSpec(_Strict):
    """One model tier: which provider, which model, and how long we wait for it."""

    provider: ProviderName
    model: str = Field(min_length=1)
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    base_url: str | None = None
    api_key_env: str | None = None
    price: Price | None = None
    context_window: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _compatible_needs_base_url(self) -> ModelSpec:
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError(
                "provider 'openai_compatible' needs base_url, e.g. base_url = \"http://localhost:11434/v1\""
            )
        return self


class Prompt(_Strict):
    """A system prompt and a user template; ``{input}`` marks where the request text goes."""

    system: str = ""
    template: str = INPUT_PLACEHOLDER

    @field_validator("template")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if INPUT_PLACEHOLDER not in value:
            raise ValueError(f"template must contain {INPUT_PLACEHOLDER} where the request text goes")
        return value


def _compile_all(patterns: list[str]) -> list[str]:
    """Every pattern must compile; all bad ones are reported, one line each."""
    problems = []
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(pattern_problem(pattern, exc))
    if problems:
        raise ValueError("\n".join(problems))
    return patterns


class EscalateWhen(_Strict):
    """Signals, read from the request, that send a run straight to the lane's escalation model."""

    input_chars_over: Annotated[int, Field(gt=0)] | None = None
    keywords: list[str] = Field(default_factory=list)


class Checks(_Strict):
    """Checks every draft must pass before a human sees it."""

    max_chars: Annotated[int, Field(gt=0)] | None = None
    forbid: list[str] = Field(default_factory=list)

    _validate_forbid = field_validator("forbid")(classmethod(lambda cls, v: _compile_all(v)))


class EvalSettings(_Strict):
    """``[lanes.<name>.eval]``: what ``lanebot eval`` demands of the lane's golden set (a CI gate)."""

    min_pass_rate: Annotated[float, Field(ge=0, le=1)] = 0.9
    """Share of active examples that must pass, or ``lanebot eval`` exits non-zero."""
    min_similarity: Annotated[float, Field(ge=0, le=1)] = 0.6
    """How close (rapidfuzz ratio, 0..1) a draft must be to the approved reference to pass."""
    max_length_ratio: Annotated[float, Field(ge=1)] | None = None
    """A draft longer than reference x this, or shorter than reference / this, fails."""
    golden_file: str | None = None
    """The lane's golden set; default ``evals/<lane>.jsonl`` next to lanes.toml."""


class ShadowSettings(_Strict):
    """``[lanes.<name>.shadow]``: a tier that answers sampled live runs in the background, never shown."""

    tier: str
    sample_rate: Annotated[float, Field(gt=0, le=1)] = 0.1
    budget_daily_usd: Annotated[float, Field(ge=0)]


class DrillSettings(_Strict):
    """``[lanes.<name>.drill]``: what ``lanebot drill`` feeds the lane beyond what its checks imply."""

    must_catch: list[str] = Field(default_factory=list)
    """Drafts the lane's checks must stop (e.g. a promise the bot may never make)."""
    request: str | None = None
    """A harmless sample request (default: a generic one that triggers no escalation keyword)."""


class LaneConfig(_Strict):
    """One lane: who owns it, which models it may use, and the rules between them."""

    name: str = ""
    command: str
    description: str = ""
    owners: list[str] = Field(default_factory=list)
    reviewers: list[str] = Field(default_factory=list)
    risk: Risk = "low"
    default: str
    fallback: str
    escalate_to: str
    review: ReviewRule = "owner"
    self_approval: bool = False
    max_input_chars: Annotated[int, Field(gt=0)] = 8000
    max_output_tokens: Annotated[int, Field(gt=0)] = 500
    budget_daily_usd: Annotated[float, Field(ge=0)] | None = None
    max_cost_per_run_usd: Annotated[float, Field(ge=0)] | None = None
    escalate_when: EscalateWhen = Field(default_factory=EscalateWhen)
    checks: Checks = Field(default_factory=Checks)
    prompts: dict[str, Prompt] = Field(default_factory=dict)
    output_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    evidence_required: bool = False
    cross_check: bool = False
    cross_check_fields: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(default_factory=list)
    store_text: StoreText = "redacted"
    redact_before_model: bool = False
    review_timeout: str = "24h"
    eval: EvalSettings | None = None
    shadow: ShadowSettings | None = None
    drill: DrillSettings | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _validate_sensitive = field_validator("sensitive")(classmethod(lambda cls, v: _compile_all(v)))

    @field_validator("command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError(
                'command must look like "/support": a slash, then lowercase letters, digits, - or _'
            )
        return value

    @field_validator("review_timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not _DURATION.match(value):
            raise ValueError('review_timeout must be a duration such as "30m", "24h" or "2d"')
        return value

    @property
    def review_timeout_s(self) -> float:
        match = _DURATION.match(self.review_timeout)
        assert match is not None  # validated above
        return float(match.group(1)) * _DURATION_SECONDS[match.group(2)]

    @property
    def tiers(self) -> tuple[str, str, str]:
        return (self.default, self.fallback, self.escalate_to)

    def prompt_for(self, tier: str) -> Prompt:
        """The prompt written for ``tier``; the fallback borrows the default's (same prompt)."""
        if tier in self.prompts:
            return self.prompts[tier]
        return self.prompts[self.default]


class DigestConfig(_Strict):
    """Where and when the weekly digest is posted."""

    channel: str
    cron: str = "mon 09:00"
    timezone: str = "UTC"
    premium_tiers: list[str] = Field(default_factory=list)
    premium_creep_pct: Annotated[float, Field(gt=0)] = 10.0

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f'unknown timezone {value!r}; use an IANA name such as "Europe/Berlin"') from exc
        return value

    @field_validator("cron")
    @classmethod
    def _weekly_slot(cls, value: str) -> str:
        if not re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):[0-5]\d", value.strip().lower()):
            raise ValueError('cron must be a weekday and a time, such as "mon 09:00"')
        return value.strip().lower()


class RuntimeConfig(_Strict):
    """How much work the bot takes on at once."""

    workers: Annotated[int, Field(gt=0, le=512)] = 16
    queue_limit: Annotated[int, Field(ge=0)] = 500
    breaker_failures: Annotated[int, Field(gt=0)] = 3
    breaker_cooldown_s: Annotated[float, Field(gt=0)] = 60.0


class LanesConfig(_Strict):
    """The whole file: model tiers, lanes, the digest and runtime limits."""

    models: dict[str, ModelSpec]
    lanes: dict[str, LaneConfig]
    digest: DigestConfig | None = None
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    source: str = Field(default="lanes.toml", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _name_lanes(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("lanes"), dict):
            data = dict(data)
            data["lanes"] = {
                key: {**value, "name": key} if isinstance(value, dict) else value
                for key, value in data["lanes"].items()
            }
        return data

    @model_validator(mode="wrap")
    @classmethod
    def _references_resolve(
        cls, data: Any, handler: ModelWrapValidatorHandler[LanesConfig], info: ValidationInfo
    ) -> LanesConfig:
        """Tiers, prompts and commands named by lanes must exist (and commands be unique).

        ``parse_config`` runs these checks itself, on the raw data and whether or not the fields
        validate, so it asks (through the validation context) for them to be skipped here.
        """
        config = handler(data)
        if isinstance(data, dict) and not (info.context or {}).get(_DEFER_REFERENCES):
            problems = reference_problems(data)
            if problems:
                raise ValueError("\n".join(str(problem) for problem in problems))
        return config

    def lane(self, name: str) -> LaneConfig:
        try:
            return self.lanes[name]
        except KeyError:
            raise ConfigError(
                [f"unknown lane {name!r}; lanes in {self.source}: {', '.join(sorted(self.lanes))}"]
            ) from None

    def lane_for_command(self, command: str) -> LaneConfig | None:
        return next((lane for lane in self.lanes.values() if lane.command == command), None)


def load_config(path: str | Path) -> LanesConfig:
    """Read and validate ``path``; every problem is reported at once as a ``ConfigError``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [f"{path}: cannot read ({exc.strerror}); pass --config PATH or set LANEBOT_CONFIG"]
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: TOML syntax error: {exc}; fix the line it names"]) from exc
    return parse_config(data, source=str(path))


def parse_config(data: dict[str, Any], *, source: str = "lanes.toml") -> LanesConfig:
    """Validate already-parsed TOML data (used by tests and by ``load_config``).

    Field validation and the reference checks run independently, so one ``ConfigError`` lists
    every problem of the file, in file order.
    """
    config: LanesConfig | None = None
    problems = []
    try:
        config = LanesConfig.model_validate({**data, "source": source}, context={_DEFER_REFERENCES: True})
    except ValidationError as exc:
        problems = field_problems(exc, data, LanesConfig)
    problems += reference_problems(data)
    if problems or config is None:
        raise ConfigError([f"{source}: {problem}" for problem in in_file_order(problems, data)])
    return config


_DEFER_REFERENCES = "lanebot_defer_reference_checks"
