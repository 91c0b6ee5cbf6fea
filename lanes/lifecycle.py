"""The run state machine: every status a run can have, and every way it may change. One owner.

A run's ``status`` is the audit trail's headline: it says whether a draft is waiting, who decided,
or why nothing came. So it changes in exactly one way: a ``Transition`` from this table, executed
by the audit store as one conditional write (``UPDATE runs SET status = :target WHERE id = :id
AND status IN :sources``, plus the approval count for M-of-N decisions). Two writers racing for
the same run (two instances, two approvers, expiry against a click, recovery against a slow
worker) can never both win: the row count tells each one whether it did.

Nothing else in the code base writes a status (``tests/test_lifecycle.py`` scans the source for
status writes outside this module and the store modules that execute transitions). Callers ask
this module for the transition that an event triggers (``transition("draft")``), and hand it to the
store; the store executes it and nothing more. ``docs/lifecycle.md`` embeds ``lifecycle_diagram``
and ``lifecycle_table`` (``scripts/lifecycle_doc`` rewrites them), and a test fails when the doc
and this table drift apart.

States:
- ``queued``   a Slack request acked "queued" behind busy workers; written so a kill loses nothing
- ``running``  the run is on record and its model work is under way (its owner instance is alive)
- ``drafted`` / ``needs_human``  model work ended with a draft, or with a question for a person;
  both wait for a reviewer and expire after the lane's ``review_timeout``
- terminal: ``needs_confirmation`` (stopped by a budget; "run anyway" starts a *new* run),
  ``approved``, ``edited``, ``rejected``, ``expired``, ``failed``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

RunStatus = Literal[
    "queued",
    "running",
    "drafted",
    "needs_human",
    "needs_confirmation",
    "approved",
    "edited",
    "rejected",
    "failed",
    "expired",
]
ALL_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)

Trigger = Literal[
    "enqueue",
    "start",
    "adopt",
    "draft",
    "hand_to_human",
    "ask_confirmation",
    "fail",
    "approve",
    "edit",
    "reject",
    "approve_partly",
    "expire",
    "recover",
]

IN_FLIGHT: frozenset[RunStatus] = frozenset({"queued", "running"})
"""Some process is (or said it was) executing the run; recovery closes it if that process died."""
AWAITING_REVIEW: frozenset[RunStatus] = frozenset({"drafted", "needs_human"})
"""A person decides next; the lane's ``review_timeout`` bounds the wait."""
TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {"needs_confirmation", "approved", "edited", "rejected", "failed", "expired"}
)
"""Nothing moves a run out of these."""
REJECT_REASONS: tuple[str, ...] = ("wrong facts", "wrong tone", "incomplete", "unsafe", "other")
"""Why a reviewer stops a draft (``reject``): every rejection records one of these."""


@dataclass(frozen=True)
class Transition:
    """One edge of the state machine.

    ``sources`` empty means the transition creates the run. ``target`` None means the status does
    not change (one approval of two: only the approval count moves). ``counted`` transitions are
    guarded by the approval count as well as the status (see ``DecisionGuard``).
    """

    trigger: Trigger
    sources: frozenset[RunStatus]
    target: RunStatus | None
    why: str
    counted: bool = False

    @property
    def creates(self) -> bool:
        return not self.sources

    def allows(self, status: str) -> bool:
        return status in self.sources


def _t(
    trigger: Trigger, sources: frozenset[RunStatus], target: RunStatus | None, why: str, counted: bool = False
) -> Transition:
    return Transition(trigger, sources, target, why, counted)


_NONE: frozenset[RunStatus] = frozenset()
_RUNNING: frozenset[RunStatus] = frozenset({"running"})

TRANSITIONS: tuple[Transition, ...] = (
    _t("enqueue", _NONE, "queued", "every worker is busy: the request is written down before it waits"),
    _t("start", _NONE, "running", "the run is written before any model call"),
    _t("adopt", frozenset({"queued"}), "running", "a worker starts a queued request"),
    _t("draft", _RUNNING, "drafted", "a draft passed the lane's checks"),
    _t("hand_to_human", _RUNNING, "needs_human", "a failed check, a refusal or a disagreement"),
    _t("ask_confirmation", _RUNNING, "needs_confirmation", "the budget stops the run; owners may run anyway"),
    _t("fail", _RUNNING, "failed", "every allowed attempt failed, or the run could not go on"),
    _t("approve", AWAITING_REVIEW, "approved", "the last approval a review needs", counted=True),
    _t("edit", AWAITING_REVIEW, "edited", "the last approval, with the text changed", counted=True),
    _t("approve_partly", AWAITING_REVIEW, None, "one approval of several (two-person review)", counted=True),
    _t("reject", AWAITING_REVIEW, "rejected", "any decider may stop a draft"),
    _t("expire", AWAITING_REVIEW, "expired", "nobody decided within the lane's review_timeout"),
    _t("recover", IN_FLIGHT, "failed", "the process executing the run died"),
)
_BY_TRIGGER: dict[str, Transition] = {t.trigger: t for t in TRANSITIONS}


