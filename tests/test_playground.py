"""The playground over HTTP, as its page uses it: the real bot, the Slack stand-in, no browser.

Every test talks to the page's JSON endpoints with real HTTP requests; the playground turns them
into signed Slack requests to the real bot (built by ``bot.runtime.wiring`` and served by waitress), which
answers through the stand-in's Web API and records everything in a SQLite audit store. Waiting
is on the workspace's change feed (what the page long-polls), never on the clock.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground import Playground, run_playground
from bot.playground.install import fit_workspace, personas
from bot.playground.mode import choose_mode
from bot.playground.slackbot import as_sent
from bot.playground.slackstub import Message, Workspace, demo_workspace
from bot.slack import ids
from lanes.audit.records import RunRecord
from lanes.config import load_config, parse_config
from lanes.errors import ConfigError
from tests.fakes import ModelServer, Ok

REPO = Path(__file__).resolve().parent.parent
LANES = "C0LANES"
ASKER, OWNER, REVIEWER, OUTSIDER = "U0ASKER", "U0OWNER", "U0REVIEW", "U0MANAGER"
WAIT_S = 30.0


class PageClient:
    """What the page's JavaScript does, in Python: JSON over HTTP to the playground's ``/ui/``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, headers=headers or {}, method=method)
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, dict(err.headers), err.read()

    def get(self, path: str) -> tuple[int, Any]:
        status, _, data = self.request("GET", path)
        return status, json.loads(data)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, _, data = self.request(
            "POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        return status, json.loads(data)

    def say(self, user: str, text: str, channel: str = LANES, thread_ts: str | None = None) -> dict[str, Any]:
        status, body = self.post(
            "/ui/command", {"user": user, "channel": channel, "text": text, "thread_ts": thread_ts}
        )
        assert status == 200, body
        return dict(body)

    def click(self, user: str, message: Message, action_id: str) -> tuple[int, Any]:
        return self.post(
            "/ui/click", {"user": user, "channel": message.channel, "ts": message.ts, "action_id": action_id}
        )


class Rig:
    """A running playground, the page's client, and ways to find what the bot posted."""

    def __init__(self, playground: Playground) -> None:
        self.pg = playground
        self.page = PageClient(playground.url)
        self.ws: Workspace = playground.workspace

    def ask(self, user: str, text: str, command: str = "/support") -> Message:
        """Run a lane from the composer and return the draft message the bot posts in the thread."""
        before = {m.ts for m in self.ws.messages(LANES)}
        self.page.say(user, f"{command} {text}")
        assert self.ws.wait_until(lambda ws: new_draft(ws, before) is not None, WAIT_S), "no draft was posted"
        draft = new_draft(self.ws, before)
        assert draft is not None
        return draft

    def run_of(self, draft: Message) -> RunRecord:
        store = self.pg.runtime.core.store  # type: ignore[union-attr]
        return store.get_run(run_id_of(draft))

    def message(self, draft: Message) -> Message:
        found = self.ws.message(draft.channel, draft.ts)
        assert found is not None
        return found

    def wait_status(self, draft: Message, prefix: str) -> Message:
        """Wait until the bot rewrote the draft message with a status line starting with ``prefix``."""

        def rewritten(ws: Workspace) -> bool:
            blocks = self.message(draft).blocks
            return bool(blocks) and str(blocks[0].get("text", {}).get("text", "")).startswith(prefix)

        assert self.ws.wait_until(rewritten, WAIT_S), self.message(draft).blocks[:1]
        return self.message(draft)

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e.text for e in self.ws.ephemerals(user=user)]

    def wait_ephemeral(self, user: str, needle: str) -> None:
        seen = self.ws.wait_until(lambda ws: any(needle in e.text for e in ws.ephemerals(user=user)), WAIT_S)
        assert seen, self.ephemeral_texts(user)

    def open_view(self, user: str) -> Any:
        assert self.ws.wait_until(lambda ws: bool(ws.views.open_views(user)), WAIT_S), "no modal opened"
        return self.ws.views.open_views(user)[-1]


def new_draft(ws: Workspace, before: set[str]) -> Message | None:
    for message in ws.messages(LANES):
        if message.ts not in before and message.is_reply and _actions(message):
            return message
    return None


def _actions(message: Message) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b.get("block_id") == ids.DRAFT_ACTIONS_BLOCK]


