"""Running the bot: HTTP mode (``serve_http``) and Socket Mode (``serve_socket``).

HTTP mode serves Bolt on ``POST /slack/events`` (commands, interactivity and events share one
URL), ``GET /healthz`` (liveness), ``GET /readyz`` (the database answers; ``bot.runtime.health``) and
``GET /metrics`` with **waitress**, a production WSGI server in pure Python. Why waitress
rather than the standard library's ``ThreadingHTTPServer`` wrapped around Bolt's WSGI adapter:

- it reads each request completely on its I/O loop before handing it to a worker thread, so a
  slow or stalled client never holds a thread that an ack needs;
- it runs a fixed pool of threads (``Settings.http_threads``) with a connection limit and a body
  size limit, where ``ThreadingHTTPServer`` starts one unbounded thread per connection and its
  documentation says it is not meant for production;
- it speaks HTTP/1.1 keep-alive properly and has no dependencies.

Slack's signature check (HMAC over the body, 5-minute window) comes first, on the raw bytes
(``bot.runtime.request_gate``): forged, stale or unreadable requests get 401/400 before Bolt
parses anything, and Bolt's first middleware checks again (``bot.slack.edge``). Shutdown
(SIGTERM or Ctrl-C) stops accepting requests, lets admitted runs finish and post, then closes
the database. On start, before serving,
``bot.runtime.recovery`` closes runs a dead process left ``running`` and keeps this instance's heartbeat.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.digest.scheduler import BotScheduler, ScheduleSettings
from bot.runtime.health import READY_PATH, ReadinessProbe, health_body, ready_response, respond_json
from bot.runtime.recovery import Recovery, RecoverySettings
from bot.runtime.request_gate import screen
from bot.runtime.review_deadlines import expire_due, remind_due
from bot.runtime.settings import Settings
from bot.runtime.wiring import SlackRuntime, build_runtime
from bot.slack.verification import SignatureCheck

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
MAX_BODY_BYTES = 4 * 1024 * 1024


def wsgi_app(runtime: SlackRuntime) -> WSGIApplication:
    """Bolt on ``/slack/events``, ``/healthz``, ``/readyz``, Prometheus ``/metrics``, 404 elsewhere."""
    bolt = SlackRequestHandler(runtime.app, path=EVENTS_PATH)
    probe = ReadinessProbe(runtime.core.store.ping)
    instance = runtime.settings.instance_id
    check = SignatureCheck(runtime.settings.signing_secret())

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        probing = environ.get("REQUEST_METHOD") in ("GET", "HEAD")
        if environ.get("PATH_INFO") == HEALTH_PATH and probing:
            return respond_json(start_response, "200 OK", health_body(instance, runtime.pool.in_flight))
        if environ.get("PATH_INFO") == READY_PATH and probing:
            return ready_response(probe, instance, start_response)
        if environ.get("PATH_INFO") == METRICS_PATH and environ.get("REQUEST_METHOD") == "GET":
            data, content_type = runtime.metrics.render()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(data)))])
            return [data]
        if environ.get("PATH_INFO") == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            refusal = screen(environ, check, MAX_BODY_BYTES)
            if refusal is not None:
                status = "401 Unauthorized" if refusal.status == 401 else "400 Bad Request"
                return respond_json(start_response, status, {"error": status[4:].lower()})
        try:
            return bolt(environ, start_response)
        except Exception as exc:  # Bolt parses the body before any check and raises on malformed JSON
            log.warning("malformed Slack request refused", extra={"error": type(exc).__name__})
            return respond_json(start_response, "400 Bad Request", {"error": "malformed request body"})

    return application


class HttpServer:
    """waitress serving ``wsgi`` on ``host:port`` (0 picks a free port) from a background thread."""

    def __init__(
        self, wsgi: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16
    ) -> None:
        self._server: Any = create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            connection_limit=1000,
            max_request_body_size=MAX_BODY_BYTES,
            ident="lanebot",
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self) -> None:
        """Serve in this thread until ``stop`` (or SystemExit/KeyboardInterrupt here)."""
        self._server.run()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.run, name="lanebot-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close connections; safe from any thread.

        The sockets are closed *on the I/O loop's own thread* (through waitress's trigger):
        closing them from here while that thread sits in ``select`` races it into ``EBADF``.
        """
        server = self._server
        server.task_dispatcher.shutdown()
        loop_running = self._thread is not None and self._thread.is_alive()
        if loop_running:
            server.trigger.pull_trigger(lambda: _close_all(server._map))
            assert self._thread is not None
            self._thread.join(timeout=10)
        if server._map:  # the loop was never started here, or did not exit in time
            _close_all(server._map)


