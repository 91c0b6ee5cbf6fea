"""The one wall clock: timezone-aware UTC.

Everything that stamps an audit row or decides a week boundary takes a ``clock`` argument that
defaults to ``utcnow``, so tests inject a fixed or manual clock instead of patching time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (naive datetimes never enter the audit store)."""
    return datetime.now(UTC)
