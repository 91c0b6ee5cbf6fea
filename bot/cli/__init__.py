"""``lanebot``: validate lanes, run them from a terminal, search the audit trail, serve the bot.

Every subcommand goes through the same engine, store and decision code as the Slack app, so
what works here works there. ``main`` is the one error boundary (``bot.cli.boundary``): a
failure prints one paragraph with the fix and exits with a documented code (``bot.cli.exits``);
``-v`` adds the traceback and the log lines. At default verbosity the JSON log lines, which are
meant for a running service, stay out of the terminal, except under ``serve`` and ``socket``.

The parser is built from ``bot.cli.command_table`` alone, and a command's code (the module its
handler names) is imported only once the command line has been parsed: ``lanebot --help`` and
each command's ``--help`` load no database, Slack or model library, and a command loads only
what it uses. The error boundary, too, is imported only when there is an error to report.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.cli.command_table import COMMANDS
from bot.cli.exits import Exit, exit_status_help
from bot.cli.parser import CommandParser, SuggestingParser

DESCRIPTION = "lanebot: validate lanes, run them from a terminal, search the audit trail, serve the bot."
EPILOG = "Run lanebot COMMAND --help for a command's options and examples."
EXIT_USAGE = int(Exit.USAGE)


def version() -> str:
    """The installed distribution's version (``pyproject.toml``), or "unknown" from a bare checkout."""
    from importlib import metadata

    try:
        return metadata.version("lanebot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed; run scripts/setup)"


class VersionAction(argparse.Action):
    """``--version``, as argparse's own prints it, except that the installed version is looked up
    only when asked for: ``importlib.metadata`` and its search of the installed distributions
    would otherwise be one of the largest parts of every command's start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        formatter = parser._get_formatter()
        formatter.add_text(f"lanebot {version()}")
        parser._print_message(formatter.format_help(), sys.stdout)
        parser.exit()


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every command takes; also added to each subcommand (with ``SUPPRESS`` so an
    unused one there keeps the top-level value), so ``lanebot check --config F`` works too."""
    parser.add_argument(
        "--config", default=default, help="lanes file (default: $LANEBOT_CONFIG or ./lanes.toml)"
    )
    parser.add_argument(
        "--database-url",
        default=default,
        help="audit store URL (default: $DATABASE_URL or sqlite:///lanebot.db)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if default is None else default,
        help="show log lines (JSON on stderr) and, on an error, its traceback",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = SuggestingParser(
        prog="lanebot", description=DESCRIPTION, epilog=f"{EPILOG}\n\n{exit_status_help()}"
    )
    parser.add_argument("--version", action=VersionAction)
    _global_options(parser, None)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CommandParser, help="one of:"
    )
    for command in COMMANDS:
        command.add_to(commands)
    for subcommand in commands.choices.values():
        _global_options(subcommand, argparse.SUPPRESS)
    return parser


def configure_cli_logging(verbose: bool, service: bool) -> None:
    """JSON log lines on stderr for ``-v`` and for the services; nothing for a person at a terminal.

    A ``NullHandler`` (rather than no handler) keeps Python's last-resort handler from printing
    warnings as bare text: what a person should read is printed by the command itself.
    """
    if verbose or service:
        from bot.runtime.logs import configure_logging  # the JSON lines' secret scrubber: heavy

        configure_logging(logging.INFO)
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_lanebot", False):
            root.removeHandler(handler)
    quiet = logging.NullHandler()
    quiet._lanebot = True  # type: ignore[attr-defined]
    root.addHandler(quiet)
    root.setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_cli_logging(args.verbose, getattr(args, "service", False))
    try:
        return int(handler(args.handler)(args) or 0)
    except KeyboardInterrupt:
        return int(Exit.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`lanebot audit --csv | head`): stop quietly, and point stdout at
        # /dev/null so the interpreter's final flush does not print a second traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(Exit.BROKEN_PIPE)
    except Exception as exc:
        from bot.cli.boundary import report
        from bot.runtime.core import database_url

        return report(exc, database_url(args.database_url, os.environ), verbose=args.verbose)


def handler(where: str) -> Any:
    """The function ``module:function`` names (``Command.handler``), its module imported now."""
    module, _, function = where.partition(":")
    return getattr(importlib.import_module(module), function)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
