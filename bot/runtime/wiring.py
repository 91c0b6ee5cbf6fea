"""Builds the running Slack bot from ``Settings``: the core, the Web API client, the pools, the app.

The CLI's ``lanebot serve`` and ``lanebot socket`` call ``build_runtime``; tests call the same
function with ``SLACK_API_URL`` pointing at the Slack stand-in and providers at the model servers.
The core (config, store with migrations applied, redactor, providers, engine, decision service)
comes from ``bot.runtime.core.build_core``, shared with the CLI so the two cannot drift apart.

The Web API client honours Slack's 429s: ``RateLimitErrorRetryHandler`` waits the ``Retry-After``
Slack sends and tries again; connection resets get one retry, and a 500/503 (Slack briefly down)
gets ``SERVER_ERROR_RETRIES`` retries with exponential backoff (about 5 s in all), so a short outage
delays a draft instead of losing its post. Longer outages are covered by ``bot.runtime.recovery``'s late
delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.runtime.core import Core, build_core
from bot.runtime.metrics import Metrics
from bot.runtime.queued_requests import IntakeJournal
from bot.runtime.settings import Settings
from bot.runtime.worker_pool import WorkerPool
from bot.slack.app import build_app
from bot.slack.owner_alerts import OwnerAlerts
from bot.slack.user_groups import SlackGroupDirectory
from lanes.clock import utcnow
from lanes.config import LanesConfig
from lanes.errors import AuditStoreError
from lanes.observe import Observers
from lanes.providers.base import Provider

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 3
WEB_API_TIMEOUT_S = 15


def build_client(settings: Settings) -> WebClient:
    """The bot's Web API client, at ``SLACK_API_URL``, retrying 429s after ``Retry-After``."""
    handlers = [
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=1),
        ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
    ]
    return WebClient(
        token=settings.bot_token(),
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_S,
        retry_handlers=handlers,
    )


@dataclass
class SlackRuntime:
    """Everything a running bot owns; ``close`` lets admitted runs finish, then releases it all."""

    settings: Settings
    core: Core
    client: WebClient
    pool: WorkerPool
    listener_executor: ThreadPoolExecutor
    app: App
    metrics: Metrics
    intake: IntakeJournal

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.intake.close()
        self.listener_executor.shutdown(wait=True)
        if self.core.engine.shadows is not None:  # in-flight shadows settle their budget first
            self.core.engine.shadows.close(wait=True)
        self.core.close()


def build_runtime(
    settings: Settings,
    *,
    mode: Literal["http", "socket"] = "http",
    config: LanesConfig | None = None,
    providers: Mapping[str, Provider] | None = None,
    clock: Callable[[], datetime] = utcnow,
    env: Mapping[str, str] | None = None,
    listener_executor: ThreadPoolExecutor | None = None,
) -> SlackRuntime:
    """Build the bot from settings; ``config``, ``providers``, ``env`` and the executor override for tests."""
    client = build_client(settings)
    core = build_core(
        config=config,
        config_file=settings.lanebot_config,
        database=settings.database_url,
        env=settings.environment() if env is None else env,
        offline=settings.lanebot_offline,
        providers=providers,
        groups=SlackGroupDirectory(client),
        clock=clock,
        instance=settings.instance_id,
    )
    _record_policy(core)
    core.engine.start_shadows(core.store)
    metrics = Metrics()
    alerts = OwnerAlerts(client, core.config.lanes, members=SlackGroupDirectory(client).members)
    core.engine.observer = Observers(metrics, alerts)
    runtime_config = core.config.runtime
    pool = WorkerPool(runtime_config.workers, runtime_config.queue_limit)
    intake = IntakeJournal(core.store)
    listeners = listener_executor or ThreadPoolExecutor(
        settings.http_threads, thread_name_prefix="lanebot-bolt"
    )
    try:
        app = build_app(
            settings,
            config=core.config,
            client=client,
            engine=core.engine,
            decisions=core.decisions,
            store=core.store,
            clock=clock,
            executor=pool,
            mode=mode,
            listener_executor=listeners,
            on_decision=metrics.decision_recorded,
            intake=intake,
        )
    except Exception:
        pool.shutdown(wait=False)
        listeners.shutdown(wait=False)
        core.close()
        raise
    log.info(
        "slack app built", extra={"mode": mode, "lanes": len(core.config.lanes), "workers": pool.workers}
    )
    return SlackRuntime(settings, core, client, pool, listeners, app, metrics, intake)


def _record_policy(core: Core) -> None:
    """Put the policy this instance serves in the policy log at start (``lanebot policy log``);
    if the store is down now, the engine stores it before its first run instead."""
    try:
        snapshot = core.engine.policy()
    except AuditStoreError:
        log.warning("policy not recorded at start; it will be before the first run")
        return
    log.info("policy in use", extra={"policy": snapshot.short, "source": snapshot.source})
