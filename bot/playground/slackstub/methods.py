"""The Slack Web API methods the bot uses, as plain functions of (workspace, arguments).

Each method reads its arguments the way Slack does (JSON objects or form strings: ``blocks`` may be
either, booleans may be ``true`` or ``1``), applies the rules that depend on the caller being the bot
(it must be in a channel to post there), and answers with the same fields the real method returns.
Errors are raised as ``StubError`` with Slack's error code; the HTTP layer renders them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.playground.slackstub.models import Channel, JsonDict, StubError
from bot.playground.slackstub.validation import check_message, check_view, decode_json_param
from bot.playground.slackstub.workspace import Workspace


@dataclass(frozen=True)
class Call:
    """One authenticated API call: the workspace, the decoded arguments, and this server's URL."""

    workspace: Workspace
    args: Mapping[str, Any]
    base_url: str

    def get(self, name: str, default: Any = None) -> Any:
        value = self.args.get(name)
        return default if value is None or value == "" else value

    def require(self, name: str, error: str = "invalid_arguments") -> Any:
        value = self.get(name)
        if value is None:
            raise StubError(error, f"[ERROR] missing required field: {name}")
        return value

    def flag(self, name: str) -> bool:
        return str(self.args.get(name, "")).lower() in ("1", "true")


Handler = Callable[[Call], JsonDict]


# ---- helpers -----------------------------------------------------------------------------------------


def _visible_channel(call: Call, ref: str) -> Channel:
    """Private channels the bot is not in do not exist for it, exactly as in Slack."""
    ws = call.workspace
    if ref.startswith("U") and ref not in {c.id for c in ws.channels()}:
        return ws.open_im(ref)
    channel = ws.channel(ref)
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise StubError("channel_not_found")
    return channel


def _postable_channel(call: Call, ref: str) -> Channel:
    channel = _visible_channel(call, ref)
    if call.workspace.bot_user_id not in channel.members:
        bot_name = call.workspace.user(call.workspace.bot_user_id).name
        raise StubError("not_in_channel", f"invite the bot first: /invite @{bot_name} in #{channel.name}")
    return channel


def _content(call: Call) -> tuple[str | None, list[JsonDict] | None, list[JsonDict] | None]:
    blocks = decode_json_param(call.get("blocks"), error="invalid_blocks_format")
    attachments = decode_json_param(call.get("attachments"), error="invalid_attachments")
    text = call.get("text")
    if text is None and blocks is None and attachments is None:
        raise StubError("no_text", "[ERROR] pass text, blocks or attachments")
    check_message(text, blocks)
    return (None if text is None else str(text)), blocks, attachments


def _page(call: Call, items: Sequence[Any], key: str) -> JsonDict:
    """Cursor pagination as Slack does it: opaque ``next_cursor``, empty string on the last page."""
    cursor = call.get("cursor")
    start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
    limit = int(call.get("limit", 100)) or 100
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return {"ok": True, key: list(items[start:end]), "response_metadata": {"next_cursor": next_cursor}}


def _message_json(call: Call, channel_id: str, ts: str) -> JsonDict:
    ws = call.workspace
    message = ws.message(channel_id, ts)
    if message is None:
        raise StubError("message_not_found")
    return message.to_api(team_id=ws.team_id, app_id=ws.app_id)


# ---- auth, chat ----------------------------------------------------------------------------------


def auth_test(call: Call) -> JsonDict:
    ws = call.workspace
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain,
        "user": ws.user(ws.bot_user_id).name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(call: Call) -> JsonDict:
    channel = _postable_channel(call, str(call.require("channel", "channel_not_found")))
    text, blocks, attachments = _content(call)
    message = call.workspace.post_message(
        channel.id,
        text=text or "",
        blocks=blocks or (),
        attachments=attachments or (),
        thread_ts=call.get("thread_ts"),
        metadata=decode_json_param(call.get("metadata"), error="invalid_metadata_format"),
    )
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": _message_json(call, channel.id, message.ts),
    }


