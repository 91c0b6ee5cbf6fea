"""The run lifecycle's one state table: its shape, its mappings, its doc, and that nobody else writes
a status.

The table checks are functions of a table (``unreachable``, ``exits_from_terminal``, ...), run on
``TRANSITIONS`` and on a broken copy, so each can be seen to fail. The source scan at the end is
what keeps "one owner" true as the code grows: a status write anywhere but ``lanes/lifecycle.py``
and the store modules that execute transitions fails it.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent
from typing import get_args

import pytest

from lanes.lifecycle import (
    ALL_STATUSES,
    AWAITING_REVIEW,
    DOC_BEGIN,
    DOC_END,
    IN_FLIGHT,
    TERMINAL_STATUSES,
    TRANSITIONS,
    IllegalTransitionError,
    Transition,
    Trigger,
    decision_transition,
    end_of_model_work,
    lifecycle_diagram,
    lifecycle_doc_block,
    transition,
    with_lifecycle_block,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "lifecycle.md"


# --- the table's shape, as functions of a table --------------------------------------------------


def unreachable(table: Iterable[Transition]) -> set[str]:
    """Statuses no path from a creating transition reaches."""
    edges = [(set(t.sources), t.target) for t in table if t.target is not None]
    seen: set[str] = {target for sources, target in edges if not sources}
    frontier = set(seen)
    while frontier:
        frontier = {target for sources, target in edges if target not in seen and sources & frontier}
        seen |= frontier
    return set[str](ALL_STATUSES) - seen


def exits_from_terminal(table: Iterable[Transition]) -> set[str]:
    """Triggers that move a run out of a terminal status."""
    return {t.trigger for t in table if set(t.sources) & TERMINAL_STATUSES}


def dead_ends(table: Iterable[Transition]) -> set[str]:
    """Non-terminal statuses with no transition out: a run there would wait forever."""
    table = tuple(table)
    leaving = {source for t in table if t.target is not None for source in t.sources}
    return set[str](ALL_STATUSES) - set(TERMINAL_STATUSES) - leaving


def repeated_triggers(table: Iterable[Transition]) -> set[str]:
    return {trigger for trigger, n in Counter(t.trigger for t in table).items() if n > 1}


def test_every_status_is_reachable_from_a_creating_transition() -> None:
    assert unreachable(TRANSITIONS) == set()
    only_queueing = [t for t in TRANSITIONS if t.trigger not in ("start", "adopt")]
    assert unreachable(only_queueing) == set(ALL_STATUSES) - {"queued", "failed"}


def test_terminal_statuses_have_no_way_out() -> None:
    assert exits_from_terminal(TRANSITIONS) == set()
    reopen = Transition("reject", frozenset({"approved"}), "drafted", "a bug")
    assert exits_from_terminal([*TRANSITIONS, reopen]) == {"reject"}


def test_every_status_that_is_not_terminal_has_a_way_on() -> None:
    assert dead_ends(TRANSITIONS) == set()
    assert dead_ends([t for t in TRANSITIONS if t.trigger not in ("adopt", "recover")]) == {"queued"}


def test_every_trigger_is_unique_and_every_declared_trigger_is_used() -> None:
    assert repeated_triggers(TRANSITIONS) == set()
    assert repeated_triggers([*TRANSITIONS, transition("draft")]) == {"draft"}
    assert sorted(t.trigger for t in TRANSITIONS) == sorted(get_args(Trigger))


def test_the_status_groups_partition_every_status() -> None:
    groups = (IN_FLIGHT, AWAITING_REVIEW, TERMINAL_STATUSES)
    assert sum(len(g) for g in groups) == len(ALL_STATUSES) == len(set(ALL_STATUSES))
    assert set().union(*groups) == set(ALL_STATUSES)


def test_only_counted_decisions_may_leave_the_status_as_it_is() -> None:
    counted = {t.trigger for t in TRANSITIONS if t.counted}
    assert counted == {"approve", "edit", "approve_partly"}
    assert [t.trigger for t in TRANSITIONS if t.target is None] == ["approve_partly"]
    assert all(t.sources == AWAITING_REVIEW for t in TRANSITIONS if t.counted)


def test_only_start_and_enqueue_create_a_run() -> None:
    assert {t.trigger: t.target for t in TRANSITIONS if t.creates} == {
        "start": "running",
        "enqueue": "queued",
    }


# --- the mappings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "completes", "trigger"),
    [
        ("approve", True, "approve"),
        ("edit", True, "edit"),
        ("approve", False, "approve_partly"),
        ("edit", False, "approve_partly"),
        ("reject", True, "reject"),
        ("reject", False, "reject"),
    ],
)
def test_decision_transition_maps_each_decision(action: str, completes: bool, trigger: str) -> None:
    assert decision_transition(action, completes) == transition(trigger)


@pytest.mark.parametrize("action", ["expire", "run_anyway", "approval", "", "APPROVE"])
def test_an_unknown_decision_is_an_illegal_transition(action: str) -> None:
    with pytest.raises(IllegalTransitionError, match="no decision is called"):
        decision_transition(action, True)


@pytest.mark.parametrize(
    ("ending", "trigger"),
    [
        ("drafted", "draft"),
        ("needs_human", "hand_to_human"),
        ("needs_confirmation", "ask_confirmation"),
        ("failed", "fail"),
    ],
)
def test_end_of_model_work_maps_each_ending_to_a_move_from_running(ending: str, trigger: str) -> None:
    change = end_of_model_work(ending)
    assert change == transition(trigger)
    assert change.target == ending and change.sources == frozenset({"running"})


@pytest.mark.parametrize("ending", ["approved", "running", "queued", "expired", "", "draft"])
def test_model_work_cannot_end_in_any_other_status(ending: str) -> None:
    with pytest.raises(IllegalTransitionError, match="model work cannot end as"):
        end_of_model_work(ending)


@pytest.mark.parametrize("trigger", ["finish", "Approve", "approved", "", "recover "])
def test_an_unknown_trigger_raises_naming_it(trigger: str) -> None:
    with pytest.raises(IllegalTransitionError, match=re.escape(repr(trigger))):
        transition(trigger)


def test_each_trigger_finds_its_own_transition() -> None:
    assert all(transition(t.trigger) is t for t in TRANSITIONS)


# --- the doc ---------------------------------------------------------------------------------------


def diagram_edges(diagram: str) -> set[tuple[str, str, str]]:
    edges = set()
    for line in diagram.splitlines()[1:]:
        match = re.fullmatch(r"\s+(\S+) --> (\S+?)(?:: (\w+))?", line)
        assert match, f"not a Mermaid transition line: {line!r}"
        edges.add((match[1], match[2], match[3] or ""))
    return edges


def test_the_diagram_draws_every_transition_and_every_end() -> None:
    expected = {
        (source, t.target or source, t.trigger)
        for t in TRANSITIONS
        for source in (sorted(t.sources) or ["[*]"])  # type: ignore[list-item]
    } | {(status, "[*]", "") for status in TERMINAL_STATUSES}
    assert diagram_edges(lifecycle_diagram()) == expected


def test_docs_lifecycle_md_shows_the_table_as_it_is_in_code() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert doc == with_lifecycle_block(doc), (
        "docs/lifecycle.md is out of date with lanes/lifecycle.py: run scripts/lifecycle_doc"
    )
    block = lifecycle_doc_block()
    assert block in doc and f"```mermaid\n{lifecycle_diagram()}\n```" in block


def test_a_stale_doc_is_noticed_and_rewritten() -> None:
    doc = DOC.read_text(encoding="utf-8")
    stale = doc.replace("running --> drafted: draft", "running --> approved: draft")
    assert stale != doc and with_lifecycle_block(stale) == doc


@pytest.mark.parametrize("broken", ["no markers", DOC_BEGIN, DOC_END, f"{DOC_END}\n{DOC_BEGIN}"])
def test_a_doc_without_its_markers_says_how_to_fix_it(broken: str) -> None:
    with pytest.raises(ValueError, match="run scripts/lifecycle_doc"):
        with_lifecycle_block(f"# The run lifecycle\n{broken}\n")


def test_the_doc_is_linked_from_the_readme_and_the_reliability_page() -> None:
    assert "(docs/lifecycle.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(lifecycle.md)" in (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")


# --- nobody else writes a status ------------------------------------------------------------------

SCANNED = ("bot", "lanes", "storage")
TRANSITION_OWNERS = frozenset(
    {"lanes/lifecycle.py", "storage/runs.py", "storage/decision_writes.py", "storage/run_writes.py"}
)
"""The table, and the store modules that execute its transitions; every other module only reads."""

OTHER_STATUS_TABLES = {
    "storage/shadow.py": "shadow_attempts.status, a shadow call's own state; it never writes runs",
}
"""Store modules with a status column of their own; ``test_other_status_tables_never_write_runs``
holds them to writing nothing of ``runs``."""

NOT_A_RUN_STATUS = {
    "RunFacts": "facts read from the run for pure authorization (lanes.permissions)",
    "RunResult": "the engine's report of the status its transition set",
    "AuditQuery": "a search filter",
    "BoltResponse": "an HTTP status",
    "StubError": "an HTTP status of the Slack stand-in",
    "malformed": "the HTTP status of an unreadable model answer (lanes.providers._http)",
    "read_json": "the HTTP status of a model answer being read (lanes.providers._http)",
    "ExampleScore": "the status an eval example's scratch run ended in, as scored (lanes.evals)",
    "ShadowResult": "a shadow call's own outcome (shadow_attempts), never the live run's",
    "ShadowRecord": "a shadow attempt read back beside its live run, for the report",
}
"""Constructors whose ``status=`` argument is not a write to a run. (``ExecutionOutcome`` used to
be here: its field is now ``ending``, a verdict the lifecycle maps through ``end_of_model_work``.)"""

OWN_FIELD = {("bot/playground/slackstub/models.py", "StubError"): "the stand-in error's HTTP status"}
"""Classes that assign ``self.status`` to a field of their own, not to a run row."""

SQL_SINKS = frozenset({"values", "ordered_values", "execute", "executemany", "exec_driver_sql", "insert"})
"""Calls that hand a mapping to SQL: a dict with a ``"status"`` key reaching one sets the column
(so does one merged, ``d.update({...})``, into a mapping that reaches one)."""
_SQL_SETS_STATUS = re.compile(r"(?is)\bupdate\b.*\bset\b.*\bstatus\b|\binsert\s+into\s+runs\b")


@dataclass(frozen=True)
class StatusWrite:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _is_status_key(key: ast.expr | None) -> bool:
    return (isinstance(key, ast.Constant) and key.value == "status") or (
        isinstance(key, ast.Attribute) and key.attr == "status"
    )


class _Scanner(ast.NodeVisitor):
    """Finds the shapes a status write can take; ``status_writes`` explains each."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[StatusWrite] = []
        self.classes: list[str] = []
        self.sunk: set[str] = set()
        """Names handed to a SQL sink in the current function (or module)."""
        self.docstrings: set[int] = set()

    def add(self, node: ast.AST, what: str) -> None:
        self.found.append(StatusWrite(self.path, getattr(node, "lineno", 0), what))

    def scan(self, tree: ast.Module) -> list[StatusWrite]:
        self._scope(tree, tree.body)
        return self.found

    def _scope(self, node: ast.AST, body: list[ast.stmt]) -> None:
        """Visit one function or module body with the names it hands to SQL known up front."""
        outer = self.sunk
        self.sunk = {n.id for n in _sunk_names(node)}
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self.docstrings.add(id(body[0].value))
        for statement in body:
            self.visit(statement)
        self.sunk = outer

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scope(node, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            self.docstrings.add(id(node.body[0].value))
        self.generic_visit(node)
        self.classes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        callee = _name(node.func)
        for keyword in node.keywords:
            if keyword.arg == "status" and callee not in NOT_A_RUN_STATUS:
                self.add(node, f"status= passed to {callee or 'a call'}()")
        if callee == "setattr" and len(node.args) > 1 and _is_status_key(node.args[1]):
            self.add(node, "setattr(..., 'status', ...)")
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if callee in SQL_SINKS or (callee == "update" and _receiver(node) in self.sunk):
            for argument in arguments:
                if isinstance(argument, ast.Dict) and any(_is_status_key(k) for k in argument.keys):
                    self.add(argument, f"a mapping with a status key handed to {callee}()")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, node.value)
        self.generic_visit(node)

    def _target(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Attribute) and target.attr == "status":
            own = isinstance(target.value, ast.Name) and target.value.id == "self"
            if not (own and self.classes and (self.path, self.classes[-1]) in OWN_FIELD):
                self.add(target, f"{ast.unparse(target)} = ...")
        elif isinstance(target, ast.Subscript) and _is_status_key(target.slice):
            self.add(target, f"{ast.unparse(target)} = ...")
        elif _sunk_mapping(target, value, self.sunk):
            self.add(target, f"a mapping with a status key bound to {ast.unparse(target)}, which goes to SQL")

    def visit_Constant(self, node: ast.Constant) -> None:
        text = node.value if isinstance(node.value, str) and id(node) not in self.docstrings else ""
        if _SQL_SETS_STATUS.search(text):
            self.add(node, "SQL text that sets a status or inserts a run")


