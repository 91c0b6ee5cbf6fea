"""The Slack payloads lanebot accepts, as pydantic models: what does not fit is refused, not guessed.

Slack sends many more fields than the bot reads, so the models ignore extras; but every field a
flow relies on is required and shaped: user ids ``U…``/``W…``, channels ``C…``/``D…``/``G…``,
teams ``T…``, message timestamps ``123.456``, a non-empty trigger id, http(s) URLs. Before this,
a slash command without ``user_id``, ``channel_id`` or ``trigger_id`` was accepted, and every such
command shared the idempotency key ``slack::`` (later ones dropped as duplicates).

``bot.slack.edge.PayloadGate`` validates every verified request against these models before a
listener runs (``refusal``); a misfit is answered 400 and logged with its kind and the failing
field names (``describe``), never a value from the body. Listeners then read their payload through
the same models, so a flow only ever sees a typed, complete request. ``ModalBinding`` is the
``private_metadata`` of the Edit and Reject modals: which run, which message and which version of
the draft a modal belongs to (checked again when it is submitted).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.slack import ids
from bot.slack.response_urls import origin_of

log = logging.getLogger(__name__)


def _http_url(value: str) -> str:
    if origin_of(value) is None:
        raise ValueError("not an http(s) URL")
    return value


UserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,20}$")]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[CDG][A-Z0-9]{2,20}$")]
TeamId = Annotated[str, StringConstraints(pattern=r"^T[A-Z0-9]{2,20}$")]
MessageTs = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,9}$")]
TriggerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,255}$")]
RunId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
EventId = Annotated[str, StringConstraints(pattern=r"^Ev[A-Za-z0-9]{2,40}$")]
HttpUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_http_url)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- slash commands ---------------------------------------------------------------------------


class SlashCommand(_Payload):
    command: Annotated[str, StringConstraints(pattern=r"^/[^\s/]{1,32}$")]
    text: str = ""
    user_id: UserId
    channel_id: ChannelId
    team_id: TeamId
    trigger_id: TriggerId
    response_url: HttpUrl | None = None


# --- buttons ----------------------------------------------------------------------------------


class User(_Payload):
    id: UserId


class Channel(_Payload):
    id: ChannelId


class Container(_Payload):
    message_ts: MessageTs | None = None
    channel_id: ChannelId | None = None
    thread_ts: MessageTs | None = None


class Message(_Payload):
    ts: MessageTs
    thread_ts: MessageTs | None = None
    blocks: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class Action(_Payload):
    action_id: Name
    block_id: str | None = None
    value: Annotated[str, StringConstraints(max_length=2000)] = ""


class BlockAction(_Payload):
    """A click on one of the bot's buttons, on a message in a channel."""

    type: Literal["block_actions"]
    user: User
    channel: Channel | None = None
    container: Container = Container()
    message: Message | None = None
    actions: list[Action] = Field(min_length=1, max_length=1)
    trigger_id: TriggerId
    response_url: HttpUrl | None = None

    @property
    def action(self) -> Action:
        return self.actions[0]

    @property
    def channel_id(self) -> str | None:
        return self.channel.id if self.channel else self.container.channel_id

    @property
    def message_ts(self) -> str | None:
        return self.message.ts if self.message else self.container.message_ts

    @property
    def thread_ts(self) -> str | None:
        return (self.message.thread_ts if self.message else None) or self.container.thread_ts


# --- modal submissions ------------------------------------------------------------------------


class ViewState(_Payload):
    values: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class View(_Payload):
    id: Name
    callback_id: Name
    private_metadata: Annotated[str, StringConstraints(max_length=3000)] = ""
    state: ViewState = ViewState()
    blocks: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class ViewSubmission(_Payload):
    type: Literal["view_submission"]
    user: User
    view: View


class ModalBinding(BaseModel):
    """What an Edit or Reject modal belongs to, carried in its ``private_metadata``: the run, its
    draft message, who opened it, and the version of the draft it showed (``edits``: how many
    edits by earlier approvers the shown text already held; ``sha``: a digest of the text the
    Edit modal was filled with)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: RunId
    channel: ChannelId
    ts: MessageTs
    thread: MessageTs | None = None
    by: UserId
    edits: int = Field(ge=0, le=1000)
    sha: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None

    def dumps(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def loads(cls, metadata: str) -> ModalBinding:
        """Raises ``ValueError`` (pydantic's ``ValidationError`` is one) for anything else."""
        return cls.model_validate_json(metadata or "null")


# --- events -----------------------------------------------------------------------------------


class EventCallback(_Payload):
    type: Literal["event_callback"]
    team_id: TeamId
    event_id: EventId
    event: dict[str, Any]


class AppMention(_Payload):
    type: Literal["app_mention"]
    channel: ChannelId
    ts: MessageTs
    thread_ts: MessageTs | None = None


# --- the gate ---------------------------------------------------------------------------------


PASS_THROUGH = frozenset({"url_verification"})
"""Kinds Bolt's own middleware answers (after verification)."""
IGNORED = "ignored"


def refusal(body: Mapping[str, Any], commands: Collection[str]) -> str | None:
    """Why ``body`` does not fit a payload lanebot accepts (fixed words and field names only),
    ``IGNORED`` for kinds acknowledged without action, or None when it fits."""
    try:
        return _check(body, commands)
    except ValidationError as exc:
        return describe(exc)
    except ValueError:
        return "a field is malformed"


def _check(body: Mapping[str, Any], commands: Collection[str]) -> str | None:
    kind = body.get("type")
    if "command" in body:
        SlashCommand.model_validate(body)
        return None if body["command"] in commands else "not one of this app's commands"
    if kind == "block_actions":
        click = BlockAction.model_validate(body)
        if click.action.action_id in ids.BUTTONS and not (click.channel_id and click.message_ts):
            return "a button click without its channel and message"
        return None if click.action.action_id in ids.BUTTONS else "not one of this app's buttons"
    if kind == "view_submission":
        submission = ViewSubmission.model_validate(body)
        if submission.view.callback_id not in ids.MODALS:
            return "not one of this app's modals"
        ModalBinding.loads(submission.view.private_metadata)
        return None
    if kind == "event_callback":
        event = EventCallback.model_validate(body).event
        if event.get("type") != "app_mention":
            return IGNORED
        AppMention.model_validate(event)
        return None
    if kind == "view_closed":
        return IGNORED
    if kind in PASS_THROUGH or body.get("ssl_check") == "1":
        return None
    return "not a payload type this app handles"


def describe(error: ValidationError) -> str:
    """Failing fields and error types (``user_id: string_pattern_mismatch``), never the input."""
    problems = []
    for item in error.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(_safe_loc(part) for part in item.get("loc", ())) or "payload"
        problems.append(f"{where}: {item.get('type', 'invalid')}")
    return "; ".join(problems)


def _safe_loc(part: object) -> str:
    """A location part as text when it is an index or one of the models' field names (a dict key
    from the body could be anything, so it is never echoed)."""
    if isinstance(part, int):
        return str(part)
    return part if isinstance(part, str) and part in _FIELD_NAMES else "…"


_MODELS: tuple[type[BaseModel], ...] = (
    SlashCommand,
    User,
    Channel,
    Container,
    Message,
    Action,
    BlockAction,
    ViewState,
    View,
    ViewSubmission,
    ModalBinding,
    EventCallback,
    AppMention,
)
_FIELD_NAMES = frozenset(name for model in _MODELS for name in model.model_fields)
