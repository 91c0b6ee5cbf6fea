"""The slash-command flow end to end: ack, root message, draft in the thread, and the decisions.

Every test drives the real bot over HTTP with requests signed as Slack signs them, against the
Slack stand-in and the model wire-protocol servers, on SQLite and on PostgreSQL (``db_url``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.slack import ids
from storage.search import AuditQuery
from tests.fakes import Ok
from tests.slack_harness import Bot, assert_blocks_valid, lanes_config, running_bot, slack_and_models

DRAFT = "Hello, thanks for reaching out. We will look at the double charge and follow up today."


@pytest.fixture
def bot(db_url: str) -> Iterator[Bot]:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT, model_answered="gpt-5-mini-2025-08-07"))
        with running_bot(db_url, models, stub, lanes_config(models)) as running:
            yield running


def test_command_is_acked_with_route_then_draft_posted_in_thread(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "Customer says they were charged twice")

    assert delivery.response.status == 200
    ack = delivery.response.json()
    assert ack["response_type"] == "ephemeral"
    assert "*fast* (gpt-5-mini)" in ack["text"] and "default for lane support" in ack["text"]
    bot.settle()

    run = bot.latest_run()
    assert run.status == "drafted" and run.source == "slack" and run.requester == "U0ASKER"
    root = bot.ws.message("C0LANES", run.slack_root_ts)
    assert "*support* request from <@U0ASKER>" in root.blocks[0]["text"]["text"]
    assert "charged twice" in root.blocks[0]["text"]["text"]
    replies = bot.thread(run)
    assert [m.ts for m in replies] == [run.slack_root_ts, run.slack_draft_ts]
    draft = bot.draft_message(run)
    text = str(draft.blocks)
    assert DRAFT in text
    assert "gpt-5-mini-2025-08-07" in text and "route default: default for lane support" in text
    assert f"support/fast@{run.prompt_version}" in text and "$0.0" in text
    assert "<@U0OWNER> <@U0REVIEW>" in text  # owners and reviewers are mentioned in the thread
    actions = next(b for b in draft.blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [ids.APPROVE, ids.EDIT, ids.REJECT]
    assert_blocks_valid(bot)


def test_empty_text_answers_with_the_lanes_usage_and_runs_nothing(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "   ")

    assert "Usage: `/support <text>`" in delivery.response.json()["text"]
    bot.settle()
    assert bot.store.search(AuditQuery()) == []
    assert not bot.models.requests
    assert not bot.ws.messages("C0LANES")


def test_text_over_the_lane_limit_is_refused_with_a_clear_error(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "x" * 8001)

    text = delivery.response.json()["text"]
    assert "Nothing was run" in text and "8,001 characters" in text and "at most 8,000" in text
    bot.settle()
    assert not bot.models.requests
    assert not bot.ws.messages("C0LANES")


def test_owner_approves_and_the_message_is_updated_in_place(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    bot.clock.advance(minutes=2)

    bot.click("U0OWNER", run, ids.APPROVE)
    bot.settle()

    run = bot.run(run.id)
    assert run.status == "approved"
    assert run.final_decision is not None and run.final_decision.actor == "U0OWNER"
    message = bot.draft_message(run)
    assert message.blocks[0]["text"]["text"].startswith(
        ":white_check_mark: *Approved* by <@U0OWNER>, 2 min after the draft"
    )
    assert not [b for b in message.blocks if b["type"] == "actions"]
    assert DRAFT in str(message.blocks)  # the approved text stays, ready to copy
    assert_blocks_valid(bot)


def test_someone_not_owner_or_reviewer_is_refused_and_the_attempt_recorded(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")

    bot.click("U0DEV1", run, ids.APPROVE)
    bot.settle()

    assert any(
        "You can't approve this draft: only the owners or reviewers" in t
        for t in bot.ephemeral_texts("U0DEV1")
    )
    run = bot.run(run.id)
    assert run.status == "drafted"
    assert [(d.kind, d.actor) for d in run.decisions] == [("refused", "U0DEV1")]
    assert any(b["type"] == "actions" for b in bot.draft_message(run).blocks)


def test_the_requester_may_not_approve_their_own_run(bot: Bot) -> None:
    run = bot.ask("U0OWNER", "Where is my parcel?")

    bot.click("U0OWNER", run, ids.APPROVE)
    bot.settle()

    assert any(
        "you requested this run, so someone else must approve it" in t for t in bot.ephemeral_texts("U0OWNER")
    )
    assert bot.run(run.id).status == "drafted"

    bot.click("U0REVIEW", run, ids.APPROVE)
    bot.settle()
    assert bot.run(run.id).status == "approved"


def test_a_double_click_produces_exactly_one_decision(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")

    clicks = [threading.Thread(target=bot.click, args=("U0OWNER", run, ids.APPROVE)) for _ in range(3)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    bot.settle()

    run = bot.run(run.id)
    assert [d.kind for d in run.decisions if d.final] == ["approve"]
    assert sum("already approved by <@U0OWNER>" in t for t in bot.ephemeral_texts("U0OWNER")) == 2
    assert any("already approved by <@U0OWNER>" in t for t in bot.ephemeral_texts("U0OWNER"))


def test_edit_opens_a_prefilled_modal_and_records_the_edit_distance(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")

    bot.click("U0REVIEW", run, ids.EDIT)
    bot.settle()
    (modal,) = bot.ws.views.open_views("U0REVIEW")
    field = modal.view["blocks"][1]
    assert field["element"]["initial_value"] == DRAFT
    edited = DRAFT.replace("today", "within 24 hours")
    result = bot.sim.submit_view("U0REVIEW", modal.id, {field["block_id"]: {ids.EDIT_PART_INPUT: edited}})
    assert not result.view_errors
    bot.settle()

    run = bot.run(run.id)
    assert run.status == "edited"
    final = run.final_decision
    assert final is not None and final.kind == "edit" and final.edited_text == edited
    assert final.edit_distance is not None and final.edit_distance > 0
    message = bot.draft_message(run)
    assert "*Approved with edits* by <@U0REVIEW>" in message.blocks[0]["text"]["text"]
    assert "within 24 hours" in str(message.blocks) and not any(
        b["type"] == "actions" for b in message.blocks
    )
    assert_blocks_valid(bot)


def test_an_empty_edit_is_refused_inside_the_modal(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    bot.click("U0REVIEW", run, ids.EDIT)
    bot.settle()
    (modal,) = bot.ws.views.open_views("U0REVIEW")

    result = bot.sim.submit_view(
        "U0REVIEW", modal.id, {f"{ids.EDIT_PART_BLOCK}0": {ids.EDIT_PART_INPUT: "  "}}
    )

    assert result.view_errors == {
        f"{ids.EDIT_PART_BLOCK}0": "The edited draft is empty; write the text to approve, or use Reject."
    }
    assert bot.run(run.id).status == "drafted"


def test_reject_needs_a_reason_and_is_recorded_with_it(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")

    bot.click("U0OWNER", run, ids.REJECT)
    bot.settle()
    (modal,) = bot.ws.views.open_views("U0OWNER")
    with pytest.raises(ValueError):  # Slack's client will not submit without the required reason
        bot.sim.submit_view("U0OWNER", modal.id, {})
    bot.sim.submit_view(
        "U0OWNER",
        modal.id,
        {
            ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: "wrong tone"},
            ids.REJECT_NOTE_BLOCK: {ids.REJECT_NOTE_INPUT: "too casual for this customer"},
        },
    )
    bot.settle()

    run = bot.run(run.id)
    assert run.status == "rejected"
    final = run.final_decision
    assert final is not None and (final.kind, final.reason, final.note) == (
        "reject",
        "wrong tone",
        "too casual for this customer",
    )
    status = bot.draft_message(run).blocks[0]["text"]["text"]
    assert "*Rejected* by <@U0OWNER>" in status and "wrong tone" in status and "too casual" in status
    assert DRAFT not in str(bot.draft_message(run).blocks)
    assert_blocks_valid(bot)
