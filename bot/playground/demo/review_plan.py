"""How the demo team decides its drafts: approve, edit or reject, one or two people, later.

Decisions go through the real ``DecisionService`` (the same rules as the Slack buttons: who may
decide, no self-approval, two different approvers for two-person runs), at a plausible delay
after the draft: minutes to hours, and for the second approver of a two-person run, up to a day
more. A decision that would fall after ``now`` is not made: the run is still awaiting review,
as the newest runs of a real team are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.playground.demo.catalogue import EDIT_SUFFIX
from lanes.config import LaneConfig
from lanes.decisions import Action
from lanes.lifecycle import REJECT_REASONS
from lanes.values import RunResult

DECIDABLE = ("drafted", "needs_human")
SEED = 4711


@dataclass(frozen=True)
class PlannedDecision:
    run_id: str
    actor: str
    action: Action
    at: datetime
    reason: str | None = None
    edited_text: str | None = None


class DecisionPlanner:
    """Plans the decisions of each run as it is made; deterministic for the same runs."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._rng = random.Random(SEED)

    def plan(
        self, lane: LaneConfig, result: RunResult, requester: str, at: datetime
    ) -> list[PlannedDecision]:
        rng = self._rng
        people = [p for p in dict.fromkeys((*lane.owners, *lane.reviewers)) if p != requester]
        if result.status not in DECIDABLE or not people or rng.random() < 0.04:
            return []  # a few runs are left for the reviewers of the playground to decide
        first_at = at + timedelta(minutes=rng.uniform(3, 300))
        first = people[0] if len(people) == 1 else rng.choice(people)
        action = self._action(lane, result)
        planned = [self._decision(result, first, action, first_at)]
        if result.review_rule == "two_person" and action != "reject":
            others = [p for p in people if p != first]
            if not others:
                return []
            second_at = first_at + timedelta(minutes=rng.uniform(10, 1200))
            planned.append(PlannedDecision(result.run_id, rng.choice(others), "approve", second_at))
        return [d for d in planned if d.at < self._now - timedelta(minutes=1)]

    def _action(self, lane: LaneConfig, result: RunResult) -> Action:
        roll = self._rng.random()
        if result.draft is None or (result.status == "needs_human" and roll < 0.4):
            return "reject"  # nothing to approve (a refusal), or a draft that failed its checks
        if roll < 0.12:
            return "reject"
        if roll < 0.30 and lane.output_schema is None:  # structured drafts are approved or rejected
            return "edit"
        return "approve"

    def _decision(self, result: RunResult, actor: str, action: Action, at: datetime) -> PlannedDecision:
        if action == "reject":
            reason = self._rng.choice(REJECT_REASONS[:3])
            return PlannedDecision(result.run_id, actor, action, at, reason=reason)
        if action == "edit":
            return PlannedDecision(
                result.run_id, actor, action, at, edited_text=(result.draft or "") + EDIT_SUFFIX
            )
        return PlannedDecision(result.run_id, actor, action, at)
