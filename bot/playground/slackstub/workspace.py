"""The state of one fake Slack workspace: people, channels, messages, modals, files, API calls.

Why a separate state object: the same workspace is read by three parties at once: the fake Web API
(serving the bot's HTTP calls on its own threads), the request builders (which need real trigger ids,
message blocks and response_urls to put in payloads) and a UI or test that watches what the bot did.
So every method takes one lock, every record handed out is a frozen copy, and every mutation bumps a
version in ``ChangeFeed`` that callers can subscribe to or long-poll.

Rules Slack enforces that the bot must live with are enforced here, with Slack's error codes: thread
replies attach to the thread parent, updates need an existing message. Three parts live in their own
modules and hang off the workspace: ``ws.views`` (trigger ids, modal stacks), ``ws.files`` (upload v2)
and ``ws.responses`` (response_urls); they share this object's lock and change feed.
Membership rules that depend on *who calls* (the bot posting where it is not a member) sit in the
web API layer, not here, so a UI can still post as any user.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.playground.slackstub.feed import ChangeFeed, Subscriber
from bot.playground.slackstub.files import FileBook
from bot.playground.slackstub.models import (
    ApiCall,
    Change,
    Channel,
    Ephemeral,
    JsonDict,
    Message,
    StubError,
    User,
    UserGroup,
    frozen_blocks,
    ts_from_micros,
)
from bot.playground.slackstub.responses import ResponseBook
from bot.playground.slackstub.state_values import with_block_ids
from bot.playground.slackstub.views import ViewBook
from bot.slack.manifest import BOT_SCOPES

Clock = Callable[[], float]


class Workspace:
    """In-memory, thread-safe Slack workspace. The bot user exists from the start."""

    def __init__(
        self,
        *,
        team_id: str = "T0LANEBOT",
        team_domain: str = "lanebot",
        bot_token: str = "xoxb-lanebot-stub-token",
        bot_user_id: str = "U0LANEBOT",
        bot_id: str = "B0LANEBOT",
        app_id: str = "A0LANEBOT",
        bot_name: str = "lanebot",
        clock: Clock = time.time,
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 1800.0,
        response_url_max_uses: int = 5,
        bot_scopes: tuple[str, ...] | None = None,
    ) -> None:
        self.team_id, self.team_domain, self.app_id = team_id, team_domain, app_id
        self.bot_token, self.bot_user_id, self.bot_id = bot_token, bot_user_id, bot_id
        self.bot_scopes = BOT_SCOPES if bot_scopes is None else bot_scopes
        """What the installed app was granted; Slack reports it in each response's X-OAuth-Scopes."""
        self.clock = clock
        self._lock = threading.RLock()
        self._feed = ChangeFeed(self._lock)
        self._seq = itertools.count(1)
        self._last_micros = 0
        self._users: dict[str, User] = {bot_user_id: User(bot_user_id, bot_name, bot_name, is_bot=True)}
        self._groups: dict[str, UserGroup] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._calls: list[ApiCall] = []
        self.views = ViewBook(self, trigger_ttl=trigger_ttl)
        self.files = FileBook(self)
        self.responses = ResponseBook(self, ttl=response_url_ttl, max_uses=response_url_max_uses)

    # ---- ids, time and the change feed -------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def transaction(self) -> Any:
        """Lock + change collection for components (views, files) that mutate this workspace."""
        return self._feed.transaction()

    def new_id(self, prefix: str) -> str:
        """Deterministic Slack-looking ids (``C00000003``): stable across runs, unique per workspace."""
        return f"{prefix}{next(self._seq):08X}"

    def token_for(self, kind: str) -> str:
        """A deterministic opaque token (trigger ids, hashes) derived from a counter, not randomness."""
        n = next(self._seq)
        digest = hashlib.sha256(f"{self.team_id}:{kind}:{n}".encode()).hexdigest()[:32]
        return f"{int(self.clock())}.{n}.{digest}"

    def next_ts(self) -> str:
        """A message ts from the clock, strictly increasing even when the clock stands still."""
        with self._lock:
            micros = max(int(self.clock() * 1_000_000), self._last_micros + 1)
            self._last_micros = micros
            return ts_from_micros(micros)

    @property
    def version(self) -> int:
        return self._feed.version

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self._feed.subscribe(callback)

    def changes_since(self, version: int) -> list[Change]:
        return self._feed.changes_since(version)

    def wait_for_change(self, since: int, timeout: float = 25.0) -> int:
        return self._feed.wait_for_change(since, timeout)

    def wait_until(self, predicate: Callable[[Workspace], bool], timeout: float = 5.0) -> bool:
        """Wait for work done on other threads (Bolt listeners) to show up; False on timeout."""
        return self._feed.wait_until(lambda: predicate(self), timeout)

    # ---- directory ---------------------------------------------------------------------------------

    def add_user(
        self, name: str, real_name: str | None = None, *, user_id: str | None = None, email: str | None = None
    ) -> User:
        with self._feed.transaction() as emit:
            user = User(user_id or self.new_id("U"), name, real_name or name.title(), email=email)
            self._users[user.id] = user
            emit("user_added", ref=user.id)
        return user

    def add_channel(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        bot_member: bool = True,
        is_private: bool = False,
        channel_id: str | None = None,
    ) -> Channel:
        member_ids = set(members) | ({self.bot_user_id} if bot_member else set())
        with self._feed.transaction() as emit:
            channel = Channel(
                channel_id or self.new_id("C"),
                name.lstrip("#"),
                frozenset(member_ids),
                is_private=is_private,
                created=int(self.clock()),
            )
            self._channels[channel.id] = channel
            self._messages.setdefault(channel.id, [])
            emit("channel_added", channel=channel.id)
        return channel

    def add_usergroup(
        self, handle: str, members: Iterable[str], *, usergroup_id: str | None = None, name: str | None = None
    ) -> UserGroup:
        with self._feed.transaction() as emit:
            group = UserGroup(usergroup_id or self.new_id("S"), handle, name or handle, tuple(members))
            self._groups[group.id] = group
            emit("usergroup_changed", ref=group.id)
        return group

    def set_usergroup_members(self, usergroup_id: str, members: Iterable[str]) -> UserGroup:
        with self._feed.transaction() as emit:
            group = dataclasses.replace(self.usergroup(usergroup_id), members=tuple(members))
            self._groups[group.id] = group
            emit("usergroup_changed", ref=group.id)
        return group

    def join_channel(self, channel: str, user_id: str) -> Channel:
        return self._set_membership(channel, user_id, joined=True)

    def leave_channel(self, channel: str, user_id: str) -> Channel:
        return self._set_membership(channel, user_id, joined=False)

    def _set_membership(self, channel: str, user_id: str, *, joined: bool) -> Channel:
        with self._feed.transaction() as emit:
            current = self.channel(channel)
            members = current.members | {user_id} if joined else current.members - {user_id}
            updated = dataclasses.replace(current, members=frozenset(members))
            self._channels[updated.id] = updated
            emit("member_joined" if joined else "member_left", channel=updated.id, ref=user_id)
        return updated

    def user(self, user_id: str) -> User:
        with self._lock:
            if user_id not in self._users:
                raise StubError("user_not_found")
            return self._users[user_id]

    def users(self) -> list[User]:
        with self._lock:
            return list(self._users.values())

    def user_by_name(self, name: str) -> User:
        with self._lock:
            for user in self._users.values():
                if user.name == name.lstrip("@"):
                    return user
        raise StubError("user_not_found")

    def usergroup(self, usergroup_id: str) -> UserGroup:
        with self._lock:
            if usergroup_id not in self._groups:
                raise StubError("no_such_subteam")
            return self._groups[usergroup_id]

    def usergroups(self) -> list[UserGroup]:
        with self._lock:
            return list(self._groups.values())

    def channel(self, ref: str) -> Channel:
        """Look a channel up by id, ``name`` or ``#name`` (chat.postMessage accepts all three)."""
        with self._lock:
            if ref in self._channels:
                return self._channels[ref]
            for channel in self._channels.values():
                if channel.name == ref.lstrip("#"):
                    return channel
        raise StubError("channel_not_found")

    def channels(self) -> list[Channel]:
        with self._lock:
            return list(self._channels.values())

    def is_member(self, channel: str, user_id: str) -> bool:
        return user_id in self.channel(channel).members

    def bot_is_member(self, channel: str) -> bool:
        return self.is_member(channel, self.bot_user_id)

    def open_im(self, user_id: str) -> Channel:
        """The bot's direct-message channel with ``user_id`` (created on first use, like Slack)."""
        self.user(user_id)
        with self._feed.transaction():
            for channel in self._channels.values():
                if channel.is_im and channel.members == frozenset({user_id, self.bot_user_id}):
                    return channel
            return self.add_channel(user_id, members=[user_id], channel_id=self.new_id("D"), is_private=True)

    # ---- messages ----------------------------------------------------------------------------------

    def post_message(
        self,
        channel: str,
        *,
        text: str = "",
        blocks: Sequence[JsonDict] = (),
        user: str | None = None,
        thread_ts: str | None = None,
        attachments: Sequence[JsonDict] = (),
        metadata: JsonDict | None = None,
        files: Sequence[str] = (),
    ) -> Message:
        """Post as ``user`` (default: the bot). A ``thread_ts`` naming a reply lands in its thread."""
        author = user or self.bot_user_id
        with self._feed.transaction() as emit:
            channel_id = self.channel(channel).id
            parent_ts = self._thread_parent(channel_id, thread_ts) if thread_ts else None
            ts = self.next_ts()
            message = Message(
                channel=channel_id,
                ts=ts,
                text=text,
                user=author,
                blocks=with_block_ids(blocks),
                bot_id=self.bot_id if author == self.bot_user_id else None,
                thread_ts=parent_ts,
                attachments=frozen_blocks(attachments),
                metadata=metadata,
                files=tuple(files),
            )
            self._messages[channel_id].append(message)
            emit("message_posted", channel=channel_id, ts=ts, extra={"thread_ts": parent_ts})
        return message

    def _thread_parent(self, channel_id: str, thread_ts: str) -> str:
        messages = self._messages[channel_id]
        for i, message in enumerate(messages):
            if message.ts == thread_ts:
                if message.is_reply:
                    return str(message.thread_ts)
                if message.thread_ts is None:
                    messages[i] = dataclasses.replace(message, thread_ts=message.ts)
                return message.ts
        raise StubError("thread_not_found", f"no message with ts {thread_ts} in {channel_id}")

    def update_message(
        self,
        channel: str,
        ts: str,
        *,
        text: str | None = None,
        blocks: Sequence[JsonDict] | None = None,
        attachments: Sequence[JsonDict] | None = None,
    ) -> Message:
        with self._feed.transaction() as emit:
            channel_id = self.channel(channel).id
            index, current = self._find(channel_id, ts)
            changes: dict[str, Any] = {"edited_ts": self.next_ts()}
            if text is not None:
                changes["text"] = text
            if blocks is not None:
                changes["blocks"] = with_block_ids(blocks)
            if attachments is not None:
                changes["attachments"] = frozen_blocks(attachments)
            updated = dataclasses.replace(current, **changes)
            self._messages[channel_id][index] = updated
            emit("message_updated", channel=channel_id, ts=ts)
        return updated

    def delete_message(self, channel: str, ts: str) -> Message:
        with self._feed.transaction() as emit:
            channel_id = self.channel(channel).id
            index, current = self._find(channel_id, ts)
            del self._messages[channel_id][index]
            emit("message_deleted", channel=channel_id, ts=ts)
        return current

    def _find(self, channel_id: str, ts: str) -> tuple[int, Message]:
        for index, message in enumerate(self._messages.get(channel_id, [])):
            if message.ts == ts:
                return index, message
        raise StubError("message_not_found")

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            try:
                return self._find(self.channel(channel).id, ts)[1]
            except StubError:
                return None

    def messages(self, channel: str) -> list[Message]:
        """Every message in the channel, replies included, oldest first."""
        with self._lock:
            return list(self._messages[self.channel(channel).id])

    def history(self, channel: str) -> list[Message]:
        """Top-level messages only, oldest first (conversations.history returns them newest first)."""
        return [m for m in self.messages(channel) if not m.is_reply]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """The thread parent followed by its replies, oldest first."""
        return [m for m in self.messages(channel) if m.ts == thread_ts or m.thread_ts == thread_ts]

    def all_messages(self) -> list[Message]:
        with self._lock:
            return [m for msgs in self._messages.values() for m in msgs]

    # ---- ephemeral messages ------------------------------------------------------------------------

    def post_ephemeral(
        self,
        channel: str,
        user: str,
        *,
        text: str = "",
        blocks: Sequence[JsonDict] = (),
        thread_ts: str | None = None,
        source: str = "chat.postEphemeral",
        ts: str | None = None,
    ) -> Ephemeral:
        """``ts``: a place taken earlier with ``next_ts`` (a slash command's ack, shown when it arrives)."""
        with self._feed.transaction() as emit:
            channel_id = self.channel(channel).id
            eph = Ephemeral(
                channel_id, ts or self.next_ts(), user, text, with_block_ids(blocks), thread_ts, source
            )
            self._ephemerals.append(eph)
            emit("ephemeral_posted", channel=channel_id, ts=eph.ts, ref=user)
        return eph

    def ephemerals(self, *, user: str | None = None, channel: str | None = None) -> list[Ephemeral]:
        with self._lock:
            channel_id = self.channel(channel).id if channel else None
            return [
                e
                for e in self._ephemerals
                if (user is None or e.user == user) and (channel_id is None or e.channel == channel_id)
            ]

    def ephemeral(self, ts: str) -> Ephemeral | None:
        with self._lock:
            return next((e for e in self._ephemerals if e.ts == ts), None)

    def replace_ephemeral(self, ts: str, *, text: str, blocks: Sequence[JsonDict] = ()) -> Ephemeral:
        with self._feed.transaction() as emit:
            index = self._ephemeral_index(ts)
            updated = dataclasses.replace(self._ephemerals[index], text=text, blocks=with_block_ids(blocks))
            self._ephemerals[index] = updated
            emit("ephemeral_replaced", channel=updated.channel, ts=ts, ref=updated.user)
        return updated

    def delete_ephemeral(self, ts: str) -> Ephemeral:
        with self._feed.transaction() as emit:
            removed = self._ephemerals.pop(self._ephemeral_index(ts))
            emit("ephemeral_deleted", channel=removed.channel, ts=ts, ref=removed.user)
        return removed

    def _ephemeral_index(self, ts: str) -> int:
        for index, eph in enumerate(self._ephemerals):
            if eph.ts == ts:
                return index
        raise StubError("message_not_found")

    # ---- recorded API calls ------------------------------------------------------------------------

    def record_call(self, call: ApiCall) -> None:
        with self._feed.transaction() as emit:
            self._calls.append(call)
            emit("api_call", ref=call.method, extra={"error": call.error, "status": call.status})

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # ---- whole picture, for a UI -------------------------------------------------------------------

    def snapshot(self) -> JsonDict:
        """Everything a UI draws, JSON-ready; file bytes are left out."""
        with self._lock:
            return {
                "version": self._feed.version,
                "team": {"id": self.team_id, "domain": self.team_domain},
                "bot": {"user_id": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id},
                "users": [u.to_api(self.team_id) for u in self._users.values()],
                "usergroups": [dataclasses.asdict(g) for g in self._groups.values()],
                "channels": [self._channel_json(c) for c in self._channels.values()],
                "ephemerals": [dataclasses.asdict(e) for e in self._ephemerals],
                "views": [
                    v.to_api(team_id=self.team_id, app_id=self.app_id, bot_id=self.bot_id) | {"user": v.user}
                    for v in self.views.open_views()
                ],
                "files": [f.to_api() for f in self.files.all()],
                "response_posts": [dataclasses.asdict(p) for p in self.responses.posts()],
            }

    def _channel_json(self, channel: Channel) -> JsonDict:
        return channel.to_api(is_member=self.bot_user_id in channel.members) | {
            "members": sorted(channel.members),
            "messages": [
                m.to_api(team_id=self.team_id, app_id=self.app_id) for m in self._messages[channel.id]
            ],
        }
