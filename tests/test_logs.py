"""JSON log lines carry structured fields and never a secret, wherever it hides."""

from __future__ import annotations

import io
import json
import logging

from bot.runtime.logs import JsonFormatter
from storage.redaction import RedactingFilter

KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


def emit(record_args: dict) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("lanebot.test.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error(*record_args.pop("args"), **record_args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_fields_are_structured_and_secrets_scrubbed_everywhere():
    try:
        raise RuntimeError(f"provider said key {KEY} is bad")
    except RuntimeError:
        line = emit(
            {
                "args": ("call failed for %s", KEY),
                "exc_info": True,
                "extra": {"run_id": "r1", "lane": "support", "detail": {"key": KEY}},
            }
        )
    assert KEY not in line
    payload = json.loads(line)
    assert payload["run_id"] == "r1" and payload["lane"] == "support" and payload["level"] == "error"
    assert "RuntimeError" in payload["exc"]
