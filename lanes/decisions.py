"""Owners' decisions on drafts: one code path for the CLI, the Slack buttons and the playground.

Authorization is pure (``lanes.permissions.authorize``); this module feeds it the run's facts and the
actor's user groups (looked up at decision time: membership changes between draft and click
count), and appends the result to the audit store. A refused attempt is recorded too, because
"who tried to approve what" is part of the audit. Exactly-once is the store's job (an atomic
conditional update), so two instances clicking at once still produce one decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from rapidfuzz.distance import Levenshtein

from lanes.config import LanesConfig
from lanes.engine import TextRedactor
from lanes.errors import NotAuthorizedError
from lanes.permissions import RunFacts, authorize
from storage.records import NewDecision, RunRecord
from storage.store import AuditStore

log = logging.getLogger(__name__)

Action = Literal["approve", "edit", "reject"]
REJECT_REASONS: tuple[str, ...] = ("wrong facts", "wrong tone", "incomplete", "unsafe", "other")
_FINAL_STATUS = {"approve": "approved", "edit": "edited", "reject": "rejected"}


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


class DecisionService:
    def __init__(
        self,
        config: LanesConfig,
        store: AuditStore,
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
        run = self.store.get_run(run_id)
        lane = self.config.lane(run.lane)
        if action == "reject" and reason not in REJECT_REASONS:
            raise NotAuthorizedError(f"a rejection needs a reason: one of {', '.join(REJECT_REASONS)}")
        if action == "edit" and not (edited_text or "").strip():
            raise NotAuthorizedError("an edit needs the edited text")
        listed = frozenset(lane.owners) | frozenset(lane.reviewers)
        groups = self.groups.groups_of(actor, frozenset(g for g in listed if g.startswith("S")))
        verdict = authorize(
            lane,
            RunFacts(lane=run.lane, requester=run.requester, status=run.status, review_rule=run.review_rule),
            actor,
            groups,
            run.approvals,
            action,
        )
        if not verdict.allowed:
            self.store.record_event(
                run_id, "refused", actor, self._clock(), note=f"{action}: {verdict.reason}"
            )
            raise NotAuthorizedError(verdict.reason)
        return self._apply(
            run, actor, action, verdict.completes, verdict.reason, reason, note, edited_text, shown_draft
        )

    def _apply(
        self,
        run: RunRecord,
        actor: str,
        action: Action,
        completes: bool,
        verdict_reason: str,
        reason: str | None,
        note: str | None,
        edited_text: str | None,
        shown_draft: str | None,
    ) -> DecisionResult:
        distance = None
        stored_edit = None
        if action == "edit" and edited_text is not None:
            distance = Levenshtein.distance(shown_draft or run.draft_text or "", edited_text)
            stored_edit, _ = self.redactor.redact_or_withhold(edited_text)
        stored_note = self.redactor.redact_or_withhold(note)[0] if note else None
        kind = action if completes else "approval"
        outcome = self.store.apply_decision(
            NewDecision(
                run_id=run.id,
                kind=kind,
                actor=actor,
                created_at=self._clock(),
                final=completes,
                new_status=_FINAL_STATUS[action] if completes else None,
                reason=reason,
                note=stored_note,
                edited_text=stored_edit,
                edit_distance=distance,
            )
        )
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
            run.id, action, True, completes, status, verdict_reason, decided_by=actor, edit_distance=distance
        )
