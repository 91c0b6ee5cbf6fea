"""Structured JSON logs on stderr, with secrets scrubbed by a filter on the handler.

Each line carries the standard fields plus whatever ``extra={...}`` the caller gave (run_id,
lane, status...), so a run can be followed across listeners, workers and the store.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from storage.redaction import scrub_secrets

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_text:  # already scrubbed by RedactingFilter
            payload["exc"] = record.exc_text
        elif record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        # Last line of defence: whatever an ``extra`` held, the line that leaves is scrubbed whole.
        return scrub_secrets(json.dumps(payload, default=str)).text


def json_lines(handler: logging.Handler) -> logging.Handler:
    """``handler`` writing lanebot's log lines: JSON, behind the secret-scrubbing filter."""
    from storage.redaction import RedactingFilter

    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    return handler


def configure_logging(level: int = logging.INFO) -> None:
    """Install one JSON handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_lanebot", False):
            root.removeHandler(handler)
    handler = json_lines(logging.StreamHandler(sys.stderr))
    handler._lanebot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
