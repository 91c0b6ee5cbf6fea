"""Every ``lanebot`` command as data: its name, help, description, examples, arguments, and its code.

``lanebot --help``, each ``lanebot COMMAND --help`` and the parsing of every command line are built
from this module alone. It imports the standard library and a few light parts of the domain (the
audit filters' grammar, the run statuses, the rejection reasons, the time windows): no SQLAlchemy,
pydantic, Slack SDK, model SDK or matplotlib. The code that runs a command lives in the module its
``Command.handler`` names and is imported only when that command runs (``bot.cli.main``), so a
command pays for what it uses and nothing else; ``tests/test_cli_startup.py`` holds this.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.parser import examples
from bot.cli.windows import since
from lanes.errors import InvalidRequestError
from lanes.lifecycle import REJECT_REASONS
from storage.audit_filters import RUN_STATUSES, TIME_FORMS, parse_time

if TYPE_CHECKING:
    from bot.digest.weeks import IsoWeek

DEFAULT_MAX_USD = 1.0
"""``lanebot eval``'s cap on model spend."""


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call: the option strings (or a positional's name) and its keywords."""

    names: tuple[str, ...]
    options: Mapping[str, Any]


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


@dataclass(frozen=True)
class OneOf:
    """Options that exclude each other (``audit --json`` or ``--csv``)."""

    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: str
    """Where the command's code is, ``module:function``; imported only when the command runs."""
    description: str | None = None
    examples: tuple[str, ...] = ()
    """Complete command lines, printed under ``examples:`` (tests/test_documented_commands.py runs them)."""
    arguments: tuple[Arg | OneOf, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Extra values the command's namespace carries (``service=True``: log lines stay on)."""

    def add_to(self, commands: Any) -> argparse.ArgumentParser:
        """Add this command's parser to ``commands`` (``add_subparsers``' action)."""
        texts: dict[str, str] = {"help": self.help}
        if self.description is not None:
            texts["description"] = self.description
        if self.examples:
            texts["epilog"] = examples(*self.examples)
        parser: argparse.ArgumentParser = commands.add_parser(self.name, **texts)
        for argument in self.arguments:
            if isinstance(argument, OneOf):
                group = parser.add_mutually_exclusive_group()
                for one in argument.args:
                    group.add_argument(*one.names, **one.options)
            else:
                parser.add_argument(*argument.names, **argument.options)
        parser.set_defaults(handler=self.handler, **self.defaults)
        return parser


# --- argument types -------------------------------------------------------------------------------


def audit_time(value: str) -> datetime:
    """``--since``/``--until`` of ``lanebot audit``: the same forms as Slack's ``/lanebot audit``."""
    try:
        return parse_time(value, datetime.now(UTC))
    except InvalidRequestError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def iso_week(value: str) -> IsoWeek:
    """``--week`` of ``lanebot digest``. ``bot.digest`` (SQL aggregates, Slack posting, the chart)
    loads with its weeks module, so it is imported here, when a week is given, not to build the parser."""
    from bot.digest.weeks import parse_iso_week

    try:
        return parse_iso_week(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- the commands, in the order lanebot --help lists them -----------------------------------------

OFFLINE_HELP = "serve every tier with the offline sample model"
AUDIT_FILTERS = {
    "lane": "only runs of this lane (e.g. support)",
    "model": "only runs that used this model or tier (e.g. fast, gpt-5-mini)",
    "status": f"only runs in this status: {', '.join(RUN_STATUSES)}",
    "reviewer": "only runs this person approved, edited or rejected (Slack user id)",
    "requester": "only runs this person asked for (Slack user id, or cli:NAME)",
    "text": "only runs whose stored (redacted) request or draft contains this text",
}

COMMANDS: tuple[Command, ...] = (
    Command(
        "check",
        help="validate lanes.toml and explain each lane's policy",
        description="Validate lanes.toml and print each lane's policy in plain language.",
        examples=("lanebot check", "lanebot check --config lanes.toml"),
        handler="bot.cli.admin:cmd_check",
    ),
    Command(
        "db",
        help="audit store schema: apply migrations or show the revision",
        description="Apply the audit store's migrations (also done on every start), or show its revision.",
        examples=("lanebot db upgrade", "lanebot db current"),
        arguments=(
            arg(
                "action",
                choices=["upgrade", "current"],
                help="upgrade: apply every migration; current: print the schema revision",
            ),
        ),
        handler="bot.cli.admin:cmd_db",
    ),
    Command(
        "manifest",
        help="print a Slack app manifest generated from lanes.toml",
        description="Print a Slack app manifest (JSON) with one slash command per lane.",
        examples=("lanebot manifest", "lanebot manifest --request-url https://example.com/slack/events"),
        arguments=(
            arg("--request-url", help="public https URL of /slack/events (HTTP mode); omit for Socket Mode"),
            arg("--name", default="lanebot", help="the app's and the bot's display name"),
        ),
        handler="bot.cli.admin:cmd_manifest",
    ),
    Command(
        "serve",
        help="run the Slack app over HTTP (/slack/events, /healthz)",
        description="Run the Slack app over HTTP until Ctrl-C or SIGTERM; logs are JSON lines on stderr.",
        examples=("lanebot serve --port 3000", "lanebot serve --port 3000 --offline"),
        arguments=(
            arg("--port", type=int, default=None, help="port to listen on (default: $LANEBOT_PORT or 3000)"),
            arg("--offline", action="store_true", help=OFFLINE_HELP),
        ),
        defaults={"service": True},
        handler="bot.cli.admin:cmd_serve",
    ),
    Command(
        "socket",
        help="run the Slack app in Socket Mode (needs SLACK_APP_TOKEN)",
        description="Run the Slack app in Socket Mode until Ctrl-C or SIGTERM; no public URL needed.",
        examples=("lanebot socket", "lanebot socket --offline"),
        arguments=(arg("--offline", action="store_true", help=OFFLINE_HELP),),
        defaults={"service": True},
        handler="bot.cli.admin:cmd_socket",
    ),
    Command(
        "playground",
        help="try every lane and button in a browser, no Slack needed",
        description="The bot against a local Slack stand-in, in your browser, until Ctrl-C.",
        examples=("lanebot playground", "lanebot playground --port 8766 --no-browser"),
        arguments=(
            arg("--port", type=int, default=8765, help="port of the page (default: 8765)"),
            arg("--no-browser", action="store_true", help="do not open a browser tab"),
            arg(
                "--demo",
                action="store_true",
                help="open a separate demo store (lanebot-demo.db beside the audit store) seeded with "
                "eight weeks of sample runs, so the digest and the audit have something to show",
            ),
        ),
        handler="bot.cli.admin:cmd_playground",
    ),
    Command(
        "ask",
        help="run a lane exactly as the bot does and print route, draft and run id",
        description=(
            "Run a lane exactly as the bot does: route, model calls, checks, audit record. Prints the "
            "route and why, the draft, cost, latency and the run id."
        ),
        examples=(
            'lanebot ask support "Customer says they were charged twice" --offline',
            'lanebot ask contract "This agreement renews on 2027-03-01." --offline --json',
        ),
        arguments=(
            arg("lane", help="the lane to run, as named in lanes.toml (e.g. support)"),
            arg("text", nargs="?", help="the request (default: read standard input)"),
            arg("--as", dest="actor", help="requester id recorded in the audit (default: cli:$USER)"),
            arg(
                "--offline",
                action="store_true",
                help="serve every tier with the built-in offline sample model (also: LANEBOT_OFFLINE=1)",
            ),
            arg("--json", action="store_true", help="print the result as JSON"),
        ),
        handler="bot.cli.ask_decide:cmd_ask",
    ),
    Command(
        "decide",
        help="approve, edit or reject a draft (same rules as the Slack buttons)",
        description="Approve, edit or reject a draft, through the same rules as the Slack buttons.",
        examples=(
            "lanebot decide RUN approve --as U0OWNER",
            'lanebot decide RUN reject --as U0OWNER --reason "wrong tone"',
            "lanebot decide RUN edit --as U0OWNER --text-file reply.txt",
        ),
        arguments=(
            arg("run_id", metavar="RUN", help="the run id that ask or the audit printed"),
            arg("action", choices=["approve", "reject", "edit"], help="what to decide"),
            arg("--as", dest="actor", required=True, help="Slack user id of the person deciding"),
            arg("--reason", choices=REJECT_REASONS, help="why a draft is rejected (required for reject)"),
            arg("--note", help="optional free text kept with the decision"),
            arg("--text-file", type=Path, help="the edited text (required for edit)"),
        ),
        handler="bot.cli.ask_decide:cmd_decide",
    ),
    Command(
        "audit",
        help="search runs, or audit show RUN for one run's lineage",
        description=(
            "Search the audit trail (newest first), or show one run's lineage with audit show RUN. "
            "Filters combine with AND; times are the same as in Slack's /lanebot audit."
        ),
        examples=(
            "lanebot audit --lane support --status approved --since 7d",
            "lanebot audit --since 2026-11-01 --until 2026-11-08T12:00Z --csv",
            "lanebot audit --model fast --json",
            "lanebot audit show RUN",
        ),
        arguments=(
            arg("show", nargs="?", metavar="show", help="the word show, to print one run's lineage"),
            arg("run_id", nargs="?", metavar="RUN", help="with show: the run id"),
            *(arg(f"--{name}", help=text) for name, text in AUDIT_FILTERS.items()),
            arg("--since", type=audit_time, help=f"runs from this time on: {TIME_FORMS}"),
            arg("--until", type=audit_time, help="runs before this time (same forms as --since)"),
            arg("--limit", type=int, default=50, help="at most this many runs (default: 50)"),
            OneOf(
                (
                    arg("--json", action="store_true", help="print a JSON array, one object per run"),
                    arg("--csv", action="store_true", help="print CSV with a header line"),
                )
            ),
        ),
        handler="bot.cli.audit:cmd_audit",
    ),
    Command(
        "digest",
        help="print the weekly digest, or post it to the digest channel",
        description=(
            "The weekly digest of cost, routes and rework, from the audit store: printed as text "
            "or JSON, or posted to the [digest] channel once per week."
        ),
        examples=("lanebot digest", "lanebot digest --week 2026-W47 --json", "lanebot digest --post"),
        arguments=(
            arg(
                "--week",
                type=iso_week,
                help="ISO week such as 2026-W47 (default: the last completed week in the digest's timezone)",
            ),
            arg("--json", action="store_true", help="print the digest as JSON"),
            arg(
                "--post",
                action="store_true",
                help="post it to the [digest] channel with the Slack Web API (needs SLACK_BOT_TOKEN; "
                "SLACK_API_URL for a proxy); a week already posted there is not posted again",
            ),
        ),
        handler="bot.cli.digest:cmd_digest",
    ),
    Command(
        "init",
        help="write lanes.toml, .env.example and slack-manifest.json here (never overwrites)",
        description=(
            "Write a commented lanes.toml, an .env.example and the Slack app manifest into a folder, "
            "so an installed lanebot has everything the repository has. Refuses to overwrite any file."
        ),
        examples=("lanebot init --dir my-lanebot",),
        arguments=(arg("--dir", default=".", help="the folder to write into (default: the current one)"),),
        handler="bot.cli.setup_commands:cmd_init",
    ),
    Command(
        "doctor",
        help="check config, database, model keys and Slack, and say what to fix",
        description=(
            "Check what a deployment needs, one line each: lanes.toml, the database and its schema, "
            "each model key (one one-token call per tier), the Slack token, its scopes and the digest "
            "channel. Not set up yet is 'todo'; only a broken check (FAIL) exits 1."
        ),
        examples=("lanebot doctor --offline",),
        arguments=(arg("--offline", action="store_true", help="skip the model keys (no model is called)"),),
        handler="bot.cli.setup_commands:cmd_doctor",
    ),
    Command(
        "golden",
        help="golden sets: harvest them from decisions, check them, retire an example",
        description=(
            "A lane's golden set is the examples its owners agreed on (evals/LANE.jsonl; the format "
            "is in docs/golden-sets.md). harvest appends the runs people approved, edited or rejected "
            "since --since that the file does not have yet; check validates every golden set; retire "
            "keeps an example in the file but stops lanebot eval from running it."
        ),
        examples=(
            "lanebot golden check",
            "lanebot golden harvest --lane support --dry-run",
            "lanebot golden harvest --lane support --since 2w --dry-run",
        ),
        arguments=(
            arg(
                "action",
                choices=["harvest", "check", "retire"],
                help="harvest (needs --lane), check, or retire (needs EXAMPLE and --lane)",
            ),
            arg("example", nargs="?", help="retire: the example's id (as golden check lists it)"),
            arg("--lane", help="the lane (required for harvest and retire)"),
            arg("--since", type=since, default=None, help="harvest runs since: 30d (default), 2w, ISO date"),
            arg("--dir", type=Path, default=Path("evals"), help="where golden sets live (default ./evals)"),
            arg("--dry-run", action="store_true", help="harvest: say what would be added, write nothing"),
            arg("--reason", help="retire: why (kept in the example)"),
        ),
        handler="bot.cli.golden_sets:cmd_golden",
    ),
    Command(
        "eval",
        help="run lanes' golden sets through a policy (--config); a CI gate",
        description=(
            "Each golden example is a real engine run on a scratch audit store under the policy in "
            "--config; scores are deterministic (route, checks, JSON and evidence, similarity to "
            "the reference). Exits 1 when a lane's pass rate is below its min_pass_rate; with "
            "--baseline it names the examples that regressed against a second lanes.toml."
        ),
        examples=(
            "lanebot eval --offline",
            "lanebot eval --offline --lane support --json",
            "lanebot eval --offline --baseline lanes.toml",
        ),
        arguments=(
            arg("--lane", action="append", help="only this lane (repeat for several)"),
            arg("--offline", action="store_true", help=OFFLINE_HELP),
            arg(
                "--max-usd",
                type=float,
                default=DEFAULT_MAX_USD,
                help=f"hard cap on model spend (default ${DEFAULT_MAX_USD:.2f})",
            ),
            arg(
                "--baseline", type=Path, help="a second lanes.toml to compare against (e.g. the current one)"
            ),
            arg("--dir", type=Path, default=Path("evals"), help="where golden sets live (default ./evals)"),
            arg("--junit", type=Path, help="write JUnit XML here"),
            arg("--json", action="store_true", help="print the results as JSON"),
        ),
        handler="bot.cli.evals:cmd_eval",
    ),
    Command(
        "policy",
        help="the policy log: every lanes.toml the bot has run under, and what changed",
        description=(
            "Each distinct policy (lanes.toml, canonical and without secrets) is stored once, when a "
            "process first routes under it, and every run points at it. log lists them, show prints "
            "one, diff prints the settings that changed between two (stored hashes or prefixes, or "
            "lanes.toml paths)."
        ),
        examples=(
            "lanebot policy log",
            "lanebot policy log --json",
            "lanebot policy diff lanes.toml bot/cli/templates/lanes.toml",
        ),
        arguments=(
            arg(
                "action",
                choices=["log", "show", "diff"],
                help="log (no HASH), show (one HASH) or diff (two: OLD NEW)",
            ),
            arg("refs", nargs="*", metavar="HASH", help="policy hashes (or prefixes), or lanes.toml paths"),
            arg("--json", action="store_true", help="log: print the list as JSON"),
        ),
        handler="bot.cli.policy_log:cmd_policy",
    ),
    Command(
        "routes",
        help="routes diff: past runs the candidate (--config) would route differently; no model calls",
        description=(
            "Replays the route inputs every run recorded through the routing of the lanes.toml in "
            "--config, and counts per lane the runs it would route differently and the estimated "
            "cost now and under the candidate. Free and offline: no model is called."
        ),
        examples=(
            "lanebot routes diff",
            "lanebot routes diff --lane support --since 24h --runs",
            "lanebot routes diff --config lanes.toml --json",
        ),
        arguments=(
            arg("action", choices=["diff"], help="diff (the only action)"),
            arg("--since", type=since, default=None, help="7d (default), 24h, 2w or an ISO date"),
            arg("--lane", help="only this lane"),
            arg("--runs", action="store_true", help="list every changed run too"),
            arg("--json", action="store_true", help="print the diff as JSON (every changed run)"),
        ),
        handler="bot.cli.routes:cmd_routes_diff",
    ),
    Command(
        "shadow",
        help="shadow report: the [shadow] tier's drafts next to the live drafts and the decisions",
        description=(
            "A lane with a [lanes.LANE.shadow] tier has that tier answer a sample of live runs in the "
            "background (never shown, capped by its daily budget). The report compares them per lane: "
            "answered, passed checks, skipped, cost and latency of each side, and how close each came "
            "to the text people approved."
        ),
        examples=("lanebot shadow report", "lanebot shadow report --lane support --since 24h --json"),
        arguments=(
            arg("action", choices=["report"], help="report (the only action)"),
            arg("--lane", help="only this lane"),
            arg("--since", type=since, default=None, help="7d (default), 24h, 2w or an ISO date"),
            arg("--json", action="store_true", help="print the report as JSON"),
        ),
        handler="bot.cli.shadow_report:cmd_shadow_report",
    ),
    Command(
        "drill",
        help="fire drills: every lane's fallback paths, faults injected, no model calls",
        description=(
            "Runs every lane's failure paths (default timed out, fallback down, audit store down, "
            "draft fails checks, budget exhausted, models disagree) through the real engine on a "
            "scratch store with faults injected, and checks each ends where lanes.toml says. "
            "Exits 1 when a path misbehaves, naming it."
        ),
        examples=("lanebot drill", "lanebot drill --lane support --json"),
        arguments=(
            arg("--lane", action="append", help="only this lane (repeat for several)"),
            arg("--post", metavar="CHANNEL", help="also post the table to this Slack channel id"),
            arg("--json", action="store_true", help="print the results as JSON"),
        ),
        handler="bot.cli.drill:cmd_drill",
    ),
)


__all__ = ["COMMANDS", "DEFAULT_MAX_USD", "Arg", "Command", "OneOf", "arg", "audit_time", "iso_week"]
