"""Builds the Bolt app: every listener is registered here, in one function, and nowhere else.

``build_app`` is called by ``bot.runtime.wiring`` in production and by tests around loopback fakes (the
Slack stand-in, the model servers, a real database), so the same listeners run in both. Nothing is
built at import time.

Threads: Bolt runs listeners on ``listener_executor`` (acks, button handling, modal opening, Slack
I/O after a click), sized by ``Settings.http_threads``. Model work never runs there: the lane
commands only admit runs to ``executor`` (``bot.runtime.worker_pool.WorkerPool``, sized by ``[runtime]``), so
an ack never waits behind a model call. ``process_before_response`` stays False (HTTP mode): the
HTTP response goes back as soon as a listener calls ``ack()``.

Before any listener: ``bot.slack.edge.VerifiedRequests`` (Bolt's ``before_authorize`` slot, in place
of Bolt's own signature check) and ``PayloadGate`` (a global middleware): only Slack's requests,
and only payloads that fit ``bot.slack.payloads``, reach a listener.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime
from typing import Literal

from slack_bolt import App
from slack_sdk import WebClient

from bot.runtime.queued_requests import IntakeJournal
from bot.runtime.settings import Settings
from bot.runtime.worker_pool import WorkerPool
from bot.slack import ids
from bot.slack.edge import PayloadGate, VerifiedRequests
from bot.slack.flows.services import Services
from bot.slack.listeners import actions, commands, error_handler, events, modals
from bot.slack.response_urls import ResponseOrigins
from bot.slack.verification import SignatureCheck
from lanes.config import LanesConfig
from lanes.decisions import DecisionService
from lanes.engine import Engine
from lanes.errors import ConfigError
from storage.store import AuditStore

log = logging.getLogger(__name__)

RESERVED_COMMANDS = ("/lanes", "/lanebot")


def build_app(
    settings: Settings,
    *,
    config: LanesConfig,
    client: WebClient,
    engine: Engine,
    decisions: DecisionService,
    store: AuditStore,
    clock: Callable[[], datetime],
    executor: WorkerPool,
    mode: Literal["http", "socket"] = "http",
    listener_executor: Executor | None = None,
    new_id: Callable[[], str] | None = None,
    on_decision: Callable[[str, str], None] | None = None,
    intake: IntakeJournal | None = None,
) -> App:
    """The Bolt app with every listener registered; ``executor`` carries the model work."""
    _check_commands(config)
    check = SignatureCheck(settings.signing_secret()) if mode == "http" else None
    app = App(
        client=client,
        signing_secret=settings.signing_secret() if mode == "http" else "",
        request_verification_enabled=False,  # VerifiedRequests replaces it (bot.slack.verification)
        before_authorize=VerifiedRequests(check, ResponseOrigins.for_api_url(settings.slack_api_url)),
        process_before_response=False,
        listener_executor=listener_executor
        or ThreadPoolExecutor(settings.http_threads, thread_name_prefix="lanebot-bolt"),
        name="lanebot",
    )
    services = Services(
        config=config,
        client=client,
        engine=engine,
        decisions=decisions,
        store=store,
        clock=clock,
        pool=executor,
        instance=settings.instance_id,
        new_id=new_id or (lambda: uuid.uuid4().hex),
        intake=intake,
        offline=settings.lanebot_offline,
    )
    if on_decision is not None:
        services.on_decision = on_decision
    app.use(PayloadGate([lane.command for lane in config.lanes.values()] + list(RESERVED_COMMANDS)))
    for lane in config.lanes.values():
        app.command(lane.command)(commands.lane_command(services))
    app.command("/lanes")(commands.lanes_command(services))
    app.command("/lanebot")(commands.lanebot_command(services))
    app.action(ids.APPROVE)(actions.approve(services))
    app.action(ids.EDIT)(actions.edit(services))
    app.action(ids.REJECT)(actions.reject(services))
    app.action(ids.RUN_ANYWAY)(actions.run_anyway(services))
    app.view(ids.EDIT_MODAL)(modals.edit_submitted(services))
    app.view(ids.REJECT_MODAL)(modals.reject_submitted(services))
    app.event("app_mention")(events.app_mention(services))
    app.error(error_handler.handle_error())
    for lane in config.lanes.values():
        if lane.budget_daily_usd is not None:
            services.spend.refresh(lane.name)
    return app


def _check_commands(config: LanesConfig) -> None:
    clashes = [
        f"lanes.{lane.name}.command: {lane.command} is reserved for the bot; pick another command"
        for lane in config.lanes.values()
        if lane.command in RESERVED_COMMANDS
    ]
    if clashes:
        raise ConfigError(clashes)
