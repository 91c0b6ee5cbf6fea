"""The playground page's JSON endpoints: people type, click and submit; Slack (the stand-in) reacts.

Every endpoint turns a gesture on the page into what Slack would do: a slash command becomes a
signed request to the bot (``SlackSimulator``), a click on a button becomes a ``block_actions``
payload built from the message the bot really posted, a modal submission carries the modal's real
state. The page never talks to the bot and never changes the workspace behind the bot's back; it
watches the workspace change by long-polling ``state``. Input is validated with pydantic at this
edge; a gesture Slack's own client would not allow (a click on a button that is not there, an empty
required field) is answered 4xx with a sentence saying what is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.playground import slackbot
from bot.playground.install import InstalledApp, personas, roles
from bot.playground.mode import ModelMode
from bot.playground.slackstub import HttpResult, SlackSimulator, StubError
from lanes.config import LanesConfig
from lanes.errors import LanebotError

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
Reply = tuple[int, JsonDict]
MAX_POLL_S = 25.0
RECENT_CALLS = 80
DEFAULT_CHANNEL = "C0LANES"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommandIn(_In):
    user: str
    channel: str
    text: str = Field(min_length=1, max_length=40_000)
    thread_ts: str | None = None


class ClickIn(_In):
    user: str
    channel: str
    ts: str
    action_id: str
    block_id: str | None = None
    value: Any = None


class SubmitIn(_In):
    user: str
    view_id: str
    values: dict[str, dict[str, Any]] = Field(default_factory=dict)


class CloseIn(_In):
    user: str
    view_id: str


class PlaygroundApi:
    """One method per endpoint; each returns ``(http status, JSON body)``."""

    def __init__(
        self,
        sim: SlackSimulator,
        app: InstalledApp,
        *,
        config: LanesConfig,
        mode: ModelMode,
        post_digest: Callable[[], tuple[str, str]],
    ) -> None:
        self.sim = sim
        self.ws = sim.workspace
        self.app = app
        self.config = config
        self.mode = mode
        self._post_digest = post_digest

    # ---- reading ---------------------------------------------------------------------------------

    def bootstrap(self) -> Reply:
        """What the page needs once: people and their roles, commands, the model mode."""
        ws = self.ws
        people = roles(ws, self.config)
        users = [u.to_api(ws.team_id) | {"roles": people.get(u.id, [])} for u in ws.users()]
        commands = [
            {"command": c.command, "description": c.description, "usage_hint": c.usage_hint}
            for c in self.app.commands.values()
        ]
        commands.append(dict(slackbot.INVITE_COMMAND))
        body = {
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "bot": {"user_id": ws.bot_user_id, "name": self.app.name},
            "users": users,
            "personas": [p.__dict__ for p in personas(ws, self.config)],
            "commands": commands,
            "mode": self.mode.to_json(),
            "default_channel": DEFAULT_CHANNEL,
            "digest_channel": self.config.digest.channel if self.config.digest else None,
            "lanes": [
                {"command": lane.command, "description": lane.description}
                for lane in self.config.lanes.values()
            ],
        }
        return 200, body

    def state(self, since: int, timeout: float) -> Reply:
        """The workspace once its version passes ``since`` (or ``timeout`` seconds pass)."""
        if since >= self.ws.version:
            self.ws.wait_for_change(since, max(0.0, min(timeout, MAX_POLL_S)))
        snapshot = self.ws.snapshot()
        snapshot.pop("response_posts", None)
        snapshot["calls"] = [
            {"method": c.method, "status": c.status, "error": c.error, "at": c.at}
            for c in self.ws.calls()[-RECENT_CALLS:]
        ]
        return 200, snapshot

    def file(self, file_id: str) -> tuple[bytes, str] | None:
        try:
            found = self.ws.files.get(file_id)
        except StubError:
            return None
        if found.content is None:
            return None
        text = found.mimetype.startswith("text/")  # the digest's tables: UTF-8 (Δ, –), say so
        return found.content, found.mimetype + ("; charset=utf-8" if text else "")

    # ---- gestures --------------------------------------------------------------------------------

    def connect(self, body: Mapping[str, Any]) -> Reply:
        """A page (re)load is a new Slack client, and Slack drops the modals the old client had open.

        Without this an Edit modal left open came back after a reload, detached from the thread it
        was opened in: its submission was decided but the page showed nothing of it. Apps that set
        ``notify_on_close`` hear ``view_closed``, as they would from Slack.
        """
        closed: list[str] = []
        for view in self.ws.views.open_views():
            if view.id not in {v.id for v in self.ws.views.open_views()}:
                continue  # closed with the stack it was in
            try:
                self.sim.close_view(view.user, view.id)
            except (StubError, LookupError, OSError) as exc:
                log.warning("stale modal not closed", extra={"view": view.id, "error": str(exc)})
                continue
            closed.append(view.id)
        return 200, {"ok": True, "closed": closed}

    def command(self, body: Mapping[str, Any]) -> Reply:
        """The composer: ``/command text`` runs a slash command, anything else is a message."""
        try:
            req = CommandIn.model_validate(body)
            self.ws.user(req.user)
            self.ws.channel(req.channel)
        except (ValidationError, StubError) as exc:
            return _bad(exc)
        text = req.text.strip()
        if text.startswith("/"):
            name, *rest = text.split(maxsplit=1)
            return self._slash(req.user, req.channel, name, rest[0].strip() if rest else "")
        return self._message(req.user, req.channel, req.text, req.thread_ts)

    def click(self, body: Mapping[str, Any]) -> Reply:
        try:
            req = ClickIn.model_validate(body)
            delivery = self.sim.click(
                req.user, req.channel, req.ts, req.action_id, value=req.value, block_id=req.block_id
            )
        except (ValidationError, StubError, LookupError, OSError) as exc:
            return _bad(exc)
        return _answered(delivery.payload.kind, delivery.response)

    def submit(self, body: Mapping[str, Any]) -> Reply:
        try:
            req = SubmitIn.model_validate(body)
            delivery = self.sim.submit_view(req.user, req.view_id, req.values)
        except (ValidationError, StubError, LookupError, ValueError, OSError) as exc:
            return _bad(exc)
        status, reply = _answered(delivery.payload.kind, delivery.response)
        return status, reply | {"errors": dict(delivery.view_errors)}

    def close(self, body: Mapping[str, Any]) -> Reply:
        try:
            req = CloseIn.model_validate(body)
            delivery = self.sim.close_view(req.user, req.view_id)
        except (ValidationError, StubError, LookupError, OSError) as exc:
            return _bad(exc)
        return _answered(delivery.payload.kind, delivery.response) if delivery else (200, {"ok": True})

    def digest(self, body: Mapping[str, Any]) -> Reply:
        """Post this week's digest so far to the digest channel, chart in its thread."""
        try:
            channel, ts = self._post_digest()
        except LanebotError as exc:
            return 409, {"ok": False, "error": str(exc)}
        return 200, {"ok": True, "channel": channel, "ts": ts}

    # ---- helpers ---------------------------------------------------------------------------------

    def _slash(self, user: str, channel: str, name: str, text: str) -> Reply:
        if name == "/invite":
            return self._invite(user, channel, text)
        command = self.app.commands.get(name)
        if command is None:
            self._slackbot(channel, user, slackbot.not_a_command(name))
            return 200, {"ok": False, "error": "not_a_command"}
        typed = slackbot.as_sent(text, self._users_by_name(), mentions=command.should_escape, with_names=True)
        try:
            delivery = self.sim.slash_command(user, channel, name, typed)
        except OSError as exc:  # Slack gives up on an app that does not answer
            self._slackbot(channel, user, slackbot.command_failed(name, "operation_timeout"))
            return _bad(exc)
        if delivery.response.status != 200:
            self._slackbot(channel, user, slackbot.command_failed(name, "dispatch_failed"))
        return _answered(delivery.payload.kind, delivery.response)

    def _invite(self, user: str, channel: str, text: str) -> Reply:
        wanted = text.strip().lstrip("@").lower()
        if wanted not in (self.app.name.lower(), self.ws.user(self.ws.bot_user_id).name.lower()):
            self._slackbot(channel, user, slackbot.invite_usage())
            return 200, {"ok": False, "error": "invite_usage"}
        if not self.ws.bot_is_member(channel):
            where = self.ws.join_channel(channel, self.ws.bot_user_id)
            self.ws.post_message(where.id, text=slackbot.joined(where.name, user))
        return 200, {"ok": True}

    def _message(self, user: str, channel: str, text: str, thread_ts: str | None) -> Reply:
        sent = slackbot.as_sent(text, self._users_by_name(), mentions=True)
        try:
            message = self.ws.post_message(channel, text=sent, user=user, thread_ts=thread_ts)
        except StubError as exc:
            return _bad(exc)
        mention = f"<@{self.ws.bot_user_id}>"
        if mention not in sent or "app_mention" not in self.app.bot_events:
            return 200, {"ok": True, "ts": message.ts}
        if not self.ws.bot_is_member(channel):
            self._slackbot(channel, user, slackbot.not_in_channel(self.ws.bot_user_id))
            return 200, {"ok": True, "ts": message.ts}
        payload = self.sim.payloads.message_event(message, mention=True)
        try:
            return _answered(payload.kind, self.sim.sender.deliver(payload))
        except OSError as exc:
            return _bad(exc)

    def _users_by_name(self) -> dict[str, str]:
        return {u.name.lower(): u.id for u in self.ws.users()}

    def _slackbot(self, channel: str, user: str, text: str) -> None:
        self.ws.post_ephemeral(channel, user, text=text, source="slackbot")


def _answered(kind: str, response: HttpResult) -> Reply:
    status = response.status
    if status == 200:
        return 200, {"ok": True, "status": status}
    log.warning("the bot did not accept a request", extra={"kind": kind, "status": status})
    return 502, {"ok": False, "status": status, "error": f"the bot answered HTTP {status}"}


def _bad(exc: Exception) -> Reply:
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return 400, {"ok": False, "error": f"bad request: {problems}"}
    if isinstance(exc, StubError):
        return 404 if exc.code.endswith("not_found") else 400, {"ok": False, "error": str(exc)}
    if isinstance(exc, LookupError):
        return 404, {"ok": False, "error": str(exc)}
    if isinstance(exc, OSError):
        return 504, {"ok": False, "error": f"the bot did not answer: {exc}"}
    return 400, {"ok": False, "error": str(exc)}
