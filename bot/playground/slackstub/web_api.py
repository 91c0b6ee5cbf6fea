"""A loopback HTTP server that speaks the Slack Web API well enough to fool slack_sdk and Bolt.

Three kinds of URL, all on one port so a test needs one server:

    POST /api/<method>          Web API (JSON, form or multipart bodies; Bearer token checked)
    POST /upload/v1/<file_id>   where files.getUploadURLExternal sends the bytes
    POST /response/<id>         response_url endpoints used by Bolt's ``respond()``

slack_sdk posts chat.*/views.* as JSON and everything else (including "GET" methods such as
users.info) as a form-encoded POST, so both are accepted for every method. Faults are injected at the
edge, before authentication, the way Slack's rate limiter and outages hit a bot: ``fail_next`` queues
an error (with an HTTP status and Retry-After) for the next call of one method, ``set_down`` makes
every request a 503. Every request is recorded in the workspace, faulted or not, so a test can count
how often slack_sdk retried.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.playground.slackstub.methods import METHODS, Call
from bot.playground.slackstub.models import ApiCall, JsonDict, StubError
from bot.playground.slackstub.validation import check_message, decode_json_param
from bot.playground.slackstub.workspace import Workspace

logger = logging.getLogger(__name__)

UPLOAD = "upload"
RESPONSE_URL = "response_url"


@dataclass(frozen=True)
class Fault:
    """What the next call of a method gets instead of its real answer."""

    error: str
    status: int = 200
    retry_after: int | None = None
    delay: float = 0.0


class SlackStubServer:
    """Serves a ``Workspace`` over HTTP on 127.0.0.1 (port 0 = any free port); a context manager."""

    def __init__(self, workspace: Workspace | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace if workspace is not None else Workspace()
        self._address = (host, port)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: dict[str, deque[Fault]] = {}
        self._faults_lock = threading.Lock()
        self._down = False

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> SlackStubServer:
        if self._httpd is not None:
            return self
        self._httpd = _HttpServer(self._address, _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="slackstub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> SlackStubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("SlackStubServer is not running: call start() or use it in a with block")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._address[0]}:{self.port}"

    @property
    def api_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``: slack_sdk joins method names onto it."""
        return f"{self.base_url}/api/"

    def response_url(self, url_id: str) -> str:
        return f"{self.base_url}/response/{url_id}"

    # ---- fault injection ---------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str | None = None,
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail. ``status=429`` defaults to ``ratelimited``.

        ``method`` is a Web API method name, or ``"upload"`` / ``"response_url"`` for those endpoints.
        """
        code = error or (
            "ratelimited" if status == 429 else "internal_error" if status >= 500 else "fatal_error"
        )
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._faults_lock:
            queue = self._faults.setdefault(method, deque())
            queue.extend(Fault(code, status, retry_after, delay) for _ in range(times))

    def set_down(self, down: bool = True) -> None:
        """While down, every request gets HTTP 503, as during a Slack outage."""
        self._down = down

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._faults.clear()
        self._down = False

    def take_fault(self, method: str) -> Fault | None:
        if self._down:
            return Fault("service_unavailable", 503)
        with self._faults_lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    # ---- request handling (called on the server's threads) ----------------------------------------

    def handle_api(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, JsonDict, Fault | None]:
        fault = self.take_fault(method)
        if fault is not None:
            return fault.status, {"ok": False, "error": fault.error}, fault
        status, body = 200, self._run_method(method, params, token)
        return status, body, None

    def _run_method(self, method: str, params: dict[str, Any], token: str | None) -> JsonDict:
        ws = self.workspace
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != ws.bot_token:
            return {"ok": False, "error": "invalid_auth"}
        handler = METHODS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            return handler(Call(ws, params, self.base_url))
        except StubError as e:
            return _error_body(e)
        except (ValueError, TypeError, KeyError) as e:
            logger.warning("slackstub: malformed arguments", extra={"method": method, "error": str(e)})
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [str(e)]}}

    def handle_response_url(self, url_id: str, payload: JsonDict) -> tuple[int, str]:
        try:
            blocks = decode_json_param(payload.get("blocks"), error="invalid_blocks")
            if blocks is not None:
                payload = {**payload, "blocks": blocks}
            check_message(payload.get("text"), blocks)
            self.workspace.responses.respond(url_id, payload)
        except StubError as e:
            return (e.status if e.status != 200 else 400), e.code
        return 200, "ok"

    def handle_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        try:
            received = self.workspace.files.receive(file_id, content)
        except StubError as e:
            return (e.status if e.status != 200 else 404), e.code
        return 200, f"OK - {len(received.content or b'')}"


def _error_body(error: StubError) -> JsonDict:
    body: JsonDict = {"ok": False, "error": error.code}
    if error.messages:
        body["response_metadata"] = {"messages": error.messages}
        if error.code == "invalid_blocks":
            body["errors"] = error.messages
    return body


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent calls must not wait for a SYN retry
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], stub: SlackStubServer
    ):
        self.stub = stub
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "slackstub/1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("slackstub %s", format % args)

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            if path.startswith("/api/"):
                self._api(path.removeprefix("/api/"))
            elif path.startswith("/upload/v1/"):
                self._upload(path.removeprefix("/upload/v1/"))
            elif path.startswith("/response/"):
                self._response_url(path.removeprefix("/response/"))
            else:
                self._send(404, "text/plain", b"not found: the stub serves /api/, /upload/v1/ and /response/")
        except StubError as e:
            self._send_json(200, _error_body(e))
        except Exception:
            logger.exception("slackstub: request failed", extra={"path": path})
            self._send_json(500, {"ok": False, "error": "internal_error"})

    # ---- the three endpoints -----------------------------------------------------------------------

    def _api(self, method: str) -> None:
        params = self._params()
        token = _bearer(self.headers.get("Authorization")) or params.pop("token", None)
        stub = self.server.stub
        status, body, fault = stub.handle_api(method, params, token)
        stub.workspace.record_call(
            ApiCall(
                method, params, stub.workspace.clock(), status, None if body.get("ok") else body.get("error")
            )
        )
        headers = {"X-OAuth-Scopes": ",".join(stub.workspace.bot_scopes)} if body.get("ok") else {}
        if fault is not None:
            time.sleep(fault.delay)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        self._send_json(status, body, headers)

    def _upload(self, file_id: str) -> None:
        content = self._body()
        stub = self.server.stub
        fault = stub.take_fault(UPLOAD)
        status, text = (fault.status, fault.error) if fault else stub.handle_upload(file_id, content)
        stub.workspace.record_call(
            ApiCall(UPLOAD, {"file_id": file_id, "bytes": len(content)}, stub.workspace.clock(), status)
        )
        self._send(status, "text/plain; charset=utf-8", text.encode())

    def _response_url(self, url_id: str) -> None:
        payload = self._params()
        stub = self.server.stub
        fault = stub.take_fault(RESPONSE_URL)
        status, text = (fault.status, fault.error) if fault else stub.handle_response_url(url_id, payload)
        error = None if status == 200 else text
        stub.workspace.record_call(
            ApiCall(RESPONSE_URL, {"url_id": url_id, **payload}, stub.workspace.clock(), status, error)
        )
        self._send(status, "text/html", text.encode())

    # ---- plumbing ----------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _params(self) -> dict[str, Any]:
        """Query string and body merged; the body wins, as with Slack."""
        params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query))
        params.update(_decode_body(self._body(), self.headers.get("Content-Type", "")))
        return params

    def _send_json(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(body).encode(), headers)

    def _send(self, status: int, ctype: str, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def _decode_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            decoded = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise StubError("invalid_json", str(e)) from e
        return decoded if isinstance(decoded, dict) else {}
    if ctype == "multipart/form-data":
        return _decode_multipart(body, content_type)
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def _decode_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[str(name)] = data if part.get_filename() else data.decode("utf-8")
    return fields