def _close_all(channels: dict[int, Any]) -> None:
    """Close every waitress channel (listener, connections, trigger); the loop ends when none are left."""
    while channels:
        for channel in list(channels.values()):
            channel.close()


def serve_http(
    settings: Settings,
    *,
    port: int | None = None,
    host: str | None = None,
    runtime: SlackRuntime | None = None,
    on_ready: Callable[[HttpServer], None] | None = None,
    schedule: bool = True,
    schedule_settings: ScheduleSettings | None = None,
    recovery_settings: RecoverySettings | None = None,
) -> int:
    """``lanebot serve``: blocks until SIGTERM or Ctrl-C; returns an exit code."""
    runtime = runtime or build_runtime(settings, mode="http")
    recovery = start_recovery(runtime, recovery_settings)
    server = HttpServer(
        wsgi_app(runtime),
        host=host or settings.host,
        port=settings.port if port is None else port,
        threads=settings.http_threads,
    )
    scheduler = build_scheduler(runtime, schedule_settings) if schedule else None
    _exit_on_sigterm()
    log.info("serving Slack events over HTTP", extra={"port": server.port, "path": EVENTS_PATH})
    if on_ready is not None:
        on_ready(server)
    try:
        if scheduler is not None:
            scheduler.start()
        server.run()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        recovery.stop()
        runtime.close()
    return 0


def serve_socket(settings: Settings, *, runtime: SlackRuntime | None = None, schedule: bool = True) -> int:
    """``lanebot socket``: Socket Mode with ``SLACK_APP_TOKEN``; no public URL needed."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app_token = settings.app_token()
    runtime = runtime or build_runtime(settings, mode="socket")
    recovery = start_recovery(runtime)
    handler = SocketModeHandler(runtime.app, app_token=app_token)
    scheduler = build_scheduler(runtime) if schedule else None
    _exit_on_sigterm()
    log.info("connecting to Slack in Socket Mode")
    try:
        if scheduler is not None:
            scheduler.start()
        handler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        handler.close()
        recovery.stop()
        runtime.close()
    return 0


def start_recovery(runtime: SlackRuntime, settings: RecoverySettings | None = None) -> Recovery:
    """Close what a dead process left behind before serving, then keep beating (``bot.runtime.recovery``)."""
    core = runtime.core
    recovery = Recovery(
        core.store, runtime.client, core.config, runtime.settings.instance_id, settings=settings
    )
    report = recovery.on_start()
    if report.interrupted or report.delivered:
        log.warning(
            "recovered on start",
            extra={"interrupted": list(report.interrupted), "delivered": list(report.delivered)},
        )
    recovery.start()
    return recovery


def build_scheduler(runtime: SlackRuntime, settings: ScheduleSettings | None = None) -> BotScheduler:
    """The clock-driven jobs (weekly digest, review reminders, expiry sweep) for this instance."""
    store, client, config = runtime.core.store, runtime.client, runtime.core.config
    return BotScheduler(
        store=store,
        client=client,
        config=config,
        instance=runtime.settings.instance_id,
        reminders=lambda now: remind_due(store, client, config, now),
        expiry_sweep=lambda now: expire_due(store, client, config, now),
        settings=settings,
    )


def _exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so admitted runs finish and the database closes cleanly."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_exit)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(0)
