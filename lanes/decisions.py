"""Owners' decisions on drafts: one code path for the CLI, the Slack buttons and the playground.

Authorization is pure (``lanes.permissions.authorize``); this module feeds it the run's facts and the
actor's user groups (looked up at decision time: membership changes between draft and click
count), and appends the result to the audit store. A refused attempt is recorded too, because
"who tried to approve what" is part of the audit.

Exactly-once is the store's job: each decision carries a ``lanes.lifecycle.DecisionGuard`` (the
status and the approval count it was decided on) and the store applies it as one conditional
write. When the guard no longer holds because another approval landed first (two approvers of a
two-person review clicking at once), the decision is made again on the fresh run, so the second
approver completes the review instead of both being recorded as "1 of 2".

The final decision states the text that was approved: under two-person review, when an earlier
approver edited the draft, the completing approval carries that edited text (and the run ends
``edited``), because that is what the second person saw and approved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from rapidfuzz.distance import Levenshtein

from lanes.audit import DecisionLog, DecisionRecord, NewDecision, RunRecord
from lanes.config import LanesConfig
from lanes.engine import TextRedactor
from lanes.errors import NotAuthorizedError
from lanes.lifecycle import REJECT_REASONS, DecisionGuard, decision_transition
from lanes.permissions import RunFacts, Verdict, authorize

log = logging.getLogger(__name__)

Action = Literal["approve", "edit", "reject"]
_DECIDE_TRIES = 5
"""How often a decision is re-made on a fresh run after losing a guard to a concurrent approval."""


class GroupDirectory(Protocol):
    """Which user groups an actor belongs to (Slack: usergroups.users.list at click time)."""

    def groups_of(self, actor: str, candidate_groups: frozenset[str]) -> frozenset[str]: ...


class NoGroups:
    """For the CLI: user ids only; group membership cannot be checked offline."""

    def groups_of(self, actor: str, candidate_groups: frozenset[str]) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class DecisionResult:
    """What happened to a decision request, for the person who made it."""

    run_id: str
    action: str
    applied: bool
    completes: bool
    status: str
    message: str
    decided_by: str | None = None
    edit_distance: int | None = None
    approved_text: str | None = None
    """With a completing edit, or an approval of an earlier approver's edit: the text approved
    (as stored, redacted)."""


class DecisionService:
    def __init__(
        self,
        config: LanesConfig,
        store: DecisionLog,
        redactor: TextRedactor,
        *,
        groups: GroupDirectory | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.store = store
        self.redactor = redactor
        self.groups = groups or NoGroups()
        self._clock = clock

    def decide(
        self,
        run_id: str,
        actor: str,
        action: Action,
        *,
        reason: str | None = None,
        note: str | None = None,
        edited_text: str | None = None,
        shown_draft: str | None = None,
    ) -> DecisionResult:
        """Authorize and record a decision; raises ``NotAuthorizedError`` (after recording the refusal)."""
        if action == "reject" and reason not in REJECT_REASONS:
            raise NotAuthorizedError(f"a rejection needs a reason: one of {', '.join(REJECT_REASONS)}")
        if action == "edit" and not (edited_text or "").strip():
            raise NotAuthorizedError("an edit needs the edited text")
        request = _Request(actor, action, reason, note, edited_text, shown_draft)
        for _ in range(_DECIDE_TRIES):
            result = self._decide_once(self.store.get_run(run_id), request)
            if result is not None:
                return result
        run = self.store.get_run(run_id)
        return DecisionResult(run.id, action, False, False, run.status, "the run kept changing; try again")

    def check(self, run: RunRecord, actor: str, action: Action) -> Verdict:
        """May ``actor`` take ``action`` on ``run`` as read, by the rules ``decide`` applies? Asked
        before a form opens and when it is submitted, so a person is refused before typing, not
        after. Nothing is decided; a refusal is recorded, as ``decide`` records one."""
        verdict = self._verdict(run, actor, action)
        if not verdict.allowed:
            self.refuse(run.id, actor, f"{action}: {verdict.reason}")
        return verdict

    def refuse(self, run_id: str, actor: str, note: str) -> None:
        """Record a refused attempt ("who tried to decide what" is part of the audit)."""
        self.store.record_event(run_id, "refused", actor, self._clock(), note=note)

    def _verdict(self, run: RunRecord, actor: str, action: Action) -> Verdict:
        lane = self.config.lane(run.lane)
        listed = frozenset(lane.owners) | frozenset(lane.reviewers)
        groups = self.groups.groups_of(actor, frozenset(g for g in listed if g.startswith("S")))
        facts = RunFacts(
            lane=run.lane, requester=run.requester, status=run.status, review_rule=run.review_rule
        )
        return authorize(lane, facts, actor, groups, run.approvals, action)

    def _decide_once(self, run: RunRecord, request: _Request) -> DecisionResult | None:
        """One decision on ``run`` as read; None when its guard was lost to a concurrent approval."""
        verdict = self.check(run, request.actor, request.action)
        if not verdict.allowed:
            raise NotAuthorizedError(verdict.reason)
        return self._apply(run, request, verdict.completes, verdict.reason)

    def _apply(
        self, run: RunRecord, request: _Request, completes: bool, verdict_reason: str
    ) -> DecisionResult | None:
        action = request.action
        distance, stored_edit = None, None
        if action == "edit" and request.edited_text is not None:
            distance = Levenshtein.distance(request.shown_draft or run.draft_text or "", request.edited_text)
            stored_edit, _ = self.redactor.redact_or_withhold(request.edited_text)
        carried = _earlier_edit(run) if completes and action == "approve" else None
        if carried is not None:  # the text this approver saw and approved is the earlier edit
            stored_edit, distance = carried.edited_text, carried.edit_distance
        stored_note = self.redactor.redact_or_withhold(request.note)[0] if request.note else None
        kind = action if completes else "approval"
        change = decision_transition("edit" if carried is not None else action, completes)
        outcome = self.store.apply_decision(
            NewDecision(
                run_id=run.id,
                kind=kind,
                actor=request.actor,
                created_at=self._clock(),
                final=completes,
                reason=request.reason,
                note=stored_note,
                edited_text=stored_edit,
                edit_distance=distance,
            ),
            DecisionGuard(change, seen_approvals=run.approval_count),
        )
        if outcome.stale:
            return None
        if not outcome.applied:
            by = f" by <@{outcome.decided_by}>" if outcome.decided_by else ""
            return DecisionResult(
                run.id,
                action,
                False,
                False,
                outcome.status,
                f"already {outcome.status}{by}",
                decided_by=outcome.decided_by,
            )
        status = outcome.status if completes else run.status
        log.info("decision recorded", extra={"run_id": run.id, "lane": run.lane, "action": kind})
        return DecisionResult(
            run.id,
            action,
            True,
            completes,
            status,
            verdict_reason,
            decided_by=request.actor,
            edit_distance=distance,
            approved_text=stored_edit if completes and action != "reject" else None,
        )


@dataclass(frozen=True)
class _Request:
    actor: str
    action: Action
    reason: str | None
    note: str | None
    edited_text: str | None
    shown_draft: str | None


def _earlier_edit(run: RunRecord) -> DecisionRecord | None:
    """The latest approval that changed the text, if an earlier approver edited the draft."""
    edits = earlier_edits(run)
    return edits[-1] if edits else None


def earlier_edits(run: RunRecord) -> list[DecisionRecord]:
    """Approvals (1 of 2) that changed the text, in order: each replaced the text under review."""
    return [d for d in run.decisions if d.kind == "approval" and d.edited_text is not None]
