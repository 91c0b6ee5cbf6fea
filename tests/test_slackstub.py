"""The Slack stand-in, driven by the real slack_sdk WebClient and a real slack_bolt App over HTTP."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.playground.slackstub import (
    BoltHttpServer,
    Change,
    ManualClock,
    PayloadFactory,
    SlackSender,
    SlackSimulator,
    SlackStubServer,
    Workspace,
    demo_workspace,
)

SECRET = "test-signing-secret"
CHANNEL = "C0LANES"
ASKER = "U0ASKER"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ws(clock: ManualClock) -> Workspace:
    return demo_workspace(clock=clock)


@pytest.fixture
def server(ws: Workspace) -> Iterator[SlackStubServer]:
    with SlackStubServer(ws) as srv:
        yield srv


@pytest.fixture
def client(server: SlackStubServer, ws: Workspace) -> WebClient:
    return WebClient(token=ws.bot_token, base_url=server.api_url)


@pytest.fixture
def payloads(server: SlackStubServer, ws: Workspace) -> PayloadFactory:
    return PayloadFactory(ws, response_url_base=server.base_url)


def _error(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call(*args, **kwargs)
    return str(info.value.response["error"])


def _section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def _png() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


# ---- Web API through the real WebClient ------------------------------------------------------------


def test_api_url_is_slack_sdk_base_url_form(server: SlackStubServer, client: WebClient) -> None:
    assert server.api_url == f"http://127.0.0.1:{server.port}/api/"
    assert client.auth_test()["user_id"] == "U0LANEBOT"


def test_post_update_and_thread_reply(client: WebClient, ws: Workspace) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="draft", blocks=[_section("*draft*")])
    reply = client.chat_postMessage(channel=CHANNEL, text="details", thread_ts=parent["ts"])
    nested = client.chat_postMessage(channel=CHANNEL, text="more", thread_ts=reply["ts"])
    client.chat_update(channel=CHANNEL, ts=parent["ts"], text="approved", blocks=[_section("*approved*")])

    assert float(parent["ts"]) < float(reply["ts"]) < float(nested["ts"])
    assert nested["message"]["thread_ts"] == parent["ts"]  # a reply to a reply joins the parent's thread
    updated = ws.message(CHANNEL, parent["ts"])
    assert updated is not None and updated.text == "approved" and updated.edited_ts
    assert updated.blocks[0]["text"]["text"] == "*approved*" and updated.blocks[0]["block_id"]
    thread = client.conversations_replies(channel=CHANNEL, ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["approved", "details", "more"]
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])["permalink"]
    assert link.endswith(f"?thread_ts={parent['ts']}&cid={CHANNEL}")


def test_ephemeral_only_to_channel_members(client: WebClient, ws: Workspace) -> None:
    sent = client.chat_postEphemeral(channel=CHANNEL, user=ASKER, text="only you", blocks=[_section("psst")])
    assert [e.text for e in ws.ephemerals(user=ASKER)] == ["only you"]
    assert ws.ephemerals(user=ASKER)[0].ts == sent["message_ts"]
    outsider = ws.add_user("olga", "Olga Outsider")
    assert (
        _error(client.chat_postEphemeral, channel=CHANNEL, user=outsider.id, text="x")
        == "user_not_in_channel"
    )


def test_channel_membership_rules(client: WebClient, ws: Workspace) -> None:
    assert _error(client.chat_postMessage, channel="C0RANDOM", text="hi") == "not_in_channel"
    assert _error(client.chat_postMessage, channel="C0NOPE", text="hi") == "channel_not_found"
    assert client.conversations_info(channel="C0RANDOM")["channel"]["is_member"] is False
    client.conversations_join(channel="C0RANDOM")
    assert client.chat_postMessage(channel="#random", text="hi")["channel"] == "C0RANDOM"
    assert "U0LANEBOT" in client.conversations_members(channel="C0RANDOM")["members"]
    assert (
        _error(client.chat_postMessage, channel=CHANNEL, text="x", thread_ts="1.000001") == "thread_not_found"
    )


@pytest.mark.parametrize(
    ("blocks", "text"),
    [
        ([{"type": "no_such_block"}], "x"),
        ([_section("x" * 3001)], "x"),
        ([_section(f"{i}") for i in range(51)], "x"),
        ([_section("a", "same"), _section("b", "same")], "x"),
        (
            [
                {
                    "type": "actions",
                    "elements": [{"type": "button", "text": {"type": "plain_text", "text": "B" * 76}}],
                }
            ],
            "x",
        ),
    ],
    ids=["unknown-type", "section-3001", "51-blocks", "duplicate-block-id", "button-label-76"],
)
def test_invalid_blocks_are_rejected(client: WebClient, ws: Workspace, blocks: list[Any], text: str) -> None:
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=CHANNEL, text=text, blocks=blocks)
    assert info.value.response["error"] == "invalid_blocks"
    assert info.value.response["errors"]
    assert ws.messages(CHANNEL) == []


def test_limits_that_pass_and_text_limits(client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="x", blocks=[_section("x" * 3000)] + [_section("y")] * 49)
    assert _error(client.chat_postMessage, channel=CHANNEL, text="x" * 40_001) == "msg_too_long"
    assert _error(client.api_call, "chat.postMessage", json={"channel": CHANNEL}) == "no_text"


def test_form_encoded_blocks_are_parsed_too(client: WebClient, ws: Workspace) -> None:
    client.api_call(
        "chat.postMessage", params={"channel": CHANNEL, "text": "t", "blocks": '[{"type":"divider"}]'}
    )
    assert ws.messages(CHANNEL)[0].blocks[0]["type"] == "divider"
    bad = {"channel": CHANNEL, "text": "t", "blocks": "[not json"}
    assert _error(client.api_call, "chat.postMessage", params=bad) == "invalid_blocks_format"


def test_bad_token_is_invalid_auth(server: SlackStubServer) -> None:
    assert _error(WebClient(token="xoxb-wrong", base_url=server.api_url).auth_test) == "invalid_auth"
    assert _error(WebClient(base_url=server.api_url).auth_test) == "not_authed"


def test_ratelimit_retry_after_is_honoured_by_slack_sdk(
    server: SlackStubServer, client: WebClient, ws: Workspace
) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    server.fail_next("chat.postMessage", status=429, retry_after=1)

    assert client.chat_postMessage(channel=CHANNEL, text="eventually")["ok"]
    calls = ws.calls("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]
    assert [m.text for m in ws.messages(CHANNEL)] == ["eventually"]


def test_ratelimit_without_retry_handler_surfaces_retry_after(
    server: SlackStubServer, client: WebClient
) -> None:
    server.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=CHANNEL, text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"


def test_injected_error_then_outage_then_recovery(server: SlackStubServer, client: WebClient) -> None:
    server.fail_next("chat.postMessage", error="not_in_channel")
    assert _error(client.chat_postMessage, channel=CHANNEL, text="x") == "not_in_channel"
    server.set_down(True)
    with pytest.raises(SlackApiError) as info:
        client.auth_test()
    assert info.value.response.status_code == 503
    server.set_down(False)
    assert client.chat_postMessage(channel=CHANNEL, text="back")["ok"]


def test_files_upload_v2_png_into_thread(client: WebClient, ws: Workspace) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="weekly digest")
    png = _png()
    done = client.files_upload_v2(
        content=png, filename="spend.png", title="Spend", channel=CHANNEL, thread_ts=parent["ts"]
    )

    stored = ws.files.get(done["file"]["id"])
    assert stored.content == png and stored.mimetype == "image/png" and stored.title == "Spend"
    shared = ws.replies(CHANNEL, parent["ts"])[-1]
    assert shared.files == (stored.id,) and shared.thread_ts == parent["ts"]
    assert [c.method for c in ws.calls()][-3:] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_upload_into_channel_without_bot_fails(client: WebClient) -> None:
    assert (
        _error(client.files_upload_v2, content=b"x", filename="a.txt", channel="C0RANDOM") == "not_in_channel"
    )


def test_views_open_trigger_rules(client: WebClient, payloads: PayloadFactory, clock: ManualClock) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": [_section("x")]}
    trigger = payloads.slash_command(user=ASKER, channel=CHANNEL, command="/support").trigger_id

    opened = client.views_open(trigger_id=trigger, view=view)["view"]
    assert opened["id"].startswith("V") and opened["root_view_id"] == opened["id"]
    assert _error(client.views_open, trigger_id=trigger, view=view) == "exchanged_trigger_id"
    late = payloads.slash_command(user=ASKER, channel=CHANNEL, command="/support").trigger_id
    clock.advance(3.5)
    assert _error(client.views_open, trigger_id=late, view=view) == "expired_trigger_id"
    assert _error(client.views_open, trigger_id="123.456.made-up", view=view) == "invalid_trigger_id"


def test_views_update_push_and_validation(client: WebClient, payloads: PayloadFactory, ws: Workspace) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": [_section("x")]}
    opened = client.views_open(
        trigger_id=payloads.slash_command(user=ASKER, channel=CHANNEL, command="/a").trigger_id, view=view
    )
    first = opened["view"]
    client.views_update(view_id=first["id"], hash=first["hash"], view={**view, "private_metadata": "run-1"})
    assert ws.views.get(first["id"]).private_metadata == "run-1"
    assert _error(client.views_update, view_id=first["id"], hash=first["hash"], view=view) == "hash_conflict"
    pushed = client.views_push(trigger_id=ws.views.issue_trigger_id(ASKER), view=view)["view"]
    assert pushed["previous_view_id"] == first["id"] and [v.id for v in ws.views.stack(ASKER)] == [
        first["id"],
        pushed["id"],
    ]
    too_big = {**view, "blocks": [_section(str(i)) for i in range(101)]}
    assert (
        _error(client.views_open, trigger_id=ws.views.issue_trigger_id(ASKER), view=too_big)
        == "invalid_arguments"
    )


def test_users_and_usergroups(client: WebClient) -> None:
    assert client.users_info(user="U0OWNER")["user"]["real_name"] == "Olivia Owner"
    assert _error(client.users_info, user="U0NOBODY") == "user_not_found"
    pages = [page["members"] for page in client.users_list(limit=4)]  # slack_sdk follows next_cursor
    assert len(pages) == 3 and len({m["id"] for page in pages for m in page}) == 10
    assert client.usergroups_users_list(usergroup="S0LEGAL")["users"] == ["U0LEGAL", "U0COUNSEL"]
    assert _error(client.usergroups_users_list, usergroup="S0NONE") == "no_such_subteam"


def test_change_feed_for_a_ui(client: WebClient, ws: Workspace) -> None:
    seen: list[Change] = []
    unsubscribe = ws.subscribe(seen.append)
    before = ws.version
    client.chat_postMessage(channel=CHANNEL, text="hello")
    unsubscribe()
    assert ws.wait_for_change(before, timeout=0) > before
    assert "message_posted" in [c.kind for c in seen]
    assert [c.kind for c in ws.changes_since(before)] == [c.kind for c in seen]
    assert "hello" in json.dumps(ws.snapshot())


def test_concurrent_posts_get_unique_increasing_ts(client: WebClient, ws: Workspace) -> None:
    def post(i: int) -> None:
        client.chat_postMessage(channel=CHANNEL, text=f"m{i}")

    threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [m.ts for m in ws.messages(CHANNEL)]
    assert len(set(stamps)) == 20 and stamps == sorted(stamps)


# ---- Signing: a real Bolt app -------------------------------------------------------------------------

MODAL = {
    "type": "modal",
    "callback_id": "edit_draft",
    "title": {"type": "plain_text", "text": "Edit draft"},
    "submit": {"type": "plain_text", "text": "Save"},
    "private_metadata": "run-42",
    "blocks": [
        {
            "type": "input",
            "block_id": "draft",
            "label": {"type": "plain_text", "text": "Draft"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
        }
    ],
}
DRAFT_BLOCKS = [
    _section("A draft"),
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "run-42",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "edit",
                "value": "run-42",
                "text": {"type": "plain_text", "text": "Edit"},
            },
        ],
    },
]


def _bolt_app(server: SlackStubServer, ws: Workspace, seen: list[dict[str, Any]], **options: Any) -> App:
    app = App(signing_secret=SECRET, client=WebClient(token=ws.bot_token, base_url=server.api_url), **options)

    @app.command("/support")
    def command(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack("On it")
        client.chat_postMessage(channel=body["channel_id"], text="Draft ready", blocks=DRAFT_BLOCKS)
        respond("Your draft is in the channel")

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        seen.append(body)
        respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    @app.action("edit")
    def edit(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @app.view("edit_draft")
    def save(ack: Any, view: dict[str, Any]) -> None:
        seen.append(view)
        ack()

    return app


def test_dispatch_signed_slash_command_and_block_action(server: SlackStubServer, ws: Workspace) -> None:
    seen: list[dict[str, Any]] = []
    app = _bolt_app(server, ws, seen, process_before_response=True)
    sender = SlackSender(SECRET)
    payloads = PayloadFactory(ws, response_url_base=server.base_url)

    signed = sender.sign(
        payloads.slash_command(user=ASKER, channel=CHANNEL, command="/support", text="refund?")
    )
    response = app.dispatch(BoltRequest(body=signed.body, headers=dict(signed.headers)))
    assert response.status == 200 and "On it" in response.body
    draft = ws.history(CHANNEL)[-1]
    assert [e.text for e in ws.ephemerals(user=ASKER)] == ["Your draft is in the channel"]

    click = payloads.block_action(user="U0OWNER", channel=CHANNEL, message_ts=draft.ts, action_id="approve")
    signed = sender.sign(click)
    assert app.dispatch(BoltRequest(body=signed.body, headers=dict(signed.headers))).status == 200
    assert seen[0]["actions"][0]["value"] == "run-42" and seen[0]["message"]["ts"] == draft.ts
    replaced = ws.message(CHANNEL, draft.ts)
    assert replaced is not None and replaced.text == "Approved by <@U0OWNER>" and replaced.blocks == ()


def test_dispatch_rejects_forged_and_stale_signatures(server: SlackStubServer, ws: Workspace) -> None:
    app = _bolt_app(server, ws, [], process_before_response=True)
    sender = SlackSender(SECRET)
    payload = PayloadFactory(ws, response_url_base=server.base_url).slash_command(
        user=ASKER, channel=CHANNEL, command="/support"
    )
    for signed in (sender.sign(payload, forge=True), sender.sign(payload, stale=True)):
        assert app.dispatch(BoltRequest(body=signed.body, headers=dict(signed.headers))).status == 401
    assert ws.history(CHANNEL) == []


def test_over_http_through_bolts_wsgi_adapter(server: SlackStubServer, ws: Workspace) -> None:
    seen: list[dict[str, Any]] = []
    with BoltHttpServer(_bolt_app(server, ws, seen)) as bolt:
        slack = SlackSimulator(server, app_url=bolt.url, signing_secret=SECRET)

        delivery = slack.slash_command(ASKER, CHANNEL, "/support", "customer wants a refund")
        assert delivery.response.status == 200
        assert ws.wait_until(lambda w: len(w.ephemerals(user=ASKER)) == 2)  # the ack text and respond()
        assert {e.text for e in ws.ephemerals(user=ASKER)} == {"On it", "Your draft is in the channel"}
        draft = ws.history(CHANNEL)[-1]

        assert slack.click("U0OWNER", CHANNEL, draft.ts, "edit").response.status == 200
        assert ws.wait_until(lambda w: bool(w.views.open_views("U0OWNER")))
        modal = ws.views.open_views("U0OWNER")[0]
        submitted = slack.submit_view("U0OWNER", modal.id, {"draft": {"text": "Better draft"}})
        assert submitted.response.status == 200 and submitted.view_errors == {}
        assert seen[0]["private_metadata"] == "run-42"
        assert seen[0]["state"]["values"]["draft"]["text"] == {
            "type": "plain_text_input",
            "value": "Better draft",
        }
        assert ws.views.open_views("U0OWNER") == []  # an empty ack closes the modal

        command = slack.payloads.slash_command(user=ASKER, channel=CHANNEL, command="/support")
        assert slack.sender.deliver(command, forge=True).status == 401
        assert slack.sender.deliver(command, stale=True).status == 401
        retry = slack.click("U0OWNER", CHANNEL, draft.ts, "approve", retry_num=1)
        assert retry.response.status == 200
        assert ws.wait_until(lambda w: w.message(CHANNEL, draft.ts).text.startswith("Approved"))  # type: ignore[union-attr]


def test_clicks_must_hit_rendered_elements(
    client: WebClient, payloads: PayloadFactory, ws: Workspace
) -> None:
    draft = client.chat_postMessage(channel=CHANNEL, text="Draft", blocks=DRAFT_BLOCKS)
    with pytest.raises(LookupError, match="clickable"):
        payloads.block_action(user=ASKER, channel=CHANNEL, message_ts=draft["ts"], action_id="reject")
    with pytest.raises(LookupError):
        payloads.block_action(user=ASKER, channel=CHANNEL, message_ts="1.000001", action_id="approve")


def test_response_url_rules(
    server: SlackStubServer, ws: Workspace, payloads: PayloadFactory, clock: ManualClock
) -> None:
    url = payloads.slash_command(user=ASKER, channel=CHANNEL, command="/support").response_url
    assert url is not None
    hook = WebhookClient(url)
    assert hook.send(text="public", response_type="in_channel").status_code == 200
    assert hook.send(text="x", blocks=[{"type": "nope"}]).body == "invalid_blocks"
    for _ in range(4):
        assert hook.send(text="private").body == "ok"
    assert hook.send(text="sixth").body == "used_url"
    assert [m.text for m in ws.history(CHANNEL)] == ["public"]
    fresh = WebhookClient(str(payloads.slash_command(user=ASKER, channel=CHANNEL, command="/s").response_url))
    clock.advance(31 * 60)
    assert fresh.send(text="late").body == "expired_url"


def test_event_and_url_verification_payloads(payloads: PayloadFactory, ws: Workspace) -> None:
    message = ws.post_message(CHANNEL, text="<@U0LANEBOT> help", user=ASKER)
    mention = payloads.message_event(message, mention=True).data
    assert mention["type"] == "event_callback" and mention["event_id"].startswith("Ev")
    assert (
        mention["event"]["type"] == "app_mention" and mention["authorizations"][0]["user_id"] == "U0LANEBOT"
    )
    assert payloads.url_verification("abc").data["challenge"] == "abc"


def test_response_url_replaces_and_deletes_ephemerals(
    client: WebClient, payloads: PayloadFactory, ws: Workspace
) -> None:
    sent = client.chat_postEphemeral(channel=CHANNEL, user=ASKER, text="Draft", blocks=DRAFT_BLOCKS)
    click = payloads.block_action(
        user=ASKER, channel=CHANNEL, message_ts=sent["message_ts"], action_id="approve"
    )
    assert click.data["container"]["is_ephemeral"] is True and "message" not in click.data
    hook = WebhookClient(str(click.response_url))
    assert hook.send(text="Approved", replace_original=True).body == "ok"
    assert [(e.ts, e.text) for e in ws.ephemerals(user=ASKER)] == [(sent["message_ts"], "Approved")]
    assert hook.send(text="", delete_original=True).body == "ok"
    assert ws.ephemerals(user=ASKER) == []
    assert [p.outcome for p in ws.responses.posts()] == ["replaced", "deleted"]


def test_events_url_verification_retries_and_replays(server: SlackStubServer, ws: Workspace) -> None:
    mentions: list[str] = []
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=ws.bot_token, base_url=server.api_url),
        process_before_response=True,
    )

    @app.event("app_mention")
    def on_mention(event: dict[str, Any]) -> None:
        mentions.append(event["text"])

    payloads = PayloadFactory(ws, response_url_base=server.base_url)
    with BoltHttpServer(app) as bolt:
        sender = SlackSender(SECRET, bolt.url)
        assert sender.deliver(payloads.url_verification("c-1")).json() == {"challenge": "c-1"}
        message = ws.post_message(CHANNEL, text="<@U0LANEBOT> help", user=ASKER)
        first = sender.sign(payloads.message_event(message, mention=True))
        retry = sender.sign(first.payload, retry_num=1, retry_reason="http_timeout")  # type: ignore[arg-type]
        statuses = [sender.send(first).status, sender.send(retry).status, sender.send(first).status]

    assert statuses == [200, 200, 200]
    assert mentions == ["<@U0LANEBOT> help"] * 3  # deduplicating retries is the bot's job, not Bolt's
    assert json.loads(retry.body)["event_id"] == json.loads(first.body)["event_id"]
    assert retry.headers["X-Slack-Retry-Num"] == "1" and "X-Slack-Retry-Num" not in first.headers


def test_simulator_applies_view_submission_acks(server: SlackStubServer, ws: Workspace) -> None:
    app = App(signing_secret=SECRET, client=WebClient(token=ws.bot_token, base_url=server.api_url))

    @app.view("edit_draft")
    def save(ack: Any, view: dict[str, Any]) -> None:
        text = view["state"]["values"]["draft"]["text"]["value"]
        if text == "bad":
            ack(response_action="errors", errors={"draft": "Say more"})
        else:
            ack(response_action="update", view={**MODAL, "private_metadata": "saved"})

    with BoltHttpServer(app) as bolt:
        slack = SlackSimulator(server, app_url=bolt.url, signing_secret=SECRET)
        modal = ws.views.open(ws.views.issue_trigger_id(ASKER), MODAL)
        with pytest.raises(ValueError, match="required"):
            slack.submit_view(ASKER, modal.id, {})
        assert slack.submit_view(ASKER, modal.id, {"draft": {"text": "bad"}}).view_errors == {
            "draft": "Say more"
        }
        assert slack.submit_view(ASKER, modal.id, {"draft": {"text": "good"}}).view_errors == {}
    assert ws.views.get(modal.id).private_metadata == "saved"


def test_a_commands_response_url_replaces_its_ack_even_before_the_ack_is_shown(
    client: WebClient, payloads: PayloadFactory, ws: Workspace
) -> None:
    """The ack's place is taken when the command is sent: a root message the app posts while the
    ack travels sorts below it, and ``replace_original`` replaces the ack rather than adding to it."""
    first = payloads.slash_command(user=ASKER, channel=CHANNEL, command="/lanebot", text="audit")
    ack_ts = ws.responses.get(str(first.response_url).rpartition("/")[2]).origin_ts  # type: ignore[union-attr]
    root = client.chat_postMessage(channel=CHANNEL, text="root posted while the ack travels")
    assert ack_ts is not None and float(ack_ts) < float(root["ts"])
    ws.post_ephemeral(CHANNEL, ASKER, text="Searching…", source="ack", ts=ack_ts)
    assert WebhookClient(str(first.response_url)).send(text="3 runs", replace_original=True).body == "ok"
    assert [(e.ts, e.text) for e in ws.ephemerals(user=ASKER)] == [(ack_ts, "3 runs")]

    early = payloads.slash_command(user=ASKER, channel=CHANNEL, command="/lanebot", text="audit")
    early_ts = ws.responses.get(str(early.response_url).rpartition("/")[2]).origin_ts  # type: ignore[union-attr]
    assert early_ts is not None and not ws.responses.ack_answered(early_ts)
    assert WebhookClient(str(early.response_url)).send(text="0 runs", replace_original=True).body == "ok"
    assert ws.responses.ack_answered(early_ts)  # the simulator then shows no "Searching…" on top
    assert ws.ephemeral(early_ts) is not None and ws.ephemeral(early_ts).text == "0 runs"  # type: ignore[union-attr]