def _sunk_mapping(target: ast.expr, value: ast.expr | None, sunk: set[str]) -> bool:
    """``name = {"status": ...}`` where ``name`` is handed to SQL in the same function."""
    if not (isinstance(target, ast.Name) and target.id in sunk and isinstance(value, ast.Dict)):
        return False
    return any(_is_status_key(k) for k in value.keys)


def _receiver(call: ast.Call) -> str:
    func = call.func
    return func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""


def _sunk_names(scope: ast.AST) -> Iterator[ast.Name]:
    """Names passed (positionally, by keyword or as ``**name``) to a SQL sink anywhere in ``scope``."""
    for node in ast.walk(scope):
        if isinstance(node, ast.Call) and _name(node.func) in SQL_SINKS:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(argument, ast.Name):
                    yield argument
                elif isinstance(argument, ast.Starred) and isinstance(argument.value, ast.Name):
                    yield argument.value


def status_writes(source: str, path: str) -> list[StatusWrite]:
    """Every place ``source`` (the module at ``path``, relative to the repo) writes a run status:

    - ``status=`` passed to any call but the value constructors in ``NOT_A_RUN_STATUS``
      (``.values(status=...)``, ``models.Run(status=...)``, ``dict(status=...)``, ``d.update(status=...)``);
    - a mapping with a ``"status"`` key handed to a SQL call (``.values({...})``,
      ``connection.execute(stmt, {...})``), or bound to a name that is, or keyed by a status column
      (``{models.Run.status: ...}``); ``x["status"] = ...``; ``run.status = ...``; ``setattr``;
    - SQL text (not a docstring) that updates a status or inserts a run.

    Reading a status (``run.status == ...``, ``RunFacts(status=run.status)``, a JSON body or a log
    field with a ``"status"`` key that never reaches SQL) is not a write.
    """
    if path in TRANSITION_OWNERS or path in OTHER_STATUS_TABLES:
        return []
    return _Scanner(path).scan(ast.parse(source, filename=path))