def chat_update(call: Call) -> JsonDict:
    channel = _visible_channel(call, str(call.require("channel", "channel_not_found")))
    ts = str(call.require("ts", "message_not_found"))
    current = call.workspace.message(channel.id, ts)
    if current is None:
        raise StubError("message_not_found")
    if current.user != call.workspace.bot_user_id:
        raise StubError("cant_update_message")
    text, blocks, attachments = _content(call)
    call.workspace.update_message(channel.id, ts, text=text, blocks=blocks, attachments=attachments)
    message = _message_json(call, channel.id, ts)
    return {"ok": True, "channel": channel.id, "ts": ts, "text": message["text"], "message": message}


def chat_delete(call: Call) -> JsonDict:
    channel = _visible_channel(call, str(call.require("channel", "channel_not_found")))
    ts = str(call.require("ts", "message_not_found"))
    current = call.workspace.message(channel.id, ts)
    if current is None:
        raise StubError("message_not_found")
    if current.user != call.workspace.bot_user_id:
        raise StubError("cant_delete_message")
    call.workspace.delete_message(channel.id, ts)
    return {"ok": True, "channel": channel.id, "ts": ts}


def chat_post_ephemeral(call: Call) -> JsonDict:
    channel = _postable_channel(call, str(call.require("channel", "channel_not_found")))
    user = str(call.require("user", "user_not_found"))
    call.workspace.user(user)
    if user not in channel.members:
        raise StubError("user_not_in_channel")
    text, blocks, _ = _content(call)
    eph = call.workspace.post_ephemeral(
        channel.id, user, text=text or "", blocks=blocks or (), thread_ts=call.get("thread_ts")
    )
    return {"ok": True, "message_ts": eph.ts}


def chat_get_permalink(call: Call) -> JsonDict:
    ws = call.workspace
    channel = _visible_channel(call, str(call.require("channel", "channel_not_found")))
    message = ws.message(channel.id, str(call.require("message_ts", "message_not_found")))
    if message is None:
        raise StubError("message_not_found")
    link = f"https://{ws.team_domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.is_reply:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


# ---- conversations, users, usergroups ------------------------------------------------------------


def conversations_info(call: Call) -> JsonDict:
    channel = _visible_channel(call, str(call.require("channel", "channel_not_found")))
    is_member = call.workspace.bot_user_id in channel.members
    return {"ok": True, "channel": channel.to_api(is_member=is_member)}


def conversations_members(call: Call) -> JsonDict:
    channel = _visible_channel(call, str(call.require("channel", "channel_not_found")))
    return _page(call, sorted(channel.members), "members")


def conversations_join(call: Call) -> JsonDict:
    ws = call.workspace
    channel = ws.channel(str(call.require("channel", "channel_not_found")))
    if channel.is_private or channel.is_im:
        raise StubError("method_not_supported_for_channel_type")
    joined = ws.join_channel(channel.id, ws.bot_user_id)
    return {"ok": True, "channel": joined.to_api(is_member=True)}


def conversations_open(call: Call) -> JsonDict:
    users = [u for u in str(call.get("users", "")).split(",") if u]
    if len(users) != 1:
        raise StubError("invalid_arguments", "the stub opens direct messages with exactly one user")
    channel = call.workspace.open_im(users[0])
    return {"ok": True, "channel": {"id": channel.id}}


def conversations_history(call: Call) -> JsonDict:
    ws = call.workspace
    channel = _postable_channel(call, str(call.require("channel", "channel_not_found")))
    messages = [m.to_api(team_id=ws.team_id, app_id=ws.app_id) for m in reversed(ws.history(channel.id))]
    page = _page(call, messages, "messages")
    return page | {"has_more": bool(page["response_metadata"]["next_cursor"])}


def conversations_replies(call: Call) -> JsonDict:
    ws = call.workspace
    channel = _visible_channel(call, str(call.require("channel", "channel_not_found")))
    thread = ws.replies(channel.id, str(call.require("ts", "thread_not_found")))
    if not thread:
        raise StubError("thread_not_found")
    messages = [m.to_api(team_id=ws.team_id, app_id=ws.app_id) for m in thread]
    page = _page(call, messages, "messages")
    return page | {"has_more": bool(page["response_metadata"]["next_cursor"])}


