"""A logging filter that keeps credentials out of every log line.

Installed on the root handlers (``bot.runtime.logs.configure_logging``), it sees every record any library
emits. It uses the secret rules only — regular expressions, no libraries — so it costs microseconds
per record. Personal data is not its job: code must not log request text in the first place.

The message is formatted here (``msg % args``) and the result scrubbed, because a secret can hide
in any argument, including an exception or a dict. Exception text, stack text and string-valued
``extra`` fields are scrubbed too. Formatters should print ``record.exc_text`` (which the standard
``logging.Formatter`` does) rather than format ``exc_info`` again.
"""

from __future__ import annotations

import logging
import traceback

from storage.redaction._secrets import scrub_secrets

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrites each record so no secret survives in its message, args, exception or extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_secrets(_message(record)).text
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = scrub_secrets(record.exc_text).text
        if record.stack_info:
            record.stack_info = scrub_secrets(record.stack_info).text
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, scrub_secrets(value).text)
        return True


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a broken format string must not turn into a leak through handleError
        return f"{record.msg} (log arguments withheld: they did not match the format string)"
