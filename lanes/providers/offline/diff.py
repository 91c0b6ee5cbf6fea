"""The offline sample's code suggestion: a small unified diff built from the request's own code.

The code lane's prompts ask for "a unified diff or a short snippet, then one paragraph of why".
The sample cannot reason about code, so it makes the smallest change that is still honest and
well-formed: with a Python ``def`` in the request and a word about missing or bad values, a guard
for the function's first argument; otherwise a ``TODO`` comment carrying the request, above the
first line of the snippet. Without any code it adds a stub to the file the request names. The
hunk header counts are exact, so the diff applies with ``patch`` or ``git apply`` to the quoted
lines, and the paragraph after it says what the sample did and did not do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lanes.providers.offline.banner import BANNER

MAX_CONTEXT_LINES = 6
MAX_NOTE_CHARS = 72
_FENCED = re.compile(r"```[\w+-]*[ \t]*\n(.*?)```", re.S)
_FILE = re.compile(r"\b[\w./-]*\w\.(?:py|js|ts|tsx|go|rb|java|rs|sql|sh|ya?ml|toml|cs|php|kt)\b")
_CODE_LINE = re.compile(
    r"^\s*(?:(?:def|class|return|const|let|var|function|func|fn|public|private)\s"
    r"|import \w|from \w+ import|(?:if|for|while) .*:\s*$"
    r"|\w[\w.]*\(.*\)\s*;?\s*$|[\w.]+\s*=[^=]|.*(?:=>|[;{}])\s*$)"
)
_DEF = re.compile(r"^(\s*)def\s+\w+\s*\(\s*(?:(?:self|cls)\s*,\s*)?([A-Za-z_]\w*)")
_GUARD_WORDS = re.compile(r"\b(?:none|null|empty|missing|crash\w*|valid\w*|check|error|exception)\b", re.I)
_HASH_COMMENT = (".py", ".rb", ".sh", ".yml", ".yaml", ".toml")


@dataclass(frozen=True)
class Change:
    """One hunk: the quoted lines as they are, and what is inserted after ``after`` of them."""

    path: str
    context: tuple[str, ...]
    after: int
    added: tuple[str, ...]


def code_suggestion(request: str) -> str:
    """The banner, a fenced unified diff, and one paragraph saying what the sample changed and why."""
    change = _change(request)
    why = (
        "Why: the offline sample adds a guard for a missing value at the top of the function."
        if any("raise ValueError" in line for line in change.added)
        else "Why: the offline sample only marks where the change goes; a real model would write it."
    )
    return "\n".join((BANNER, "```diff", unified_diff(change), "```", why))


def unified_diff(change: Change) -> str:
    """``change`` as a one-hunk unified diff with exact line counts."""
    old, new = len(change.context), len(change.context) + len(change.added)
    if not change.context:
        header = ["--- /dev/null", f"+++ b/{change.path}", f"@@ -0,0 +1,{new} @@"]
    else:
        header = [f"--- a/{change.path}", f"+++ b/{change.path}", f"@@ -1,{old} +1,{new} @@"]
    body = [f" {line}" for line in change.context[: change.after]]
    body += [f"+{line}" for line in change.added]
    body += [f" {line}" for line in change.context[change.after :]]
    return "\n".join(header + body)


def _change(request: str) -> Change:
    path_match = _FILE.search(request)
    snippet = _snippet(request)
    path = path_match.group(0) if path_match else "example.py"
    note = _note(request)
    if not snippet:
        return Change(
            path,
            (),
            0,
            (f"{_comment(path)} TODO: {note}", "def todo() -> None:", "    raise NotImplementedError"),
        )
    guard = _guard(snippet) if _GUARD_WORDS.search(request) else None
    if guard is not None:
        return Change(path, snippet, 1, guard)
    indent = snippet[0][: len(snippet[0]) - len(snippet[0].lstrip())]
    return Change(path, snippet, 0, (f"{indent}{_comment(path)} TODO: {note}",))


def _snippet(request: str) -> tuple[str, ...]:
    """The first lines of code in the request: a fenced block, else the lines that look like code."""
    fenced = _FENCED.search(request)
    lines = (
        fenced.group(1).splitlines()
        if fenced
        else [line for line in request.splitlines() if _CODE_LINE.match(line)]
    )
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    return tuple(lines[:MAX_CONTEXT_LINES])


def _guard(snippet: tuple[str, ...]) -> tuple[str, ...] | None:
    found = _DEF.match(snippet[0])
    if found is None:
        return None
    indent, argument = found.group(1) + "    ", found.group(2)
    return (f"{indent}if {argument} is None:", f'{indent}    raise ValueError("{argument} is required")')


def _note(request: str) -> str:
    first = next(
        (line.strip() for line in request.splitlines() if line.strip() and not line.startswith("```")), ""
    )
    return first if len(first) <= MAX_NOTE_CHARS else first[: MAX_NOTE_CHARS - 1].rstrip() + "…"


def _comment(path: str) -> str:
    if path.endswith(".sql"):
        return "--"
    return "#" if path.endswith(_HASH_COMMENT) else "//"