def test_other_status_tables_never_write_runs() -> None:
    """The modules exempt from the scan for their own status column write no row of ``runs``:
    every UPDATE or INSERT they build names another table."""
    for path in OTHER_STATUS_TABLES:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)
        targets = [
            ast.unparse(node.args[0])
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in ("update", "insert")
            and node.args
        ]
        assert targets, f"{path}: the scan found no write at all; is the exemption still needed?"
        assert not [t for t in targets if "Run" in t.split(".")[-1] and "Shadow" not in t], (path, targets)


def scanned_sources() -> Iterator[tuple[str, str]]:
    for package in SCANNED:
        for file in sorted((ROOT / package).rglob("*.py")):
            yield file.relative_to(ROOT).as_posix(), file.read_text(encoding="utf-8")


def test_no_module_but_the_lifecycle_and_the_store_writes_a_run_status() -> None:
    sources = list(scanned_sources())
    assert len(sources) > 100, "the scan must see the whole code base"
    found = [str(w) for path, source in sources for w in status_writes(source, path)]
    assert found == [], (
        "a run's status changes only by a lanes.lifecycle transition executed by the store "
        "(storage/runs.py, storage/decision_writes.py); ask for one with transition(...) and hand it to "
        "the store. If one of these is not a write to a run, add its constructor to NOT_A_RUN_STATUS "
        "with the reason:\n" + "\n".join(found)
    )


