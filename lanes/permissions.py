"""Who may decide on a draft: pure authorization shared by the CLI, the Slack buttons and the playground.

``authorize`` answers from plain facts (the lane, the run, the actor, the actor's user groups and
the approvals already given), so every entry point refuses the same things with the same words.

The rules:

- Deciders are the lane's ``owners`` and ``reviewers``: Slack user ids (``U...``) or user-group ids
  (``S...``, matched through ``actor_groups``, looked up at click time by the caller). A lane with
  neither fails closed: nobody can decide until owners are added to lanes.toml.
- Even ``review = "none"`` lanes keep this rule: "none" means drafts are not held back for a
  second pair of eyes, not that anyone in the channel may approve in the lane's name.
- Only runs waiting for review (``drafted``, ``needs_human``) can be approved, edited or rejected.
- The requester may not approve or edit their own run unless the lane sets ``self_approval``;
  they may always reject (withdraw) it.
- Under ``two_person`` (the run's effective rule: a sensitive match raises it) an approval needs
  two *distinct* people; the first is recorded but does not complete the run, and the same person
  twice is refused. An edit is an approval with changes and counts the same way. A rejection by
  any decider completes at once: one "no" is enough to stop a draft.
- ``run_anyway`` (spend past a budget stop) is for owners only, on runs waiting for confirmation.
- Searching the audit trail of a lane (``may_search_audit``) is for its owners only: the trail holds
  other people's requests and drafts, and reviewers see only the drafts they are asked to review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lanes.config import LaneConfig
from lanes.values import AWAITING_REVIEW

Action = Literal["approve", "edit", "reject", "run_anyway"]


@dataclass(frozen=True)
class RunFacts:
    """What authorization needs to know about a run."""

    lane: str
    requester: str
    status: str
    review_rule: str


@dataclass(frozen=True)
class Verdict:
    """``allowed`` says whether to record the decision; ``completes`` whether it closes the run."""

    allowed: bool
    reason: str
    completes: bool = False


def authorize(
    lane: LaneConfig,
    run: RunFacts,
    actor: str,
    actor_groups: frozenset[str],
    prior_approvals: frozenset[str],
    action: Action | str,
) -> Verdict:
    """May ``actor`` take ``action`` on ``run`` now, and does it complete the review?"""
    if not lane.owners and not lane.reviewers:
        return _refuse(
            f"lane {lane.name} has no owners or reviewers, so nobody can decide; "
            f'add owners = ["U..."] to [lanes.{lane.name}] in lanes.toml'
        )
    if action == "run_anyway":
        return _run_anyway(lane, run, actor, actor_groups)
    if action not in ("approve", "edit", "reject"):
        return _refuse(f"unknown action {action!r}; use approve, edit, reject or run_anyway")
    if run.status not in AWAITING_REVIEW:
        return _refuse(f"already {run.status}")
    if not (_listed(actor, actor_groups, lane.owners) or _listed(actor, actor_groups, lane.reviewers)):
        return _refuse(f"only the owners or reviewers of lane {lane.name} can {action} its drafts")
    if action == "reject":
        return Verdict(True, "rejected", completes=True)
    if actor == run.requester and not lane.self_approval:
        return _refuse(
            f"you requested this run, so someone else must {action} it "
            f"(or set self_approval = true for lane {lane.name})"
        )
    if run.review_rule == "two_person":
        return _two_person(actor, prior_approvals, action)
    return Verdict(True, "approved" if action == "approve" else "edited", completes=True)


def _two_person(actor: str, prior_approvals: frozenset[str], action: str) -> Verdict:
    if actor in prior_approvals:
        return _refuse("you already approved this run; a second, different person must approve it")
    done = "approved" if action == "approve" else "edited"
    if prior_approvals:
        return Verdict(True, f"{done}: 2 of 2 approvals", completes=True)
    return Verdict(True, f"{done}: 1 of 2 approvals; a second person must approve", completes=False)


def _run_anyway(lane: LaneConfig, run: RunFacts, actor: str, actor_groups: frozenset[str]) -> Verdict:
    if run.status != "needs_confirmation":
        return _refuse(f"already {run.status}; run anyway is only for runs stopped by a budget")
    if not _listed(actor, actor_groups, lane.owners):
        return _refuse(f"only the owners of lane {lane.name} can run it anyway past its budget")
    return Verdict(True, "budget waived: run anyway confirmed by owner", completes=True)


def may_search_audit(lane: LaneConfig, actor: str, actor_groups: frozenset[str]) -> bool:
    """May ``actor`` search lane ``lane``'s audit trail (its owners, by id or user group)?"""
    return _listed(actor, actor_groups, lane.owners)


def _listed(actor: str, actor_groups: frozenset[str], ids: list[str]) -> bool:
    return actor in ids or any(group in actor_groups for group in ids)


def _refuse(reason: str) -> Verdict:
    return Verdict(False, reason, completes=False)
