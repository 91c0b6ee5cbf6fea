"""``lanebot --help`` and every command's help: each option explained, plain text, examples, exit codes.

The parser is walked, not sampled, so a command or option added later without help fails here.
"""

from __future__ import annotations

import argparse
import re
from importlib import metadata
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.cli.exits import MEANINGS, Exit

README = Path(__file__).resolve().parent.parent / "README.md"
RST_MARKUP = re.compile(r"``|:(?:class|func|meth|mod|attr|data|exc|obj|ref|doc):|`")
"""Inline literals, roles and any backtick: argparse prints docstring markup as is."""


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    return [("lanebot", build_parser()), *((f"lanebot {n}", p) for n, p in subcommands().items())]


@pytest.mark.parametrize(("name", "parser"), all_parsers(), ids=[name for name, _ in all_parsers()])
def test_every_option_and_argument_has_help(name: str, parser: argparse.ArgumentParser) -> None:
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS
    ]

    assert missing == [], f"{name}: no help for {missing}"


@pytest.mark.parametrize(("name", "parser"), all_parsers(), ids=[name for name, _ in all_parsers()])
def test_help_is_plain_text_with_a_description(name: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()

    assert not RST_MARKUP.search(text), f"{name} --help shows markup: {RST_MARKUP.findall(text)}"
    assert parser.description, f"{name} has no description"


@pytest.mark.parametrize("name", list(subcommands()))
def test_each_command_help_has_runnable_examples_and_exits_0(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])

    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lanebot {name}")
    examples = out.split("examples:\n", 1)[1].splitlines()
    assert examples and all(line.strip().startswith(f"lanebot {name}") for line in examples), out


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"lanebot {metadata.version('lanebot')}\n"


def test_top_level_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])

    section = capsys.readouterr().out.split("exit status:\n", 1)[1]
    listed = {int(code) for code in re.findall(r"^\s+(\d+)\s", section, flags=re.M)}
    assert listed == {int(code) for code in Exit} == {int(code) for code in MEANINGS}


def test_the_readme_table_lists_only_exit_codes_the_help_documents() -> None:
    """Each row's exit codes are among those ``lanebot --help`` gives that command."""
    table = README.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n\n", 2)[1]
    general = {int(c) for c, text in MEANINGS.items() if not re.match(r"[a-z]+: ", text)}
    rows = [line for line in table.splitlines() if line.startswith("| `lanebot")]
    assert len(rows) >= len(subcommands()) - 1  # serve and socket share a row
    for row in rows:
        command = re.match(r"\| `lanebot (\w+)", row)
        assert command is not None
        own = {int(c) for c, text in MEANINGS.items() if text.startswith(f"{command.group(1)}: ")}
        codes = {int(code) for code in re.findall(r"\b(\d+)\b", row.rsplit("|", 2)[-2])}
        assert codes, f"no exit codes in {row}"
        assert codes <= general | own, f"{row}: {codes - general - own} not in lanebot --help"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["audti"], "invalid choice: 'audti'; did you mean 'audit'?"),
        (
            ["decide", "0" * 32, "aprove", "--as", "U0OWNER"],
            "invalid choice: 'aprove'; did you mean 'approve'?",
        ),
        (["db", "upgrad"], "invalid choice: 'upgrad'; did you mean 'upgrade'?"),
        (["digest", "--week", "2026-47"], "week '2026-47' is not an ISO week; write it like 2026-W47"),
    ],
    ids=["command", "decision", "db-action", "week"],
)
def test_a_mistyped_word_is_a_usage_error_with_a_guess(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == Exit.USAGE
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
