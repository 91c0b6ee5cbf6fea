"""The records a fake Slack workspace holds, as frozen dataclasses, and the one error it raises.

Every record can render itself the way the real Web API shows it (``to_api``), so the HTTP layer
and the payload builders share one picture of a message, a view or a user. ``StubError.code`` is
always a real Slack error string (``channel_not_found``, ``expired_trigger_id`` ...): the web API
turns it into ``{"ok": false, "error": code}`` without translation.
"""

from __future__ import annotations

import copy
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


class StubError(Exception):
    """A Slack API error: ``code`` is what Slack would put in ``error``; ``messages`` the details."""

    def __init__(self, code: str, *messages: str, status: int = 200) -> None:
        self.code = code
        self.messages = list(messages)
        self.status = status
        super().__init__(code if not messages else f"{code}: {'; '.join(messages)}")


class ManualClock:
    """A clock for tests: time moves only when ``advance`` is called (trigger expiry, ts values)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ts_from_micros(micros: int) -> str:
    """Slack's message timestamp format: seconds, a dot and exactly six digits."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def frozen_blocks(blocks: Any) -> tuple[JsonDict, ...]:
    return tuple(copy.deepcopy(b) for b in blocks or ())


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    email: str | None = None
    tz: str = "Europe/Berlin"

    def to_api(self, team_id: str) -> JsonDict:
        profile: JsonDict = {"real_name": self.real_name, "display_name": self.name}
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": self.tz,
            "profile": profile,
        }


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    members: frozenset[str]
    is_private: bool = False
    is_im: bool = False
    created: int = 0

    def to_api(self, *, is_member: bool) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_private": self.is_private or self.is_im,
            "is_archived": False,
            "is_member": is_member,
            "created": self.created,
            "num_members": len(self.members),
        }


@dataclass(frozen=True)
class Message:
    """A message in a channel; ``thread_ts`` is set on thread replies *and* on thread parents."""

    channel: str
    ts: str
    text: str
    user: str
    blocks: tuple[JsonDict, ...] = ()
    bot_id: str | None = None
    thread_ts: str | None = None
    files: tuple[str, ...] = ()
    edited_ts: str | None = None
    attachments: tuple[JsonDict, ...] = ()
    metadata: JsonDict | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, team_id: str, app_id: str | None = None) -> JsonDict:
        out: JsonDict = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": team_id,
        }
        if self.blocks:
            out["blocks"] = [copy.deepcopy(b) for b in self.blocks]
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = app_id
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.attachments:
            out["attachments"] = [copy.deepcopy(a) for a in self.attachments]
        if self.files:
            out["files"] = [{"id": f} for f in self.files]
        return out


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees; Slack keeps no history of these, the stub does for tests."""

    channel: str
    ts: str
    user: str
    text: str
    blocks: tuple[JsonDict, ...] = ()
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"


@dataclass(frozen=True)
class TriggerId:
    id: str
    user: str
    issued_at: float
    used: bool = False


@dataclass(frozen=True)
class OpenView:
    """A modal on someone's screen. ``stack`` position comes from ``previous_view_id``."""

    id: str
    user: str
    view: JsonDict
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str = ""

    @property
    def private_metadata(self) -> str:
        return str(self.view.get("private_metadata") or "")

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id") or "")

    def to_api(self, *, team_id: str, app_id: str, bot_id: str) -> JsonDict:
        base: JsonDict = {
            "id": self.id,
            "team_id": team_id,
            "type": "modal",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": self.hash,
            "clear_on_close": False,
            "notify_on_close": False,
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": app_id,
            "external_id": self.external_id,
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        }
        base.update({k: copy.deepcopy(v) for k, v in self.view.items() if k not in _SERVER_VIEW_KEYS})
        return base


_SERVER_VIEW_KEYS = frozenset(
    {"id", "hash", "root_view_id", "previous_view_id", "team_id", "app_id", "bot_id"}
)


@dataclass(frozen=True)
class UploadedFile:
    """A file from the upload v2 flow: reserved, then its bytes arrive, then it is shared."""

    id: str
    filename: str
    length: int
    user: str
    title: str = ""
    alt_txt: str | None = None
    content: bytes | None = None
    channels: tuple[str, ...] = ()
    thread_ts: str | None = None
    initial_comment: str | None = None

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"

    def to_api(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": self.mimetype,
            "size": len(self.content) if self.content is not None else 0,
            "user": self.user,
            "channels": list(self.channels),
        }


@dataclass(frozen=True)
class ResponseUrl:
    """Where ``respond()`` posts: tied to the message (or command) the user interacted with."""

    id: str
    channel: str
    user: str
    issued_at: float
    origin_ts: str | None = None
    origin_ephemeral: bool = False
    thread_ts: str | None = None
    uses: int = 0


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url and what it did (``posted``/``ephemeral``/``replaced``/``deleted``)."""

    url_id: str
    payload: JsonDict
    at: float
    outcome: str


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the stub saw it (tokens removed); ``error`` is None on success."""

    method: str
    params: Mapping[str, Any]
    at: float
    status: int = 200
    error: str | None = None


@dataclass(frozen=True)
class Change:
    """One change to the workspace, numbered by ``version`` so a UI can long-poll for newer ones."""

    version: int
    kind: str
    channel: str | None = None
    ts: str | None = None
    ref: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
