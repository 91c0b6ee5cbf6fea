"""Faults injected into a running bot, over real HTTP: a model server dying mid-call, the audit
database going away (PostgreSQL behind a proxy we cut, SQLite locked by another connection), and
Slack's Web API down for a while. In each case: nothing is lost, no draft appears without its
audit record, and nothing is left ``running``."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from bot.playground.slackstub import SlackStubServer, demo_workspace
from bot.runtime.recovery import Recovery, max_run_time
from bot.slack import ids
from lanes.audit.records import RunRecord
from storage.search import AuditQuery
from tests.fakes import Exchange, Gate, Hang, ModelServer, Ok
from tests.procs.harness import wait_until
from tests.procs.tcp_proxy import TcpProxy
from tests.slack_harness import Bot, lanes_config, running_bot, slack_and_models

DRAFT = "Thanks for your message; a colleague will follow up today."
NO_CHECKS = {"support": {"checks": {}}}
CHANNEL = "C0LANES"


@dataclass(frozen=True)
class HalfAnswer:
    """HTTP 200 headers and half of a Chat Completions body, then a reset: a call killed halfway."""

    def act(self, exchange: Exchange) -> None:
        body = json.dumps({"id": "chatcmpl-half", "object": "chat.completion", "choices": []}).encode()
        handler = exchange._handler
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        handler.abort()


def readyz(bot: Bot) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{bot.http.url}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def drafts_in_thread(bot: Bot, run: RunRecord) -> list[Any]:
    """Thread messages carrying Approve buttons (a draft a person could act on)."""
    return [
        m
        for m in bot.ws.messages(CHANNEL)
        if any(b.get("type") == "actions" for b in m.blocks) and run.id in str(m.blocks)
    ]


def recovery_for(bot: Bot) -> Recovery:
    core = bot.runtime.core
    return Recovery(core.store, bot.runtime.client, core.config, "bot-1", clock=bot.clock)


# --- the model --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["server killed mid-call", "half an answer then a reset"])
def test_a_model_call_killed_halfway_falls_back_once_and_is_audited(sqlite_url: str, how: str) -> None:
    with SlackStubServer(demo_workspace()) as stub, ModelServer() as primary, ModelServer() as spare:
        primary.always("gpt-5-mini", Hang() if how.startswith("server") else HalfAnswer())
        spare.always("llama3.1:8b", Ok(DRAFT))
        config = spare.retarget(lanes_config(primary, lanes=NO_CHECKS))
        with running_bot(sqlite_url, primary, stub, config) as bot:
            bot.command("U0ASKER", "Where is my parcel?")
            primary.wait_for_requests(1, timeout=10)
            if how.startswith("server"):
                primary.close()  # the model server dies with the call in flight
            bot.settle()
            run = bot.latest_run()

            assert run.status == "drafted" and run.route_kind == "fallback"
            assert [(a.kind, a.outcome) for a in run.attempts] == [("first", "failed"), ("fallback", "ok")]
            assert run.attempts[0].error and run.fallback_reason
            assert len(spare.requests) == 1  # exactly one try on the fallback
            (draft,) = drafts_in_thread(bot, run)
            assert DRAFT in str(draft.blocks)


# --- the audit store --------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_going_away_mid_run_stops_the_workflow_with_no_draft(pg_url: str) -> None:
    held = threading.Event()
    with TcpProxy(("127.0.0.1", 5432)) as proxy, slack_and_models() as (stub, models):
        url = pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
        models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
        with running_bot(url, models, stub, lanes_config(models, lanes=NO_CHECKS)) as bot:
            assert readyz(bot)[0] == 200
            bot.command("U0ASKER", "Where is my parcel?")
            models.wait_for_requests(1, timeout=10)
            proxy.cut()  # the database host vanishes while the model is answering
            held.set()
            bot.settle()

            status, body = readyz(bot)
            assert status == 503 and body["status"] == "not ready" and "audit store" in body["detail"]
            assert DRAFT not in json.dumps([m.blocks for m in bot.ws.all_messages()])
            (root,) = [m for m in bot.ws.messages(CHANNEL) if not m.is_reply]
            (told,) = [m for m in bot.ws.replies(CHANNEL, root.ts) if m.ts != root.ts]
            assert "no draft can be shown (no log, no draft)" in told.text
            assert any("no draft can be shown" in t for t in bot.response_texts())

            proxy.restore()
            wait_until(lambda: readyz(bot)[0] == 200, timeout=30)
            (run,) = [bot.run(r.id) for r in bot.store.search(AuditQuery(limit=100))]
            assert run.status == "running" and not run.attempts  # its failure could not be written
            bot.clock.advance(seconds=max_run_time(bot.runtime.core.config).total_seconds() + 1)
            assert recovery_for(bot).tick().interrupted == (run.id,)
            assert bot.run(run.id).status == "failed"
            replies = [m for m in bot.ws.replies(CHANNEL, root.ts) if m.ts != root.ts]
            assert replies == [told]  # told once, in the thread; recovery adds no second message
            assert not any("was interrupted" in m.text for m in bot.ws.all_messages())


def test_sqlite_locked_by_another_process_stops_the_run_with_no_draft(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    held = threading.Event()
    path = sqlite_url.removeprefix("sqlite:///")
    caplog.set_level(logging.ERROR, logger="storage.store")
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
        with running_bot(sqlite_url, models, stub, lanes_config(models, lanes=NO_CHECKS)) as bot:
            bot.command("U0ASKER", "Where is my parcel?")
            models.wait_for_requests(1, timeout=10)
            locker = sqlite3.connect(path, isolation_level=None, timeout=30)
            locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            try:
                held.set()
                wait_until(lambda: _write_failed(caplog), timeout=60)
            finally:
                locker.execute("ROLLBACK")
                locker.close()
            bot.settle(timeout=60)

            run = bot.latest_run()
            assert run.status == "failed" and "audit store" in (run.error or "")
            assert not drafts_in_thread(bot, run)
            assert DRAFT not in json.dumps([m.blocks for m in bot.ws.all_messages()])
            assert any("no draft can be shown" in t for t in bot.response_texts())


def _write_failed(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.getMessage().startswith("audit store write failed") for r in caplog.records)


# --- Slack ------------------------------------------------------------------------------------


def test_slack_down_for_a_few_seconds_delays_the_draft_and_loses_nothing(sqlite_url: str) -> None:
    held = threading.Event()
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
        with running_bot(sqlite_url, models, stub, lanes_config(models, lanes=NO_CHECKS)) as bot:
            bot.command("U0ASKER", "Where is my parcel?")
            models.wait_for_requests(1, timeout=10)
            stub.set_down(True)
            held.set()
            wait_until(lambda: [c for c in bot.ws.calls("chat.postMessage") if c.status == 503])
            stub.set_down(False)
            bot.settle()

            run = bot.latest_run()
            assert run.status == "drafted" and run.slack_draft_ts
            (draft,) = drafts_in_thread(bot, run)
            assert DRAFT in str(draft.blocks)


def test_a_long_slack_outage_is_delivered_late_once_and_the_draft_still_decided(sqlite_url: str) -> None:
    held = threading.Event()
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Gate(held, Ok(DRAFT)))
        with running_bot(sqlite_url, models, stub, lanes_config(models, lanes=NO_CHECKS)) as bot:
            bot.command("U0ASKER", "Where is my parcel?")
            models.wait_for_requests(1, timeout=10)
            stub.set_down(True)
            held.set()
            bot.settle(timeout=60)  # the post gives up after its retries

            run = bot.latest_run()
            assert run.status == "drafted" and run.slack_root_ts and not run.slack_draft_ts
            assert recovery_for(bot).tick().delivered == ()  # still down: kept for later
            stub.set_down(False)
            assert recovery_for(bot).tick().delivered == (run.id,)
            assert recovery_for(bot).tick().delivered == ()  # and only once

            run = bot.run(run.id)
            (draft,) = drafts_in_thread(bot, run)
            assert draft.ts == run.slack_draft_ts and draft.thread_ts == run.slack_root_ts
            assert DRAFT in str(draft.blocks) and "Posted late" in str(draft.blocks)
            bot.click("U0OWNER", run, ids.APPROVE)
            bot.settle()
            assert bot.run(run.id).status == "approved"


def test_slack_down_when_the_command_arrives_is_reported_once_it_returns(sqlite_url: str) -> None:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        with running_bot(sqlite_url, models, stub, lanes_config(models, lanes=NO_CHECKS)) as bot:
            stub.set_down(True)
            assert bot.command("U0ASKER", "Where is my parcel?").response.status == 200  # the ack is HTTP
            bot.settle(timeout=60)
            run = bot.latest_run()
            assert run.status == "failed" and not models.requests  # nothing sent to a model

            stub.set_down(False)
            assert recovery_for(bot).tick().delivered == (run.id,)
            (told,) = [m for m in bot.ws.messages(CHANNEL) if run.id in m.text]
            assert "<@U0ASKER>" in told.text and "*failed*" in told.text
            assert recovery_for(bot).tick().delivered == ()
