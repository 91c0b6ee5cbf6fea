"""Who may approve, edit, reject or run anyway: pure authorization with plain values."""

from __future__ import annotations

from typing import Any

import pytest

from lanes.config import LaneConfig
from lanes.permissions import RunFacts, Verdict, authorize

NO_GROUPS: frozenset[str] = frozenset()
NOBODY: frozenset[str] = frozenset()


def make_lane(**overrides: Any) -> LaneConfig:
    data: dict[str, Any] = {
        "name": "support",
        "command": "/support",
        "owners": ["U0OWNER", "S0LEADS"],
        "reviewers": ["U0REVIEW", "U0REVIEW2"],
        "default": "fast",
        "fallback": "local",
        "escalate_to": "strong",
        "prompts": {"fast": {}, "strong": {}},
    }
    data.update(overrides)
    return LaneConfig.model_validate(data)


def facts(status: str = "drafted", review_rule: str = "owner", requester: str = "U0ASKER") -> RunFacts:
    return RunFacts(lane="support", requester=requester, status=status, review_rule=review_rule)


def decide(
    action: str,
    actor: str = "U0OWNER",
    *,
    lane: LaneConfig | None = None,
    run: RunFacts | None = None,
    groups: frozenset[str] = NO_GROUPS,
    approvals: frozenset[str] = NOBODY,
) -> Verdict:
    return authorize(lane or make_lane(), run or facts(), actor, groups, approvals, action)


# --- who is a decider ---------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["U0OWNER", "U0REVIEW", "U0REVIEW2"])
def test_listed_owners_and_reviewers_approve(actor: str) -> None:
    assert decide("approve", actor) == Verdict(True, "approved", completes=True)


def test_member_of_a_listed_user_group_approves() -> None:
    assert decide("approve", "U0SOMEONE", groups=frozenset({"S0LEADS", "S0OTHER"})).allowed


def test_member_of_an_unlisted_group_is_refused() -> None:
    verdict = decide("approve", "U0SOMEONE", groups=frozenset({"S0OTHER"}))
    assert verdict == Verdict(False, "only the owners or reviewers of lane support can approve its drafts")


def test_outsider_cannot_reject_either() -> None:
    verdict = decide("reject", "U0STRANGER")
    assert not verdict.allowed
    assert verdict.reason == "only the owners or reviewers of lane support can reject its drafts"


def test_lane_without_owners_or_reviewers_fails_closed() -> None:
    lane = make_lane(owners=[], reviewers=[])
    verdict = decide("approve", "U0ANYONE", lane=lane)
    assert verdict == Verdict(
        False,
        'lane support has no owners or reviewers, so nobody can decide; add owners = ["U..."] to '
        "[lanes.support] in lanes.toml",
    )


def test_review_none_lanes_still_need_an_owner_or_reviewer() -> None:
    lane = make_lane(review="none")
    assert not decide("approve", "U0STRANGER", lane=lane, run=facts(review_rule="none")).allowed
    assert decide("approve", "U0REVIEW", lane=lane, run=facts(review_rule="none")).completes


# --- status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", ["approved", "edited", "rejected", "expired", "failed", "queued", "running"]
)
def test_only_runs_awaiting_review_can_be_decided(status: str) -> None:
    assert decide("approve", run=facts(status=status)) == Verdict(False, f"already {status}")


def test_needs_human_runs_can_be_decided() -> None:
    assert decide("edit", run=facts(status="needs_human")) == Verdict(True, "edited", completes=True)


# --- the requester ------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "edit"])
def test_requester_cannot_approve_or_edit_their_own_run(action: str) -> None:
    verdict = decide(action, "U0OWNER", run=facts(requester="U0OWNER"))
    assert verdict == Verdict(
        False,
        f"you requested this run, so someone else must {action} it "
        "(or set self_approval = true for lane support)",
    )


def test_requester_can_withdraw_their_own_run() -> None:
    assert decide("reject", "U0OWNER", run=facts(requester="U0OWNER")) == Verdict(
        True, "rejected", completes=True
    )


def test_self_approval_lets_the_requester_approve() -> None:
    lane = make_lane(self_approval=True)
    assert decide("approve", "U0OWNER", lane=lane, run=facts(requester="U0OWNER")).completes


# --- two people ---------------------------------------------------------------------------------


def test_first_of_two_approvals_does_not_complete() -> None:
    verdict = decide("approve", "U0REVIEW", run=facts(review_rule="two_person"))
    assert verdict == Verdict(
        True, "approved: 1 of 2 approvals; a second person must approve", completes=False
    )


def test_second_distinct_approval_completes() -> None:
    verdict = decide(
        "approve", "U0OWNER", run=facts(review_rule="two_person"), approvals=frozenset({"U0REVIEW"})
    )
    assert verdict == Verdict(True, "approved: 2 of 2 approvals", completes=True)


def test_the_same_person_twice_is_refused() -> None:
    verdict = decide(
        "approve", "U0REVIEW", run=facts(review_rule="two_person"), approvals=frozenset({"U0REVIEW"})
    )
    assert verdict == Verdict(
        False, "you already approved this run; a second, different person must approve it"
    )


def test_edit_counts_as_an_approval_with_changes() -> None:
    run = facts(review_rule="two_person")
    assert decide("edit", "U0REVIEW", run=run) == Verdict(
        True, "edited: 1 of 2 approvals; a second person must approve", completes=False
    )
    assert decide("edit", "U0OWNER", run=run, approvals=frozenset({"U0REVIEW"})) == Verdict(
        True, "edited: 2 of 2 approvals", completes=True
    )
    assert not decide("edit", "U0REVIEW", run=run, approvals=frozenset({"U0REVIEW"})).allowed


def test_one_rejection_completes_a_two_person_review() -> None:
    verdict = decide(
        "reject", "U0REVIEW2", run=facts(review_rule="two_person"), approvals=frozenset({"U0REVIEW"})
    )
    assert verdict == Verdict(True, "rejected", completes=True)


def test_edit_completes_at_once_under_the_owner_rule() -> None:
    assert decide("edit", "U0REVIEW") == Verdict(True, "edited", completes=True)


def test_requester_rule_applies_before_two_person_counting() -> None:
    run = facts(review_rule="two_person", requester="U0REVIEW")
    assert not decide("approve", "U0REVIEW", run=run).allowed


# --- run anyway ---------------------------------------------------------------------------------


def test_owner_can_run_anyway_past_a_budget_stop() -> None:
    verdict = decide("run_anyway", "U0OWNER", run=facts(status="needs_confirmation"))
    assert verdict == Verdict(True, "budget waived: run anyway confirmed by owner", completes=True)


def test_owner_group_member_can_run_anyway() -> None:
    run = facts(status="needs_confirmation")
    assert decide("run_anyway", "U0LEAD", run=run, groups=frozenset({"S0LEADS"})).allowed


def test_reviewers_cannot_run_anyway() -> None:
    verdict = decide("run_anyway", "U0REVIEW", run=facts(status="needs_confirmation"))
    assert verdict == Verdict(False, "only the owners of lane support can run it anyway past its budget")


def test_run_anyway_only_for_runs_stopped_by_a_budget() -> None:
    verdict = decide("run_anyway", "U0OWNER", run=facts(status="drafted"))
    assert verdict == Verdict(False, "already drafted; run anyway is only for runs stopped by a budget")


def test_unknown_action_is_refused() -> None:
    assert decide("delete") == Verdict(
        False, "unknown action 'delete'; use approve, edit, reject or run_anyway"
    )