WRITES = {
    "an ORM update in the claims module": (
        "storage/claims.py",
        """
        def f(s, rid):
            s.execute(update(models.Run).where(models.Run.id == rid).values(status="approved"))
        """,
    ),
    "a mapping handed to a prebuilt UPDATE": (
        "bot/runtime/recovery.py",
        """
        def f(c, sql, rid):
            c.execute(sql.update_run, {RUN_ID: rid, "status": "failed"})
        """,
    ),
    "a mapping built first, then handed over": (
        "bot/slack/flows/decision_clicks.py",
        """
        def f(c):
            row = {"status": "approved"}
            c.execute(update(models.Run).values(**row))
        """,
    ),
    "a status put into a mapping": (
        "bot/cli/admin.py",
        """
        def f(c, stmt):
            values = {}
            values["status"] = "failed"
            c.execute(stmt, values)
        """,
    ),
    "dict.update before the SQL": (
        "storage/search.py",
        """
        def f(c, stmt):
            values = {}
            values.update({"status": "x"})
            c.execute(stmt, values)
        """,
    ),
    "a status keyword in a mapping": (
        "storage/search.py",
        """
        def f(c, stmt):
            values = dict(status="x")
            c.execute(stmt, values)
        """,
    ),
    "a mapping keyed by the column": (
        "storage/claims.py",
        """
        stmt = update(Run).values({Run.status: "expired"})
        """,
    ),
    "an ORM attribute set": (
        "bot/runtime/review_deadlines.py",
        """
        def f(run):
            run.status = "expired"
        """,
    ),
    "setattr": (
        "bot/digest/post.py",
        """
        def f(run):
            setattr(run, "status", "expired")
        """,
    ),
    "a run inserted with a status": (
        "storage/claims.py",
        """
        def f(s):
            s.add(models.Run(id="r", status="running"))
        """,
    ),
    "raw SQL": (
        "bot/cli/admin.py",
        """
        def f(c):
            c.execute(text("UPDATE runs SET error = 'x', status = 'failed' WHERE id = :id"))
        """,
    ),
    "a self-assignment outside the allow-listed class": (
        "storage/models.py",
        """
        class Run:
            def close(self):
                self.status = "failed"
        """,
    ),
}


