"""The audit search's filter grammar, one for ``lanebot audit --since 7d`` and ``/lanebot audit since:7d``.

Whoever learnt a filter in Slack can type it in a terminal and get the same answer, or the same
refusal: both surfaces parse values with these functions and show these messages.

Times (``since`` inclusive, ``until`` exclusive) are one of

- a duration back from now: ``30m``, ``12h``, ``7d``, ``2w`` (minutes, hours, days, weeks);
- a date, ``2026-01-31``: midnight UTC starting that day;
- a date and time, ``2026-01-31T09:00Z`` or ``2026-01-31T09:00+01:00`` (no offset means UTC).

Names are checked rather than searched for blindly, because a typo would otherwise answer "no
runs match", which reads as a fact about the trail: an unknown ``status`` is refused with the
run statuses (``lanes.lifecycle.RunStatus``); an unknown ``lane`` or ``model`` with the names in
``lanes.toml`` *and* the names recorded in the store, since the trail outlives a lane or a model
removed from the config. The store is only asked when the config does not know the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lanes.audit import ALL_STATUSES, InvalidRequestError, check_choice

if TYPE_CHECKING:  # SQLAlchemy and the tables load only when a name is looked up in the store,
    from sqlalchemy import Engine  # so parsing a filter (and `lanebot --help`) stays light


RUN_STATUSES: tuple[str, ...] = ALL_STATUSES
TIME_FORMS = "a duration back from now (30m, 12h, 7d, 2w), a date (2026-01-31) or a time (2026-01-31T09:00Z)"
"""What a time filter accepts, in the words help texts and error messages use."""

_DURATION = re.compile(r"^(\d{1,9})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(value: str, now: datetime) -> datetime:
    """``value`` as an aware UTC instant; ``InvalidRequestError`` says which forms are accepted."""
    text = value.strip()
    duration = _DURATION.match(text.lower())
    if duration:
        amount, unit = int(duration.group(1)), _UNITS[duration.group(2)]
        try:
            return now - timedelta(**{unit: amount})
        except OverflowError:
            raise InvalidRequestError(
                f"{value!r} reaches back before the year 1; use a shorter duration or a date"
            ) from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(f"{value!r} is not a time; use {TIME_FORMS}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def check_status(value: str) -> str:
    return check_choice("status", value, RUN_STATUSES, plural="statuses")


def check_lane(value: str, configured: Iterable[str], engine: Engine | None) -> str:
    """``value`` if lanes.toml or the trail knows the lane; else the refusal with both lists."""
    configured = sorted(set(configured))
    if value in configured:
        return value
    from storage import models

    recorded = _recorded(engine, models.Run.lane) if engine is not None else set()
    return check_choice("lane", value, sorted(set(configured) | recorded))


def check_model(value: str, configured: Iterable[str], engine: Engine | None) -> str:
    """``value`` if it names a tier or model of lanes.toml, or one the trail recorded."""
    configured = sorted(set(configured))
    if value in configured:
        return value
    recorded: set[str] = set()
    if engine is not None:
        from storage import models

        run, attempt = models.Run, models.Attempt
        for column in (run.model, run.tier, attempt.model_requested, attempt.model_answered):
            recorded |= _recorded(engine, column)
    return check_choice("model", value, sorted(set(configured) | recorded), plural="models and tiers")


def _recorded(engine: Engine, column: Any) -> set[str]:
    from sqlalchemy import select

    statement = select(column).where(column.is_not(None)).distinct()
    with engine.connect() as connection:
        return {str(name) for name in connection.scalars(statement)}


__all__ = ["RUN_STATUSES", "TIME_FORMS", "check_lane", "check_model", "check_status", "parse_time"]
