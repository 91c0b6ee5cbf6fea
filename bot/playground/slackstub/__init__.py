"""A local stand-in for Slack that slack_sdk's WebClient and slack_bolt's App cannot tell from Slack.

    Workspace        the state: users, channels, messages, modals, files, recorded API calls
    SlackStubServer  serves a Workspace as the Web API, upload URLs and response_urls over HTTP
    PayloadFactory   builds the requests Slack sends an app (commands, clicks, submissions, events)
    SlackSender      signs them like Slack (or forges/backdates/retries them) and POSTs them
    SlackSimulator   all of the above plus what Slack does with the app's acks (for UI and e2e tests)
    BoltHttpServer   serves a Bolt App over real HTTP via Bolt's WSGI adapter, for end-to-end tests

Used by the test suite and by ``lanebot playground``.
"""

from bot.playground.slackstub.bolt_http import BoltHttpServer
from bot.playground.slackstub.demo import demo_workspace
from bot.playground.slackstub.models import (
    ApiCall,
    Change,
    Channel,
    Ephemeral,
    ManualClock,
    Message,
    OpenView,
    ResponsePost,
    ResponseUrl,
    StubError,
    TriggerId,
    UploadedFile,
    User,
    UserGroup,
)
from bot.playground.slackstub.payload_factory import Payload, PayloadFactory
from bot.playground.slackstub.signing import HttpResult, SignedRequest, SlackSender, signature
from bot.playground.slackstub.simulator import Delivery, SlackSimulator
from bot.playground.slackstub.web_api import SlackStubServer
from bot.playground.slackstub.workspace import Workspace

__all__ = [
    "ApiCall",
    "BoltHttpServer",
    "Change",
    "Channel",
    "Delivery",
    "Ephemeral",
    "HttpResult",
    "ManualClock",
    "Message",
    "OpenView",
    "Payload",
    "PayloadFactory",
    "ResponsePost",
    "ResponseUrl",
    "SignedRequest",
    "SlackSender",
    "SlackSimulator",
    "SlackStubServer",
    "StubError",
    "TriggerId",
    "UploadedFile",
    "User",
    "UserGroup",
    "Workspace",
    "demo_workspace",
    "signature",
]
