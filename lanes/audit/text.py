"""Text a database and Slack can take: the one normalisation applied at every boundary.

A model can answer with a lone UTF-16 surrogate (``"\\ud83d"`` in its JSON), a request can carry a
NUL, and neither SQLite's nor psycopg's encoder, nor PostgreSQL's ``text`` type, accepts them: the
write fails, and before this existed the run was left ``running`` with its attempt unrecorded. So
every text that is stored (by ``storage``) or posted (by ``bot.slack``) passes through
``storable_text`` first, the same on both databases, and the run records that it was repaired
(``runs.text_repaired``) so nobody mistakes the stored text for the exact bytes received.

What changes: lone surrogates become U+FFFD (the replacement character); NUL and the other C0
control characters except tab, newline and carriage return are dropped, as is DEL. Everything
else, including emoji and every script, passes untouched.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SURROGATE_LOW, _SURROGATE_HIGH = 0xD800, 0xDFFF


def _replace(match: re.Match[str]) -> str:
    return "\ufffd" if _SURROGATE_LOW <= ord(match.group()) <= _SURROGATE_HIGH else ""


def storable_text(text: str) -> tuple[str, bool]:
    """``text`` with what a store cannot take repaired, and whether anything was."""
    if _UNSTORABLE.search(text) is None:
        return text, False
    return _UNSTORABLE.sub(_replace, text), True


def needs_repair(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None