def run_id_of(draft: Message) -> str:
    """From the context line (``run `<id>```), which stays when a decision removes the buttons."""
    context = next(b for b in draft.blocks if b.get("block_id") == ids.DRAFT_CONTEXT_BLOCK)
    found = re.search(r"run `([^`]+)`", json.dumps(context))
    assert found, context
    return found.group(1)


def block_texts(message: Message) -> str:
    return json.dumps(list(message.blocks))


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    database = f"sqlite:///{tmp_path_factory.mktemp('playground')}/audit.db"
    with Playground(database=database, config_file=str(REPO / "lanes.toml"), env={}) as playground:
        yield Rig(playground)


# ---- what the page loads ---------------------------------------------------------------------------


def test_bootstrap_names_the_people_their_roles_the_commands_and_the_offline_mode(rig: Rig) -> None:
    status, boot = rig.page.get("/ui/bootstrap")

    assert status == 200
    assert {p["key"]: p["user"] for p in boot["personas"]} == {
        "requester": ASKER,
        "owner": OWNER,
        "reviewer": REVIEWER,
        "outsider": OUTSIDER,
    }
    users = {u["id"]: u for u in boot["users"]}
    assert users[OWNER]["roles"] == ["owner of /support"]
    assert "reviewer of /code" in users["U0DEV1"]["roles"]
    assert users[OUTSIDER]["roles"] == []
    commands = [c["command"] for c in boot["commands"]]
    assert commands[:5] == ["/support", "/contract", "/code", "/lanes", "/lanebot"]
    assert boot["mode"]["offline"] is True and "offline sample model" in boot["mode"]["summary"]
    assert boot["digest_channel"] == "C0DIGEST"


