"""``lanebot``'s exit codes: what a script can tell from ``$?`` without reading the output.

The table below is printed at the end of ``lanebot --help`` and repeated in the README's command
table; ``tests/test_documented_commands.py`` reads it from ``--help`` and fails any command that
exits with a code it does not list. A code whose text starts with ``ask:`` belongs to that
command only. 70 is documented so a person knows what it means, but it always marks a bug.
"""

from __future__ import annotations

import textwrap
from enum import IntEnum

HELP_WIDTH = 96


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    NEEDS_HUMAN = 3
    NEEDS_CONFIRMATION = 4
    STORE = 5
    INTERNAL = 70
    INTERRUPTED = 130
    BROKEN_PIPE = 141


MEANINGS: dict[Exit, str] = {
    Exit.OK: "done (audit: also when no run matches; digest --post: also when it was posted already)",
    Exit.FAILED: (
        "refused or failed: lanes.toml or a setting is invalid, an unknown lane, status or model, "
        "a refused decision, a run that failed, Slack refused the digest, init found a file in the way, "
        "doctor found a broken check, eval found a lane below its pass rate, a drill path misbehaved"
    ),
    Exit.USAGE: "the command line is wrong: an unknown command, option or choice, an unreadable time or week",
    Exit.NEEDS_HUMAN: "ask: the run needs a person (status needs_human); decide it like a draft",
    Exit.NEEDS_CONFIRMATION: "ask: the run would pass its budget and waits for an owner (needs_confirmation)",
    Exit.STORE: "the audit database cannot be used: unreachable, no tables, read-only, disk full",
    Exit.INTERNAL: "a bug in lanebot: run again with -v for the traceback and report it",
    Exit.INTERRUPTED: "interrupted (Ctrl-C)",
    Exit.BROKEN_PIPE: "the output was closed early (e.g. piped into head)",
}

BY_STATUS: dict[str, Exit] = {
    "drafted": Exit.OK,
    "needs_human": Exit.NEEDS_HUMAN,
    "needs_confirmation": Exit.NEEDS_CONFIRMATION,
    "failed": Exit.FAILED,
}
"""``lanebot ask``'s exit code by the run's status."""


def exit_status_help() -> str:
    """The ``exit status:`` section of ``lanebot --help``, one code per line."""
    lines = ["exit status:"]
    for code, text in MEANINGS.items():
        lines.append(
            textwrap.fill(text, HELP_WIDTH, initial_indent=f"  {int(code):<4} ", subsequent_indent=" " * 7)
        )
    return "\n".join(lines)


__all__ = ["BY_STATUS", "MEANINGS", "Exit", "exit_status_help"]
