"""The list of detected families in ``docs/redaction.md``, generated from the rules table.

    python -m storage.redaction._docs [PATH]     rewrite the generated section of PATH
                                                 (default docs/redaction.md)

``tests/test_redaction_families.py`` fails when the document and the table drift apart.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from storage.redaction._rules import RULES, Rule

START, END = "<!-- families: start -->\n", "<!-- families: end -->"
_SECTION = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)


def families_markdown() -> str:
    """Two tables, secrets then personal data, one row per rule, in precedence order."""
    return (
        "**Secrets**: redacted before storing, in every log line and in drafts posted to Slack.\n\n"
        + _table(rule for rule in RULES if not rule.personal)
        + "\n**Personal data**: redacted before storing (and before the model with "
        "`redact_before_model = true`).\n\n" + _table(rule for rule in RULES if rule.personal)
    )


def _table(rules: Iterable[Rule]) -> str:
    rows = ["| Family | What is detected | Confirmed by | Replaced by | Finding |", "|---|---|---|---|---|"]
    for rule in rules:
        check = rule.detector.check
        confirmed = str(check) if check is not None else rule.confirmed_by or "shape only"
        rows.append(f"| {rule.family} | {rule.shape} | {confirmed} | `{rule.token}` | `{rule.entity}` |")
    return "\n".join(rows) + "\n"


def rewrite(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if not _SECTION.search(text):
        raise SystemExit(f"{path}: no section between {START.strip()} and {END}; add the two markers")
    path.write_text(_SECTION.sub(lambda _: START + families_markdown() + END, text), encoding="utf-8")


if __name__ == "__main__":
    rewrite(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "docs" / "redaction.md")
