"""Drafts nobody decides on: one reminder before the deadline, then expiry (never a rejection),
idempotent across sweeps and across instances; and the /lanes and /lanebot commands."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.runtime.review_deadlines import expire_due, remind_due, sweep
from bot.slack import ids
from tests.fakes import Ok
from tests.slack_harness import Bot, assert_blocks_valid, lanes_config, running_bot, slack_and_models

DRAFT = "Thanks for your message; a colleague will follow up today."


@pytest.fixture
def bot(db_url: str) -> Iterator[Bot]:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        with running_bot(db_url, models, stub, lanes_config(models)) as running:
            yield running


def jobs(bot: Bot) -> tuple[object, object, object]:
    return bot.store, bot.runtime.client, bot.runtime.core.config


def test_owners_are_reminded_once_then_the_draft_expires_without_a_rejection(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    drafted = bot.clock()
    assert run.expires_at == drafted + timedelta(hours=24)

    assert remind_due(*jobs(bot), drafted + timedelta(hours=17)) == 0  # more than a quarter left
    assert remind_due(*jobs(bot), drafted + timedelta(hours=18, minutes=1)) == 1
    assert remind_due(*jobs(bot), drafted + timedelta(hours=19)) == 0  # once
    reminder = bot.thread(run)[-1]
    assert "<@U0OWNER> <@U0REVIEW>: this draft is still waiting for review" in reminder.text

    assert expire_due(*jobs(bot), drafted + timedelta(hours=23, minutes=59)) == 0
    assert expire_due(*jobs(bot), drafted + timedelta(hours=24)) == 1
    assert expire_due(*jobs(bot), drafted + timedelta(hours=25)) == 0

    run = bot.run(run.id)
    assert run.status == "expired"
    assert [d.kind for d in run.decisions] == ["remind", "expire"]
    assert run.final_decision is not None and run.final_decision.kind == "expire"
    message = bot.draft_message(run)
    assert message.blocks[0]["text"]["text"].startswith(":hourglass: *Expired*: no decision within 24h")
    assert DRAFT not in str(message.blocks) and not any(b["type"] == "actions" for b in message.blocks)
    assert_blocks_valid(bot)


def test_a_click_after_expiry_is_told_the_draft_expired(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    stale_click = bot.sim.payloads.block_action(
        user="U0OWNER", channel="C0LANES", message_ts=run.slack_draft_ts, action_id=ids.APPROVE
    )  # clicked on a screen not yet updated
    assert sweep(*jobs(bot), bot.clock() + timedelta(days=2)) == (0, 1)

    assert bot.sim.sender.deliver(stale_click).status == 200
    bot.settle()
    assert bot.run(run.id).status == "expired"
    assert "This draft is already expired." in bot.ephemeral_texts("U0OWNER")


def test_a_decided_draft_never_expires(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    bot.click("U0OWNER", run, ids.APPROVE)
    bot.settle()

    assert sweep(*jobs(bot), bot.clock() + timedelta(days=3)) == (0, 0)
    assert bot.run(run.id).status == "approved"


def test_sweeps_racing_on_several_instances_expire_each_draft_once(bot: Bot) -> None:
    first = bot.ask("U0ASKER", "one")
    second = bot.ask("U0ASKER", "two")
    later = bot.clock() + timedelta(days=1, minutes=1)
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda: counts.append(expire_due(*jobs(bot), later))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 2
    for run in (first, second):
        assert [d.kind for d in bot.run(run.id).decisions] == ["expire"]


def test_lanes_lists_every_lane_and_its_policy(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "", command="/lanes")

    body = delivery.response.json()
    text = str(body["blocks"])
    for command in ("/support", "/contract", "/code"):
        assert f"*{command}*" in text
    assert "two different owners or reviewers approve each draft" in text
    assert "<@U0LEGAL>" in text and "expires after 24h" in text
    assert_blocks_valid(bot)


def test_lanebot_audit_answers_owners_only_and_only_for_their_lanes(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")

    searches = (
        ("U0ASKER", "audit lane:support"),
        ("U0OWNER", "audit lane:code"),
        ("U0OWNER", "audit lane:support status:drafted since:1d"),
        ("U0OWNER", "audit color:blue"),
    )
    for user, text in searches:
        bot.command(user, text, command="/lanebot")
        bot.settle()  # each search answers after its ack; wait so the answers keep their order

    answers = [str(c.params.get("blocks")) for c in bot.ws.calls("response_url")]
    assert "Only lane owners can search the audit trail." in answers[0]
    assert "You are not an owner of lane code" in answers[1]
    assert (
        f"`{run.id[:12]}` support" in answers[2] and "*drafted*" in answers[2] and "<@U0ASKER>" in answers[2]
    )
    assert "`color:blue` is not a filter" in answers[3]


def test_lanebot_without_arguments_is_help(bot: Bot) -> None:
    text = bot.command("U0ASKER", "", command="/lanebot").response.json()["text"]
    assert "/lanebot audit" in text and "/lanes" in text