def users_info(call: Call) -> JsonDict:
    ws = call.workspace
    return {"ok": True, "user": ws.user(str(call.require("user", "user_not_found"))).to_api(ws.team_id)}


def users_list(call: Call) -> JsonDict:
    ws = call.workspace
    return _page(call, [u.to_api(ws.team_id) for u in ws.users()], "members")


def usergroups_users_list(call: Call) -> JsonDict:
    group = call.workspace.usergroup(str(call.require("usergroup", "no_such_subteam")))
    return {"ok": True, "users": list(group.members)}


def usergroups_list(call: Call) -> JsonDict:
    ws = call.workspace
    groups = []
    for g in ws.usergroups():
        entry: JsonDict = {"id": g.id, "team_id": ws.team_id, "handle": g.handle, "name": g.name}
        entry["user_count"] = len(g.members)
        if call.flag("include_users"):
            entry["users"] = list(g.members)
        groups.append(entry)
    return {"ok": True, "usergroups": groups}


# ---- views, files ----------------------------------------------------------------------------------


def views_open(call: Call) -> JsonDict:
    view = check_view(decode_json_param(call.require("view"), error="invalid_arguments"))
    opened = call.workspace.views.open(str(call.require("trigger_id", "invalid_trigger_id")), view)
    return {"ok": True, "view": call.workspace.views.to_api(opened)}


def views_push(call: Call) -> JsonDict:
    view = check_view(decode_json_param(call.require("view"), error="invalid_arguments"))
    pushed = call.workspace.views.push(str(call.require("trigger_id", "invalid_trigger_id")), view)
    return {"ok": True, "view": call.workspace.views.to_api(pushed)}


def views_update(call: Call) -> JsonDict:
    view = check_view(decode_json_param(call.require("view"), error="invalid_arguments"))
    updated = call.workspace.views.update(
        view, view_id=call.get("view_id"), external_id=call.get("external_id"), hash=call.get("hash")
    )
    return {"ok": True, "view": call.workspace.views.to_api(updated)}


def files_get_upload_url_external(call: Call) -> JsonDict:
    filename = str(call.require("filename"))
    length = int(call.require("length"))
    ws = call.workspace
    reserved = ws.files.reserve(filename, length, user=ws.bot_user_id, alt_txt=call.get("alt_txt"))
    return {"ok": True, "upload_url": f"{call.base_url}/upload/v1/{reserved.id}", "file_id": reserved.id}


def files_complete_upload_external(call: Call) -> JsonDict:
    entries = decode_json_param(call.require("files"), error="invalid_arguments")
    channels = [c for c in str(call.get("channels", "")).split(",") if c] or [call.get("channel_id")]
    if len([c for c in channels if c]) > 1:
        raise StubError("invalid_arguments", "the stub shares a file into at most one channel")
    channel = _postable_channel(call, channels[0]).id if channels[0] else None
    done = call.workspace.files.complete(
        entries, channel=channel, thread_ts=call.get("thread_ts"), initial_comment=call.get("initial_comment")
    )
    return {"ok": True, "files": [f.to_api() for f in done]}


def api_test(call: Call) -> JsonDict:
    return {"ok": True, "args": dict(call.args)}


METHODS: Mapping[str, Handler] = MappingProxyType(
    {
        "api.test": api_test,
        "auth.test": auth_test,
        "chat.postMessage": chat_post_message,
        "chat.update": chat_update,
        "chat.delete": chat_delete,
        "chat.postEphemeral": chat_post_ephemeral,
        "chat.getPermalink": chat_get_permalink,
        "conversations.info": conversations_info,
        "conversations.members": conversations_members,
        "conversations.join": conversations_join,
        "conversations.open": conversations_open,
        "conversations.history": conversations_history,
        "conversations.replies": conversations_replies,
        "users.info": users_info,
        "users.list": users_list,
        "usergroups.users.list": usergroups_users_list,
        "usergroups.list": usergroups_list,
        "views.open": views_open,
        "views.push": views_push,
        "views.update": views_update,
        "files.getUploadURLExternal": files_get_upload_url_external,
        "files.completeUploadExternal": files_complete_upload_external,
    }
)