def test_the_page_and_its_assets_are_served_and_nothing_else(rig: Rig) -> None:
    status, headers, html = rig.page.request("GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="/static/app.js"' in html and b'href="/static/app.css"' in html
    for name, ctype in (("app.js", "text/javascript"), ("app.css", "text/css")):
        status, headers, _ = rig.page.request("GET", f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(ctype)
    assert rig.page.request("GET", "/static/../server.py")[0] == 404
    assert rig.page.request("GET", "/static/server.py")[0] == 404


# ---- a run, from slash command to decision ----------------------------------------------------------


def test_a_slash_command_is_acked_then_the_root_and_the_threaded_draft_appear(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Customer says they were charged twice")

    ack = [e for e in rig.ws.ephemerals(user=ASKER) if e.source == "ack"][-1]
    assert "`/support`" in ack.text and "*fast* (offline-sample)" in ack.text
    assert not [e for e in rig.ws.ephemerals() if e.source == "ack" and e.user != ASKER]
    root = rig.ws.message(LANES, str(draft.thread_ts))
    assert root is not None and "request from <@U0ASKER>" in block_texts(root)
    text = block_texts(draft)
    assert "offline sample model" in text and "route default: default for lane support" in text
    assert [e["action_id"] for e in _actions(draft)[0]["elements"]] == [ids.APPROVE, ids.EDIT, ids.REJECT]
    run = rig.run_of(draft)
    assert run.status == "drafted" and run.requester == ASKER and run.model == "offline-sample"

    status, state = rig.page.get("/ui/state?since=-1")
    assert status == 200
    lanes = next(c for c in state["channels"] if c["id"] == LANES)
    assert {draft.ts, root.ts} <= {m["ts"] for m in lanes["messages"]}
    assert any(c["method"] == "chat.postMessage" for c in state["calls"])
    assert "response_posts" not in state


def test_the_state_long_poll_answers_when_the_workspace_changes(rig: Rig) -> None:
    status, first = rig.page.get("/ui/state?since=-1")
    assert status == 200
    version = first["version"]
    assert rig.page.get(f"/ui/state?since={version}&timeout=0")[1]["version"] == version

    answers: list[Any] = []
    poll = threading.Thread(
        target=lambda: answers.append(rig.page.get(f"/ui/state?since={version}&timeout=25"))
    )
    poll.start()
    rig.page.say(ASKER, "anyone around?")
    poll.join(timeout=WAIT_S)

    assert answers and answers[0][0] == 200 and answers[0][1]["version"] > version


def test_an_outsiders_click_is_refused_in_the_thread_and_recorded(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Where is my parcel?")

    status, body = rig.page.click(OUTSIDER, draft, ids.APPROVE)

    assert status == 200 and body["ok"] is True
    rig.wait_ephemeral(OUTSIDER, "You can't approve this draft")
    refusal = next(e for e in rig.ws.ephemerals(user=OUTSIDER) if "can't approve" in e.text)
    assert refusal.thread_ts == draft.thread_ts
    run = rig.run_of(draft)
    assert run.status == "drafted"
    assert [(d.kind, d.actor) for d in run.decisions] == [("refused", OUTSIDER)]
    assert _actions(rig.message(draft)), "the buttons stay for the people who may decide"


def test_the_owner_approves_and_the_draft_message_is_rewritten_in_place(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Where is my parcel?")

    status, _ = rig.page.click(OWNER, draft, ids.APPROVE)

    assert status == 200
    message = rig.wait_status(draft, ":white_check_mark: *Approved* by <@U0OWNER>")
    assert not _actions(message)
    assert rig.run_of(draft).status == "approved"


def test_edit_opens_the_prefilled_modal_and_submitting_it_approves_the_edited_text(rig: Rig) -> None:
    draft = rig.ask(ASKER, "My invoice shows two charges")

    assert rig.page.click(REVIEWER, draft, ids.EDIT)[0] == 200
    view = rig.open_view(REVIEWER)
    assert view.callback_id == ids.EDIT_MODAL
    block = f"{ids.EDIT_PART_BLOCK}0"
    field = next(b for b in view.view["blocks"] if b.get("block_id") == block)
    assert "offline sample model" in field["element"]["initial_value"]

    status, body = rig.page.post(
        "/ui/submit", {"user": REVIEWER, "view_id": view.id, "values": {block: {ids.EDIT_PART_INPUT: ""}}}
    )
    assert status == 400 and "required" in body["error"]
    status, body = rig.page.post(
        "/ui/submit", {"user": REVIEWER, "view_id": view.id, "values": {block: {ids.EDIT_PART_INPUT: "   "}}}
    )
    assert status == 200 and body["errors"] == {
        block: "The edited draft is empty; write the text to approve, or use Reject."
    }
    assert rig.ws.views.open_views(REVIEWER), "a modal answered with errors stays open"

    edited = "Thanks for telling us. We are checking the two charges and will write back today."
    status, body = rig.page.post(
        "/ui/submit", {"user": REVIEWER, "view_id": view.id, "values": {block: {ids.EDIT_PART_INPUT: edited}}}
    )

    assert status == 200 and body["errors"] == {}
    assert not rig.ws.views.open_views(REVIEWER)
    message = rig.wait_status(draft, ":pencil2: *Approved with edits* by <@U0REVIEW>")
    assert edited in block_texts(message) and not _actions(message)
    run = rig.run_of(draft)
    assert run.status == "edited" and run.final_decision is not None and run.final_decision.actor == REVIEWER


def test_reject_records_the_reason_and_note_and_removes_the_draft_text(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Please cancel my subscription")

    assert rig.page.click(OWNER, draft, ids.REJECT)[0] == 200
    view = rig.open_view(OWNER)
    assert view.callback_id == ids.REJECT_MODAL
    select = next(b for b in view.view["blocks"] if b.get("block_id") == ids.REJECT_REASON_BLOCK)
    reason = select["element"]["options"][0]["value"]
    values = {
        ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: reason},
        ids.REJECT_NOTE_BLOCK: {ids.REJECT_NOTE_INPUT: "Too stiff for this customer."},
    }
    status, body = rig.page.post("/ui/submit", {"user": OWNER, "view_id": view.id, "values": values})

    assert status == 200 and body["errors"] == {}
    message = rig.wait_status(draft, ":no_entry: *Rejected* by <@U0OWNER>")
    assert not [b for b in message.blocks if str(b.get("block_id", "")).startswith(ids.DRAFT_TEXT_BLOCK)]
    assert "Too stiff for this customer." in block_texts(message)
    run = rig.run_of(draft)
    assert run.status == "rejected"
    assert run.final_decision is not None
    assert (run.final_decision.reason, run.final_decision.note) == (reason, "Too stiff for this customer.")
    status, body = rig.page.post(
        "/ui/submit",
        {
            "user": OWNER,
            "view_id": view.id,
            "values": {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: "nope"}},
        },
    )
    assert status == 404, "the modal is gone once submitted"


def test_closing_a_modal_closes_it_and_decides_nothing(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Do you ship to Norway?")
    rig.page.click(OWNER, draft, ids.REJECT)
    view = rig.open_view(OWNER)

    assert rig.page.post("/ui/close", {"user": REVIEWER, "view_id": view.id})[0] == 404
    status, _ = rig.page.post("/ui/close", {"user": OWNER, "view_id": view.id})

    assert status == 200 and not rig.ws.views.open_views(OWNER)
    assert rig.run_of(draft).status == "drafted"


def test_a_click_on_a_button_the_message_does_not_have_is_refused_by_the_stand_in(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Where is my parcel?")

    status, body = rig.page.click(OWNER, draft, "lanebot_delete_everything")

    assert status == 404 and "clickable" in body["error"]
    assert rig.run_of(draft).status == "drafted"


# ---- what Slack itself answers ----------------------------------------------------------------------


def test_an_unknown_command_gets_slackbots_answer_and_never_reaches_the_bot(rig: Rig) -> None:
    calls = len(rig.ws.calls())
    body = rig.page.say(ASKER, "/suport typo")

    assert body == {"ok": False, "error": "not_a_command"}
    texts = [e.text for e in rig.ws.ephemerals(user=ASKER) if e.source == "slackbot"]
    assert any("`/suport` is not a valid command" in t for t in texts)
    assert len(rig.ws.calls()) == calls


def test_a_command_where_the_bot_is_not_invited_says_how_to_invite_it_and_invite_works(rig: Rig) -> None:
    rig.page.say(ASKER, "/support Hello from random", channel="C0RANDOM")
    rig.wait_ephemeral(ASKER, "/invite")
    assert not rig.ws.bot_is_member("C0RANDOM")
    # The ack that promised a draft was replaced by the reason there is none (issue 12).
    [told] = [e.text for e in rig.ws.ephemerals(user=ASKER, channel="C0RANDOM")]
    assert "/invite @lanebot" in told and "draft will appear" not in told

    rig.page.say(ASKER, "/invite @lanebot", channel="C0RANDOM")

    assert rig.ws.bot_is_member("C0RANDOM")
    assert any("joined #random" in m.text for m in rig.ws.messages("C0RANDOM"))


def test_the_command_ack_sorts_above_the_root_message_it_announces(rig: Rig) -> None:
    """The ack arrives after the bot has posted the root; its place is where the command was typed."""
    draft = rig.ask(ASKER, "Where is my parcel? (ack order)")

    ack = [e for e in rig.ws.ephemerals(user=ASKER, channel=LANES) if e.source == "ack"][-1]
    assert draft.thread_ts is not None and float(ack.ts) < float(draft.thread_ts)
    assert "Working on your `/support` request" in ack.text


def test_lanebot_audit_replaces_its_searching_ack_with_the_results(rig: Rig) -> None:
    rig.page.say(OWNER, "/lanebot audit lane:support")

    answered = rig.ws.wait_until(
        lambda ws: any("run(s)" in json.dumps(e.blocks) for e in ws.ephemerals(user=OWNER)), WAIT_S
    )
    assert answered, rig.ephemeral_texts(OWNER)
    assert not any("Searching" in text for text in rig.ephemeral_texts(OWNER))


def test_an_owner_who_may_not_edit_their_own_request_gets_no_modal(rig: Rig) -> None:
    draft = rig.ask(OWNER, "My own customer question (self edit)")
    opened = len(rig.ws.calls("views.open"))

    status, _ = rig.page.click(OWNER, draft, ids.EDIT)

    assert status == 200
    rig.wait_ephemeral(OWNER, "You can't edit this draft")
    assert len(rig.ws.calls("views.open")) == opened and rig.ws.views.open_views(OWNER) == []


def test_a_page_load_closes_the_modals_the_last_page_left_open(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Leave the modal open (connect)")
    rig.page.click(REVIEWER, draft, ids.EDIT)
    rig.open_view(REVIEWER)

    status, body = rig.page.post("/ui/connect", {})

    assert status == 200 and body["closed"]
    assert rig.ws.views.open_views(REVIEWER) == []


def test_one_of_two_lists_only_who_may_still_approve(rig: Rig) -> None:
    draft = rig.ask(ASKER, "This Agreement renews on 1 March 2027 (one of two)", command="/contract")

    rig.page.click("U0LEGAL", draft, ids.APPROVE)

    pending = rig.wait_status(draft, ":ballot_box_with_check:")
    reviewers = next(b for b in pending.blocks if b.get("block_id") == ids.DRAFT_REVIEWERS_BLOCK)
    assert "<@U0COUNSEL>" in reviewers["text"]["text"] and "<@U0LEGAL>" not in reviewers["text"]["text"]


def test_code_raised_to_two_person_review_names_the_sensitive_pattern(rig: Rig) -> None:
    draft = rig.ask(ASKER, "Fix the password reset flow (sensitive)", command="/code")

    reviewers = next(b for b in draft.blocks if b.get("block_id") == ids.DRAFT_REVIEWERS_BLOCK)
    text = reviewers["text"]["text"]
    assert "two different approvers needed" in text and "sensitive pattern `(?i)\\bpassword`" in text


def test_mentioning_the_bot_delivers_app_mention_and_it_answers_in_the_thread(rig: Rig) -> None:
    rig.page.say(ASKER, "hey @lanebot how does this work?")
    asked = next(m for m in reversed(rig.ws.messages(LANES)) if m.user == ASKER)
    assert asked.text == "hey <@U0LANEBOT> how does this work?"

    answered = rig.ws.wait_until(lambda ws: len(ws.replies(LANES, asked.ts)) > 1, WAIT_S)

    assert answered
    reply = rig.ws.replies(LANES, asked.ts)[-1]
    assert reply.user == rig.ws.bot_user_id and "/lanes" in reply.text


def test_the_digest_is_posted_with_its_chart_in_the_thread_and_the_chart_is_served(rig: Rig) -> None:
    rig.ask(ASKER, "Digest fodder: where is my parcel?")

    status, body = rig.page.post("/ui/digest", {})

    assert status == 200 and body["channel"] == "C0DIGEST"
    digest = rig.ws.message("C0DIGEST", body["ts"])
    assert digest is not None and digest.blocks[0]["type"] == "header"
    assert "Weekly AI lanes digest" in digest.blocks[0]["text"]["text"]
    chart = next(m for m in rig.ws.replies("C0DIGEST", body["ts"]) if m.files)
    status, headers, png = rig.page.request("GET", f"/ui/files/{chart.files[0]}")
    assert status == 200 and headers["Content-Type"] == "image/png" and png.startswith(b"\x89PNG")
    assert rig.page.request("GET", "/ui/files/F404")[0] == 404


# ---- the page refuses what a web page elsewhere could try ---------------------------------------------


def test_requests_with_a_foreign_host_or_not_json_are_refused(rig: Rig) -> None:
    body = json.dumps({"user": ASKER, "channel": LANES, "text": "/support hi"}).encode()
    foreign = {"Content-Type": "application/json", "Host": "evil.example:80"}
    assert rig.page.request("POST", "/ui/command", body, foreign)[0] == 403
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert rig.page.request("POST", "/ui/command", b"user=U0ASKER", form)[0] == 415
    assert rig.page.request("POST", "/ui/command", b"{nope", {"Content-Type": "application/json"})[0] == 400
    status, answer = rig.page.post("/ui/command", {"user": ASKER, "channel": LANES, "text": "x", "extra": 1})
    assert status == 400 and "extra" in answer["error"]
    assert rig.page.post("/ui/command", {"user": "U0NOBODY", "channel": LANES, "text": "x"})[0] == 404
    assert rig.page.post("/ui/nothing", {})[0] == 404


# ---- real models, mode choice, the CLI -----------------------------------------------------------------


def test_with_keys_the_lanes_run_on_the_models_lanes_toml_names(tmp_path: Path) -> None:
    reply = "Sorry about the double charge. We are looking into it and will reply today."
    with ModelServer() as models:
        models.always("gpt-5-mini", Ok(reply, model_answered="gpt-5-mini-2025-08-07"))
        playground = Playground(
            database=f"sqlite:///{tmp_path}/audit.db", config_file=str(REPO / "lanes.toml"), env=models.env()
        )
        with playground:
            rig = Rig(playground)
            status, boot = rig.page.get("/ui/bootstrap")
            assert status == 200 and boot["mode"]["offline"] is False
            draft = rig.ask(ASKER, "I was charged twice")

            assert reply in block_texts(draft) and "gpt-5-mini-2025-08-07" in block_texts(draft)
            assert models.requests_for("gpt-5-mini")[0].api_key == models.env()["OPENAI_API_KEY"]
            assert rig.run_of(draft).model == "gpt-5-mini-2025-08-07"


def test_the_mode_is_offline_without_keys_and_real_with_them() -> None:
    config = load_config(REPO / "lanes.toml")

    offline = choose_mode(config, {})
    assert offline.offline and "none of OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL" in offline.summary

    real = choose_mode(config, {"OPENAI_API_KEY": "sk-test"})
    assert not real.offline and "OPENAI_API_KEY set" in real.summary
    assert "fast: openai gpt-5-mini (OPENAI_API_KEY set)" in real.tiers
    assert any(t.startswith("strong: anthropic") and "ANTHROPIC_API_KEY not set" in t for t in real.tiers)
    assert "local: openai_compatible llama3.1:8b at http://localhost:11434/v1" in real.tiers

    assert choose_mode(config, {"OPENAI_API_KEY": "sk-test", "LANEBOT_OFFLINE": "1"}).offline


def test_typed_text_is_escaped_and_mentions_linked_as_slack_does() -> None:
    people = {"ada": "U0ASKER", "lanebot": "U0LANEBOT"}

    assert as_sent("a <b> & c", people, mentions=False) == "a &lt;b&gt; &amp; c"
    assert as_sent("hi @lanebot, and @ada.", people, mentions=True) == "hi <@U0LANEBOT>, and <@U0ASKER>."
    assert (
        as_sent("@ada @nobody @here", people, mentions=True, with_names=True)
        == "<@U0ASKER|ada> @nobody <!here>"
    )
    assert as_sent("mail ada@example.com", people, mentions=True) == "mail ada@example.com"


def test_people_the_lanes_file_names_are_added_and_personas_follow_the_first_lane() -> None:
    raw = {
        "models": {
            "m": {"provider": "offline", "model": "offline-sample"},
            "n": {"provider": "offline", "model": "offline-other"},
        },
        "lanes": {
            "triage": {
                "command": "/triage",
                "owners": ["U0NEWOWNER"],
                "reviewers": ["S0SUPPORT"],
                "default": "m",
                "fallback": "n",
                "escalate_to": "m",
                "prompts": {"m": {"template": "{input}"}},
            }
        },
        "digest": {"channel": "C0ELSEWHERE"},
    }
    config = parse_config(raw)
    ws = demo_workspace()

    fit_workspace(ws, config)

    assert ws.user("U0NEWOWNER").real_name == "U0NEWOWNER" and ws.is_member(LANES, "U0NEWOWNER")
    assert ws.bot_is_member("C0ELSEWHERE")
    found = {p.key: p.user for p in personas(ws, config)}
    assert (found["requester"], found["owner"], found["reviewer"]) == (ASKER, "U0NEWOWNER", REVIEWER)
    assert found["outsider"] not in {ASKER, "U0NEWOWNER", REVIEWER, OWNER}, "the group S0SUPPORT holds both"


def test_a_busy_port_is_an_error_that_names_the_fix(rig: Rig, tmp_path: Path) -> None:
    busy = rig.pg.ui.port  # type: ignore[union-attr]

    with pytest.raises(ConfigError, match=rf"port {busy} .* already in use.*--port {busy + 1}"):
        run_playground(config_file=str(REPO / "lanes.toml"), database=f"sqlite:///{tmp_path}/a.db", port=busy)


def test_the_playground_restarts_at_once_on_the_port_it_just_left(tmp_path: Path) -> None:
    config = str(REPO / "lanes.toml")
    first = Playground(database=f"sqlite:///{tmp_path}/a.db", config_file=config, env={})
    with first:
        port = first.ui.port  # type: ignore[union-attr]
        for _ in range(3):  # served and closed by the page's server: its side of each is in TIME-WAIT
            assert PageClient(first.url).get("/ui/bootstrap")[0] == 200
    if Path("/proc/net/tcp").exists():  # Linux: make sure the port really is held, or this proves nothing
        assert time_wait_on(port), f"no TIME-WAIT connection on port {port}"
    again = Playground(database=f"sqlite:///{tmp_path}/a.db", config_file=config, env={}, port=port)
    with again:
        assert again.ui is not None and again.ui.port == port
        assert PageClient(again.url).get("/ui/bootstrap")[0] == 200


def time_wait_on(port: int) -> bool:
    """Whether a TCP connection with local ``port`` is in TIME-WAIT (state 06 in /proc/net/tcp)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(
        int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "06"
        for fields in (r.split() for r in rows)
    )


def test_lanebot_playground_prints_the_url_and_mode_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")
    }
    code = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["--config", str(REPO / "lanes.toml"), "--database-url", f"sqlite:///{tmp_path}/a.db"]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args, "playground", "--port", "0", "--no-browser"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Starting the lanebot playground")
        first = process.stdout.readline()
        assert first.startswith("lanebot playground: http://127.0.0.1:"), first
        url = first.split(": ", 1)[1].strip()
        models = process.stdout.readline()
        assert "offline sample model" in models and "OPENAI_API_KEY" in models
        assert PageClient(url).get("/ui/bootstrap")[0] == 200

        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out
    assert "Playground stopped." in out and "Traceback" not in out
