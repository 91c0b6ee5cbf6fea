"""The argparse pieces every ``lanebot`` command shares: "did you mean", intermixed options, examples.

Help texts are plain text (no reStructuredText: argparse prints docstring markup as is), and each
command's ``--help`` ends with examples that ``tests/test_documented_commands.py`` runs.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import Any

from lanes.choices import UnknownChoiceError


class HelpFormatter(argparse.HelpFormatter):
    """Wraps prose to the terminal, keeps indented lines (examples, the exit codes) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith(" ") or line.endswith(":") or not line.strip():
                lines.append(indent + line)
            else:
                lines.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(lines)


class SuggestingParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose "invalid choice" names the closest choice (``lanebot audti``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        refusal = UnknownChoiceError("choice", str(value), [str(choice) for choice in choices])
        guess = f"; did you mean {refusal.suggestion!r}?" if refusal.suggestion else ""
        listed = ", ".join(refusal.choices)
        raise argparse.ArgumentError(action, f"invalid choice: {value!r}{guess} (choose from {listed})")


class CommandParser(SuggestingParser):
    """A subcommand parser that takes positionals after options, in the order people type them.

    Plain argparse fills positionals from the first run of words only, so in
    ``lanebot ask support --offline "text"`` the optional ``text`` is settled (empty) before
    ``"text"`` arrives, which is then rejected as unrecognized. Intermixed parsing reads the
    options first and the positionals after.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing:  # parse_known_intermixed_args calls back into this method
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def examples(*commands: str) -> str:
    """An ``examples:`` epilog; each line is a complete command a person can paste."""
    return "examples:\n" + "\n".join(f"  {command}" for command in commands)


__all__ = ["CommandParser", "HelpFormatter", "SuggestingParser", "examples"]
