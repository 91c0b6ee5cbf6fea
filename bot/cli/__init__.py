"""``lanebot``: validate lanes, run them from a terminal, search the audit trail, serve the bot.

Every subcommand goes through the same engine, store and decision code as the Slack app, so
what works here works there. Errors are printed as one plain message with the fix and a
non-zero exit code; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import admin, ask_decide, audit, drill, evals, golden, policy, routes
from lanes.errors import LanebotError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
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
        help="log at INFO level (JSON lines on stderr)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lanebot", description=__doc__.splitlines()[0])
    _global_options(parser, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for module in (admin, ask_decide, audit, golden, evals, policy, routes, drill):
        module.register(commands)
    for subcommand in commands.choices.values():
        _global_options(subcommand, argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from bot.runtime.logs import configure_logging

    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    try:
        return int(args.handler(args) or 0)
    except LanebotError as exc:
        for line in str(exc).splitlines():  # a ConfigError carries one line per problem
            print(f"lanebot: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`lanebot audit --csv | head`): stop quietly, and point stdout at
        # /dev/null so the interpreter's final flush does not print a second traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
