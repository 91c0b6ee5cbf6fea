"""The playground page's HTTP server: three static files and the small JSON API under ``/ui/``.

    GET  /                    the page (static/index.html, app.js, app.css under /static/)
    GET  /ui/bootstrap        people, roles, personas, commands, model mode
    GET  /ui/state?since=V    the workspace once its version passes V (long-poll, at most 25 s)
    GET  /ui/files/<id>       an uploaded file's bytes (the digest chart)
    POST /ui/connect          a page load: the modals a previous page left open are closed
    POST /ui/command|click|submit|close|digest

It listens on 127.0.0.1 only, and because it can spend model credits on behalf of whoever reaches
it, it refuses two tricks a web page elsewhere could play on a browser: a ``Host`` header other
than this address (DNS rebinding) and a POST that is not ``application/json`` (a cross-site form
post; JSON needs a CORS preflight, which is never granted). Threaded, because the page holds one
long-poll open while it sends clicks.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.playground.api import PlaygroundApi, Reply

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
MAX_BODY_BYTES = 1_000_000
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


class UiServer:
    """Binds at construction (so a busy port fails before anything else starts); ``start(api)`` serves."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _HttpServer((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, api: PlaygroundApi) -> UiServer:
        self._httpd.api = api
        self._httpd.allowed_hosts = frozenset(f"{name}:{self.port}" for name in LOCAL_NAMES)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="playground-ui", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    """SO_REUSEADDR: a playground restarted right after stopping binds at once, although the page's
    closed connections still hold the port in TIME-WAIT (~60 s). It does not let two listeners share
    a port (that is SO_REUSEPORT): a second playground on a busy port still fails."""
    api: PlaygroundApi | None = None
    allowed_hosts: frozenset[str] = frozenset()


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "lanebot-playground/1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("playground http %s", format % args)

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _guarded(self, handle: Any) -> None:
        if self.headers.get("Host", "") not in self.server.allowed_hosts:
            self._send(403, "text/plain; charset=utf-8", b"the playground answers on 127.0.0.1 only")
            return
        try:
            handle(urlsplit(self.path))
        except (BrokenPipeError, ConnectionResetError):
            log.debug("the page went away before its answer", extra={"path": self.path})
        except Exception:
            log.exception("playground request failed", extra={"path": self.path})
            self._json(500, {"ok": False, "error": "internal error in the playground; see its log"})

    def _get(self, url: Any) -> None:
        api = self._api()
        path = url.path
        if path in ("/", "/index.html"):
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path.removeprefix("/static/"))
        elif path == "/ui/bootstrap":
            self._json(*api.bootstrap())
        elif path == "/ui/state":
            query = parse_qs(url.query)
            self._json(*api.state(_int(query.get("since"), -1), _float(query.get("timeout"), 20.0)))
        elif path.startswith("/ui/files/"):
            found = api.file(path.removeprefix("/ui/files/"))
            if found is None:
                self._json(404, {"ok": False, "error": "no such file"})
            else:  # a file's bytes never change: let the page keep it across re-renders
                self._send(200, found[1], found[0], cache="private, max-age=86400, immutable")
        elif path == "/favicon.ico":
            self._send(204, "text/plain", b"")
        else:
            self._json(404, {"ok": False, "error": f"no page at {path}"})

    def _post(self, url: Any) -> None:
        api = self._api()
        routes = {
            "/ui/connect": api.connect,
            "/ui/command": api.command,
            "/ui/click": api.click,
            "/ui/submit": api.submit,
            "/ui/close": api.close,
            "/ui/digest": api.digest,
        }
        route = routes.get(url.path)
        if route is None:
            self._json(404, {"ok": False, "error": f"no endpoint at {url.path}"})
            return
        body = self._body()
        if isinstance(body, tuple):
            self._json(*body)
            return
        self._json(*route(body))

    def _body(self) -> dict[str, Any] | Reply:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        length = int(self.headers.get("Content-Length") or 0)
        if ctype != "application/json":
            return 415, {"ok": False, "error": "send JSON (Content-Type: application/json)"}
        if length > MAX_BODY_BYTES:
            return 413, {"ok": False, "error": f"request body over {MAX_BODY_BYTES} bytes"}
        try:
            decoded = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            return 400, {"ok": False, "error": f"invalid JSON: {exc}"}
        if not isinstance(decoded, dict):
            return 400, {"ok": False, "error": "send a JSON object"}
        return decoded

    def _api(self) -> PlaygroundApi:
        if self.server.api is None:
            raise RuntimeError("UiServer.start(api) was not called")
        return self.server.api

    def _static(self, name: str) -> None:
        if name not in STATIC_FILES:
            self._json(404, {"ok": False, "error": f"no static file {name}"})
            return
        self._send(200, STATIC_FILES[name], (STATIC_DIR / name).read_bytes())

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(body).encode())

    def _send(self, status: int, ctype: str, data: bytes, *, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _int(values: list[str] | None, default: int) -> int:
    try:
        return int(values[0]) if values else default
    except ValueError:
        return default


def _float(values: list[str] | None, default: float) -> float:
    try:
        return float(values[0]) if values else default
    except ValueError:
        return default
