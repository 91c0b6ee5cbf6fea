"""Serve a Bolt app over real HTTP on a loopback port, through Bolt's own WSGI adapter.

``app.dispatch`` skips the HTTP layer; this does not: requests go through
``slack_bolt.adapter.wsgi.SlackRequestHandler`` exactly as under gunicorn, so header casing, body
bytes and status codes are what production sees. Threaded, because Bolt listeners call back into the
stub (and a playground may send a click while a command is still being acknowledged).
"""

from __future__ import annotations

import logging
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

logger = logging.getLogger(__name__)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128
    block_on_close = False


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("bolt http %s", format % args)


class BoltHttpServer:
    """``with BoltHttpServer(app) as srv: srv.url`` → ``http://127.0.0.1:PORT/slack/events``."""

    def __init__(
        self, app: App, *, path: str = "/slack/events", host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._handler = SlackRequestHandler(app, path=path)
        self._path = path
        self._address = (host, port)
        self._httpd: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> BoltHttpServer:
        host, port = self._address
        self._httpd = make_server(
            host, port, self._handler, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="bolt-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd, self._thread = None, None

    def __enter__(self) -> BoltHttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("BoltHttpServer is not running: call start() or use it in a with block")
        return f"http://{self._address[0]}:{self._httpd.server_address[1]}{self._path}"