class IllegalTransitionError(ValueError):
    """A caller asked for a transition the table does not have: a bug, never user input."""


def transition(trigger: Trigger | str) -> Transition:
    """The transition ``trigger`` fires; ``IllegalTransitionError`` for an unknown trigger."""
    try:
        return _BY_TRIGGER[trigger]
    except KeyError:
        raise IllegalTransitionError(f"no transition is triggered by {trigger!r}") from None


ModelWorkEnding = Literal["drafted", "needs_human", "needs_confirmation", "failed"]
_ENDING_TRIGGER: dict[str, Trigger] = {
    "drafted": "draft",
    "needs_human": "hand_to_human",
    "needs_confirmation": "ask_confirmation",
    "failed": "fail",
}


def end_of_model_work(ending: ModelWorkEnding | str) -> Transition:
    """The transition that closes a run's model work with ``ending`` (the execution's verdict)."""
    try:
        return _BY_TRIGGER[_ENDING_TRIGGER[ending]]
    except KeyError:
        raise IllegalTransitionError(f"model work cannot end as {ending!r}") from None


DecisionAction = Literal["approve", "edit", "reject"]


@dataclass(frozen=True)
class DecisionGuard:
    """A decision's transition together with the approval count it was decided on.

    The store executes it as ``... WHERE status IN :sources AND approvals = :seen_approvals`` and
    adds one to ``approvals`` for counted transitions, so of two approvers deciding on the same
    count exactly one wins; the other re-reads the run and decides again on what is now true.
    """

    transition: Transition
    seen_approvals: int


def decision_transition(action: DecisionAction | str, completes: bool) -> Transition:
    """Which transition a permitted decision fires: a completing approve/edit, a partial one, a reject."""
    if action == "reject":
        return transition("reject")
    if action not in ("approve", "edit"):
        raise IllegalTransitionError(f"no decision is called {action!r}")
    if not completes:
        return transition("approve_partly")
    return transition(action)


def lifecycle_diagram() -> str:
    """The state diagram (Mermaid) of ``TRANSITIONS``; ``docs/lifecycle.md`` embeds it verbatim."""
    lines = ["stateDiagram-v2"]
    for t in TRANSITIONS:
        sources = sorted(t.sources) if t.sources else ["[*]"]
        for source in sources:
            target = t.target or source
            lines.append(f"    {source} --> {target}: {t.trigger}")
    for status in sorted(TERMINAL_STATUSES):
        lines.append(f"    {status} --> [*]")
    return "\n".join(lines)


def lifecycle_table() -> str:
    """The transitions as a Markdown table, for ``docs/lifecycle.md``."""
    rows = ["| trigger | from | to | when |", "|---|---|---|---|"]
    for t in TRANSITIONS:
        sources = ", ".join(f"`{s}`" for s in sorted(t.sources)) or "(new run)"
        target = f"`{t.target}`" if t.target else "(unchanged; approval count + 1)"
        rows.append(f"| `{t.trigger}` | {sources} | {target} | {t.why} |")
    return "\n".join(rows)


DOC_BEGIN = (
    "<!-- lifecycle:begin: generated from lanes/lifecycle.py by scripts/lifecycle_doc; do not edit -->"
)
DOC_END = "<!-- lifecycle:end -->"


def lifecycle_doc_block() -> str:
    """The generated part of ``docs/lifecycle.md``: the diagram and the table, between the markers."""
    parts = [DOC_BEGIN, "", "```mermaid", lifecycle_diagram(), "```", "", lifecycle_table(), "", DOC_END]
    return "\n".join(parts)


def with_lifecycle_block(doc: str) -> str:
    """``doc`` with the text between its markers (markers included) replaced by ``lifecycle_doc_block``.

    Raises ``ValueError`` naming the fix when the markers are missing or out of order, so a doc
    that lost them is repaired by hand once instead of silently growing a second copy."""
    begin, end = doc.find(DOC_BEGIN), doc.find(DOC_END)
    if begin < 0 or end < begin or doc.count(DOC_BEGIN) != 1 or doc.count(DOC_END) != 1:
        raise ValueError(
            f"the document needs exactly one {DOC_BEGIN!r} line followed by one {DOC_END!r} line; "
            "put them back where the diagram goes and run scripts/lifecycle_doc"
        )
    return doc[:begin] + lifecycle_doc_block() + doc[end + len(DOC_END) :]
