"""Time windows the policy commands take: ``--since 7d`` (relative) or an ISO date or time."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def since(value: str, *, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``2w`` before now, or an ISO date/time (UTC unless it says otherwise)."""
    match = _RELATIVE.match(value)
    if match:
        return (now or datetime.now(UTC)) - int(match.group(1)) * _UNIT[match.group(2)]
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a duration such as 7d, 24h or 2w nor an ISO date such as 2026-11-01"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
