"""Runs that end without a plain draft are posted truthfully: failures name what failed, checks that
sent a draft to a human are named, budget stops offer owners "run anyway", and group-owned lanes
and two-person rules hold at click time."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.slack import ids
from tests.fakes import Ok, Status
from tests.slack_harness import Bot, assert_blocks_valid, lanes_config, running_bot, slack_and_models

DRAFT = "Thanks for your message; a colleague will follow up today."


@pytest.fixture
def stack(sqlite_url: str) -> Iterator[tuple[str, object, object]]:
    with slack_and_models() as (stub, models):
        yield sqlite_url, stub, models


def test_a_failed_run_says_what_failed_and_who_is_asked(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Status(500))
    models.always("llama3.1:8b", Status(503))
    with running_bot(url, models, stub, lanes_config(models)) as bot:
        run = bot.ask("U0ASKER", "Where is my parcel?")

        assert run.status == "failed"
        (message,) = bot.thread(run)[1:]
        text = str(message.blocks)
        assert "The support run failed; there is no draft." in text
        assert "Asking <@U0OWNER> <@U0REVIEW>" in text and f"lanebot audit show {run.id}" in text
        assert "first fast: failed" in text and "fallback local: failed" in text
        assert not any(b["type"] == "actions" for b in message.blocks)
        assert_blocks_valid(bot)


def test_a_failed_check_goes_to_a_human_with_the_check_named(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Ok("Good news: I have refunded your order."))
    models.always("claude-sonnet-4-6", Ok("Good news: I have refunded your order twice."))
    with running_bot(url, models, stub, lanes_config(models)) as bot:
        run = bot.ask("U0ASKER", "Where is my parcel?")

        assert run.status == "needs_human" and run.failed_check
        blocks = bot.draft_message(run).blocks
        assert blocks[0]["text"]["text"].startswith(":warning: *Needs a human.* Check `")
        assert "escalation:" in str(blocks) and "claude-sonnet-4-6" in str(blocks)
        assert "Review: <@U0OWNER> <@U0REVIEW>" in str(blocks)
        bot.click("U0OWNER", run, ids.APPROVE)
        bot.settle()
        assert bot.run(run.id).status == "approved"
        assert_blocks_valid(bot)


def test_a_budget_stop_offers_owners_run_anyway_once(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Ok(DRAFT))
    config = lanes_config(models, lanes={"support": {"max_cost_per_run_usd": 0.000001}})
    with running_bot(url, models, stub, config) as bot:
        ack = bot.command("U0ASKER", "Where is my parcel?").response.json()["text"]
        assert "over its lane's budget" in ack and "per-run cap" in ack
        bot.settle()
        stopped = bot.latest_run()
        assert stopped.status == "needs_confirmation" and not models.requests
        message = bot.draft_message(stopped)
        assert "*The support run was not started: budget.*" in str(message.blocks)
        (button,) = next(b for b in message.blocks if b["type"] == "actions")["elements"]
        assert button["text"]["text"].startswith("Run anyway on gpt-5-mini (about $0.0")

        bot.click("U0REVIEW", stopped, ids.RUN_ANYWAY)  # a reviewer, not an owner
        bot.settle()
        assert any(
            "only the owners of lane support can run it anyway" in t for t in bot.ephemeral_texts("U0REVIEW")
        )
        assert not models.requests

        bot.clock.advance(minutes=1)
        clicks = [
            threading.Thread(target=bot.click, args=("U0OWNER", stopped, ids.RUN_ANYWAY)) for _ in range(2)
        ]
        for click in clicks:
            click.start()
        for click in clicks:
            click.join()
        bot.settle()

        assert len(models.requests) == 1
        rerun = bot.latest_run()
        assert rerun.id != stopped.id and rerun.status == "drafted" and rerun.requester == "U0ASKER"
        assert "budget waived: run anyway confirmed by owner" in rerun.route_reasons
        assert rerun.slack_root_ts == stopped.slack_root_ts  # the new draft is in the same thread
        assert any(
            "Run anyway was already confirmed by <@U0OWNER>" in t for t in bot.ephemeral_texts("U0OWNER")
        )
        updated = bot.draft_message(bot.run(stopped.id))
        assert "Run anyway confirmed by <@U0OWNER>" in updated.blocks[0]["text"]["text"]
        assert not any(b["type"] == "actions" for b in updated.blocks)
        kinds = [d.kind for d in bot.run(stopped.id).decisions]
        assert kinds.count("run_anyway") == 1 and "refused" in kinds
        assert_blocks_valid(bot)


def test_two_person_rule_for_sensitive_code_needs_two_distinct_approvers(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Ok("Use a constant-time comparison for the password hash."))
    with running_bot(url, models, stub, lanes_config(models)) as bot:
        run = bot.ask("U0ASKER", "Review the password reset handler", command="/code")
        assert run.review_rule == "two_person"
        assert "two different approvers needed" in str(bot.draft_message(run).blocks)

        bot.click("U0LEAD", run, ids.APPROVE)
        bot.settle()
        message = bot.draft_message(bot.run(run.id))
        assert "<@U0LEAD> approved (1 of 2)" in message.blocks[0]["text"]["text"]
        assert any(b["type"] == "actions" for b in message.blocks)
        assert bot.run(run.id).status == "drafted"

        bot.click("U0LEAD", run, ids.APPROVE)
        bot.settle()
        assert any("a second, different person must approve it" in t for t in bot.ephemeral_texts("U0LEAD"))

        bot.click("U0DEV1", run, ids.APPROVE)
        bot.settle()
        done = bot.run(run.id)
        assert done.status == "approved"
        status = bot.draft_message(done).blocks[0]["text"]["text"]
        assert "*Approved* by <@U0DEV1> and <@U0LEAD>" in status
        assert_blocks_valid(bot)


def test_user_group_owners_are_checked_at_click_time(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Ok(DRAFT))
    config = lanes_config(models, lanes={"support": {"owners": ["S0SUPPORT"], "reviewers": []}})
    with running_bot(url, models, stub, config) as bot:
        run = bot.ask("U0ASKER", "Where is my parcel?")
        assert "<!subteam^S0SUPPORT>" in str(bot.draft_message(run).blocks)

        bot.click("U0DEV1", run, ids.APPROVE)  # not in the group
        bot.settle()
        assert bot.run(run.id).status == "drafted"
        bot.click("U0REVIEW", run, ids.APPROVE)  # in the group
        bot.settle()
        assert bot.run(run.id).status == "approved"
        assert bot.ws.calls("usergroups.users.list")


def test_a_lane_with_no_owners_fails_closed(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Ok(DRAFT))
    config = lanes_config(models, lanes={"support": {"owners": [], "reviewers": []}})
    with running_bot(url, models, stub, config) as bot:
        run = bot.ask("U0ASKER", "Where is my parcel?")
        assert "Nobody can approve this lane's drafts yet" in str(bot.draft_message(run).blocks)
        bot.click("U0OWNER", run, ids.APPROVE)
        bot.settle()
        assert bot.run(run.id).status == "drafted"
        assert any(
            "has no owners or reviewers, so nobody can decide" in t for t in bot.ephemeral_texts("U0OWNER")
        )


def test_two_bot_instances_on_one_postgres_record_exactly_one_decision(pg_url: str) -> None:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        config = lanes_config(models)
        with (
            running_bot(pg_url, models, stub, config, instance="bot-a") as a,
            running_bot(pg_url, models, stub, config, instance="bot-b") as b,
        ):
            run = a.ask("U0ASKER", "Where is my parcel?")
            barrier = threading.Barrier(4)

            def click(bot: Bot, user: str) -> None:
                barrier.wait()
                bot.click(user, run, ids.APPROVE)

            threads = [
                threading.Thread(target=click, args=(bot, user))
                for bot, user in ((a, "U0OWNER"), (b, "U0REVIEW"), (a, "U0REVIEW"), (b, "U0OWNER"))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            a.settle()
            b.settle()

            final = [d for d in a.run(run.id).decisions if d.final]
            assert len(final) == 1 and final[0].kind == "approve"
            told = a.ephemeral_texts("U0OWNER") + a.ephemeral_texts("U0REVIEW")
            assert sum(f"already approved by <@{final[0].actor}>" in t for t in told) == 3
            assert (
                f"*Approved* by <@{final[0].actor}>"
                in a.draft_message(a.run(run.id)).blocks[0]["text"]["text"]
            )


def test_no_audit_record_means_no_draft_and_the_requester_is_told(stack) -> None:  # type: ignore[no-untyped-def]
    url, stub, models = stack
    models.always("gpt-5-mini", Ok(DRAFT))
    with running_bot(url, models, stub, lanes_config(models)) as bot:
        with bot.store.engine.begin() as connection:  # the audit store breaks between two writes of a run
            connection.exec_driver_sql("DROP TABLE attempts")
        bot.command("U0ASKER", "Where is my parcel?")
        bot.settle()

        assert len(models.requests) == 1
        (root,) = [m for m in bot.ws.messages("C0LANES") if not m.is_reply]
        replies = [m for m in bot.ws.replies("C0LANES", root.ts) if m.ts != root.ts]
        assert len(replies) == 1 and "no draft can be shown (no log, no draft)" in replies[0].text
        assert DRAFT not in str([m.blocks for m in bot.ws.all_messages()])
        assert any("no draft can be shown" in t for t in bot.response_texts())


def test_run_anyway_on_another_instance_uses_the_audited_redacted_text(pg_url: str) -> None:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        config = lanes_config(models, lanes={"support": {"max_cost_per_run_usd": 0.000001}})
        with (
            running_bot(pg_url, models, stub, config, instance="bot-a") as a,
            running_bot(pg_url, models, stub, config, instance="bot-b") as b,
        ):
            stopped = a.ask("U0ASKER", "Refund please, reach me at ada@example.com")
            assert stopped.status == "needs_confirmation"

            b.click("U0OWNER", stopped, ids.RUN_ANYWAY)  # instance b never saw the text as typed
            b.settle()

            (request,) = models.requests
            assert "ada@example.com" not in request.prompt and "Refund please" in request.prompt
            status = a.draft_message(a.run(stopped.id)).blocks[0]["text"]["text"]
            assert "uses the text as stored in the audit (redacted)" in status
