"""What Slack and the network throw at the bot: forged and stale requests, retries and replays,
429s, a channel the bot is not in, expired trigger ids, huge drafts, pings hidden in text, a full
worker pool. All over real HTTP against the Slack stand-in and the model servers."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from bot.playground.slackstub import ManualClock
from bot.slack import ids, slack_io, views
from storage.search import AuditQuery
from tests.fakes import Gate, Ok
from tests.slack_harness import (
    Bot,
    assert_blocks_valid,
    lanes_config,
    posted_json,
    running_bot,
    slack_and_models,
)

DRAFT = "Thanks for your message; a colleague will follow up today."
NO_CHECKS = {"checks": {}}


@pytest.fixture
def bot(sqlite_url: str) -> Iterator[Bot]:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        with running_bot(
            sqlite_url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})
        ) as running:
            yield running


def runs(bot: Bot) -> list[str]:
    return [row.id for row in bot.store.search(AuditQuery())]


def test_a_forged_signature_gets_401_and_runs_nothing(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "Where is my parcel?", forge=True)

    assert delivery.response.status == 401
    bot.settle()
    assert runs(bot) == [] and not bot.models.requests


def test_a_stale_timestamp_gets_401_and_runs_nothing(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "Where is my parcel?", stale=True)

    assert delivery.response.status == 401
    bot.settle()
    assert runs(bot) == [] and not bot.models.requests


def test_slack_retries_and_replays_never_start_a_second_run(bot: Bot) -> None:
    payload = bot.sim.payloads.slash_command(
        user="U0ASKER", channel="C0LANES", command="/support", text="Where is my parcel?"
    )
    first = bot.sim.sender.sign(payload)
    assert bot.sim.sender.send(first).status == 200
    retry = bot.sim.sender.send(bot.sim.sender.sign(payload, retry_num=1, retry_reason="http_timeout"))
    replay = bot.sim.sender.send(first)  # the same signed request again, inside the 5-minute window
    bot.settle()

    assert "Already working on this `/support` request" in retry.json()["text"]
    assert replay.status == 200
    assert len(runs(bot)) == 1
    assert len(bot.models.requests) == 1
    roots = [m for m in bot.ws.messages("C0LANES") if not m.is_reply]
    assert len(roots) == 1


def test_a_429_from_slack_is_honoured_and_the_draft_still_posted(bot: Bot) -> None:
    bot.stub.fail_next("chat.postMessage", status=429, retry_after=1)

    run = bot.ask("U0ASKER", "Where is my parcel?")

    posts = bot.ws.calls("chat.postMessage")
    assert posts[0].status == 429 and posts[0].error == "ratelimited"
    assert (
        all(call.status == 200 for call in posts[1:]) and len(posts) == 3
    )  # retry of the root, then the draft
    assert run.status == "drafted" and DRAFT in str(bot.draft_message(run).blocks)


def test_bot_not_in_channel_gets_an_invite_instruction_and_an_audited_failure(bot: Bot) -> None:
    delivery = bot.command("U0ASKER", "Where is my parcel?", channel="C0RANDOM")
    assert delivery.response.status == 200
    bot.settle()

    run = bot.latest_run()
    assert run.status == "failed" and run.channel == "C0RANDOM"
    assert run.error is not None and "invite it with /invite @lanebot" in run.error
    assert not bot.models.requests  # nothing was sent to a model
    (told,) = bot.response_texts()
    assert "I can't post in <#C0RANDOM>" in told and "/invite @lanebot" in told and run.id in told


def test_an_expired_trigger_id_is_explained_instead_of_lost(sqlite_url: str) -> None:
    slack_clock = ManualClock()
    with (
        slack_and_models(slack_clock) as (stub, models),
        running_bot(sqlite_url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})) as bot,
    ):
        models.always("gpt-5-mini", Ok(DRAFT))
        run = bot.ask("U0ASKER", "Where is my parcel?")
        payload = bot.sim.payloads.block_action(
            user="U0OWNER", channel="C0LANES", message_ts=run.slack_draft_ts, action_id=ids.EDIT
        )
        slack_clock.advance(4)  # the click reached the bot more than 3 s after Slack issued the trigger
        assert bot.sim.sender.deliver(payload).status == 200
        bot.settle()

        assert [c.error for c in bot.ws.calls("views.open")] == ["expired_trigger_id"]
        assert any(
            "Slack closed the window for it; please click again" in t for t in bot.ephemeral_texts("U0OWNER")
        )
        assert bot.run(run.id).status == "drafted"


def test_a_10000_character_draft_is_split_within_block_kit_limits_and_never_cut(sqlite_url: str) -> None:
    paragraphs = [f"Paragraph {i} & <notes> 🚀: " + "détails of the answer, é ✓ " * 9 for i in range(60)]
    long_draft = "\n\n".join(paragraphs)[:10_000]
    with (
        slack_and_models() as (stub, models),
        running_bot(sqlite_url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})) as bot,
    ):
        models.always("gpt-5-mini", Ok(long_draft))
        run = bot.ask("U0ASKER", "Write a long answer")

        blocks = bot.draft_message(run).blocks
        sections = [
            b["text"]["text"] for b in blocks if str(b.get("block_id", "")).startswith(ids.DRAFT_TEXT_BLOCK)
        ]
        assert len(sections) >= 4 and all(len(s) <= 3000 for s in sections)
        assert all(s.startswith(">") for s in sections)  # model text is quoted, never the bot's own lines
        shown = "".join(slack_io.unquote(s) for s in sections)
        assert slack_io.unescape(shown) == long_draft == views.draft_text_from_blocks(blocks)
        assert_blocks_valid(bot)

        bot.click("U0OWNER", run, ids.EDIT)
        bot.settle()
        (modal,) = bot.ws.views.open_views("U0OWNER")
        parts = [b["element"].get("initial_value", "") for b in modal.view["blocks"] if b["type"] == "input"]
        assert len(parts) >= 4 and all(len(p) <= 3000 for p in parts) and "".join(parts) == long_draft


def test_a_very_long_draft_continues_in_the_thread_then_as_a_file(sqlite_url: str) -> None:
    huge = "".join(f"line {i} " + "z" * 90 + "\n" for i in range(700))  # ~70,000 characters
    with (
        slack_and_models() as (stub, models),
        running_bot(sqlite_url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})) as bot,
    ):
        models.script("gpt-5-mini", Ok(huge[:30_000]), Ok(huge))
        medium = bot.ask("U0ASKER", "first")
        thread = bot.thread(medium)
        assert len(thread) == 4  # root, the draft message, two continuations
        shown = "".join(
            slack_io.unquote(b["text"]["text"])
            for m in thread[1:]
            for b in m.blocks
            if b["type"] == "section" and "line " in b["text"]["text"]
        )
        assert shown == huge[:30_000]

        big = bot.ask("U0ASKER", "second")
        (uploaded,) = bot.ws.files.all()
        assert uploaded.content == huge.encode() and big.slack_root_ts in (uploaded.thread_ts or "")
        assert "full text is in the attached file" in str(bot.draft_message(big).blocks)
        assert not any(
            e["action_id"] == ids.EDIT
            for b in bot.draft_message(big).blocks
            if b["type"] == "actions"
            for e in b["elements"]
        )
        assert_blocks_valid(bot)


def test_channel_pings_in_the_request_and_the_model_output_ping_nobody(sqlite_url: str) -> None:
    request = "<!channel> urgent, and tell <@U0MANAGER> & <!here> <!subteam^S0LEGAL>"
    output = "Sure <!channel>! Looping in <@U0LEAD> and <!everyone>."
    with (
        slack_and_models() as (stub, models),
        running_bot(sqlite_url, models, stub, lanes_config(models, lanes={"support": NO_CHECKS})) as bot,
    ):
        models.always("gpt-5-mini", Ok(output))
        run = bot.ask("U0ASKER", request)
        assert models.requests[0].prompt.count("<!channel>") == 1  # the model saw what was typed

        everything = posted_json(bot)
        for ping in (
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<@U0MANAGER>",
            "<@U0LEAD>",
            "<!subteam^S0LEGAL>",
        ):
            assert ping not in everything
        assert "&lt;!channel&gt;" in str(bot.ws.message("C0LANES", run.slack_root_ts).blocks)
        assert "Sure &lt;!channel&gt;! Looping in &lt;@U0LEAD&gt;" in str(bot.draft_message(run).blocks)
        assert "<@U0OWNER>" in everything  # the bot's own, deliberate mention of the lane's owners


def test_a_full_worker_pool_queues_then_refuses_and_drops_nothing(sqlite_url: str) -> None:
    gate = threading.Event()
    with (
        slack_and_models() as (stub, models),
        running_bot(
            sqlite_url,
            models,
            stub,
            lanes_config(models, lanes={"support": NO_CHECKS}, workers=1, queue_limit=1),
        ) as bot,
    ):
        models.always("gpt-5-mini", Gate(gate, Ok(DRAFT)))
        first = bot.command("U0ASKER", "one").response.json()["text"]
        second = bot.command("U0ASKER", "two").response.json()["text"]
        third = bot.command("U0ASKER", "three").response.json()["text"]
        gate.set()
        bot.settle()

        assert first.startswith("Working on your `/support` request")
        assert second.startswith("Your `/support` request is queued: 0 run(s) ahead")
        assert third.startswith("lanebot is at capacity") and "nothing was sent to a model" in third
        assert sorted(bot.store.get_run(r).status for r in runs(bot)) == ["drafted", "drafted"]


def test_health_and_metrics_endpoints_answer(bot: Bot) -> None:
    run = bot.ask("U0ASKER", "Where is my parcel?")
    bot.click("U0OWNER", run, ids.APPROVE)
    bot.settle()

    with urllib.request.urlopen(f"{bot.http.url}/healthz", timeout=5) as response:
        body = json.loads(response.read())
    assert response.status == 200 and body["status"] == "ok" and body["runs_in_flight"] == 0
    with urllib.request.urlopen(f"{bot.http.url}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'lanebot_runs_total{lane="support",route="default",status="drafted"} 1.0' in metrics
    assert 'lanebot_decisions_total{kind="approve",lane="support"} 1.0' in metrics


def test_a_retried_event_delivery_is_handled_once(bot: Bot) -> None:
    message = bot.ws.post_message("C0LANES", text="hi <@U0LANEBOT>", user="U0ASKER")
    payload = bot.sim.payloads.message_event(message, mention=True)
    assert bot.sim.sender.deliver(payload).status == 200
    assert bot.sim.sender.deliver(payload, retry_num=1).status == 200
    bot.settle()

    replies = [m for m in bot.ws.replies("C0LANES", message.ts) if m.bot_id]
    assert len(replies) == 1 and "/lanes" in replies[0].text