@pytest.mark.parametrize("case", sorted(WRITES))
def test_the_scan_finds_each_kind_of_status_write(case: str) -> None:
    path, source = WRITES[case]
    assert status_writes(dedent(source), path), f"{case} was not noticed"


READS = {
    "comparisons and filters": """
        def f(run, s):
            if run.status == "drafted":
                s.execute(select(Run).where(Run.status.in_(("a",))))
        """,
    "facts for authorization": """
        def f(run):
            return RunFacts(lane=run.lane, status=run.status)
        """,
    "a JSON body and a log field": """
        def f(r):
            log.info("x", extra={"status": r.status})
            return {"status": "ok"}
        """,
    "a docstring quoting the SQL": '''
        def f():
            """UPDATE runs SET status = :target WHERE id = :id"""
        ''',
    "a stub error's own field": """
        class StubError:
            def __init__(self, status):
                self.status = status
        """,
}


@pytest.mark.parametrize("case", sorted(READS))
def test_reading_a_status_is_not_a_write(case: str) -> None:
    assert status_writes(dedent(READS[case]), "bot/playground/slackstub/models.py") == []


def test_the_transition_owners_may_write() -> None:
    _, source = WRITES["an ORM update in the claims module"]
    assert status_writes(dedent(source), "storage/runs.py") == []
