"""Socket Mode dispatch, the one global error handler, and the runtime's settings checks."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot.playground.slackstub import Payload
from bot.runtime.http_server import serve_socket
from bot.runtime.settings import load_settings
from bot.runtime.wiring import build_runtime
from bot.slack import ids
from lanes.errors import ConfigError
from tests.fakes import Ok
from tests.slack_harness import lanes_config, running_bot, slack_and_models

DRAFT = "Thanks for your message; a colleague will follow up today."


def test_socket_mode_needs_no_signing_secret_and_acks_commands(sqlite_url: str) -> None:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        settings = load_settings(
            env_file=None,
            slack_bot_token=stub.workspace.bot_token,
            slack_api_url=stub.api_url,
            database_url=sqlite_url,
        )
        runtime = build_runtime(settings, mode="socket", config=lanes_config(models), env=models.env())
        try:
            body = {
                "command": "/support",
                "text": "Where is my parcel?",
                "user_id": "U0ASKER",
                "channel_id": "C0LANES",
                "team_id": stub.workspace.team_id,
                "trigger_id": "1.2.socket",
            }
            response = runtime.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
            assert response.status == 200
            assert json.loads(response.body)["text"].startswith("Working on your `/support` request")
        finally:
            runtime.close()
        assert [m.text for m in stub.workspace.messages("C0LANES") if m.is_reply] == [
            "Draft for review (support): <@U0OWNER> <@U0REVIEW>"
        ]


def test_http_mode_refuses_to_start_without_a_signing_secret(sqlite_url: str) -> None:
    with slack_and_models() as (stub, models):
        settings = load_settings(
            env_file=None,
            slack_bot_token=stub.workspace.bot_token,
            slack_api_url=stub.api_url,
            database_url=sqlite_url,
        )
        with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
            build_runtime(settings, config=lanes_config(models), env=models.env())


def test_socket_mode_refuses_to_start_without_an_app_token(sqlite_url: str) -> None:
    settings = load_settings(env_file=None, slack_bot_token="xoxb-x", database_url=sqlite_url)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        serve_socket(settings)


def test_an_unexpected_listener_error_is_logged_once_and_the_user_told(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with slack_and_models() as (stub, models):
        models.always("gpt-5-mini", Ok(DRAFT))
        with running_bot(sqlite_url, models, stub, lanes_config(models)) as bot:
            run = bot.ask("U0ASKER", "Where is my parcel?")
            real = bot.sim.payloads.block_action(
                user="U0OWNER", channel="C0LANES", message_ts=run.slack_draft_ts, action_id=ids.APPROVE
            )
            data = dict(real.data)
            data["actions"] = [{**data["actions"][0], "action_id": ids.RUN_ANYWAY, "value": "{not json"}]
            broken = Payload.raw(urlencode({"payload": json.dumps(data)}), real.content_type, "block_actions")

            assert bot.sim.sender.deliver(broken).status == 200
            bot.settle()

            (told,) = bot.response_texts()
            assert told.startswith("Something went wrong handling that (reference `")
            reference = told.split("`")[1]
            errors = [r for r in caplog.records if r.getMessage() == "unhandled error in a Slack listener"]
            assert len(errors) == 1 and errors[0].reference == reference  # type: ignore[attr-defined]
            assert bot.run(run.id).status == "drafted"
