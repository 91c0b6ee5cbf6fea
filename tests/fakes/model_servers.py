"""A loopback model server that speaks the real OpenAI Chat Completions and Anthropic Messages
wire protocols, scripted per model name, so tests drive the real SDK clients over real HTTP.

    with ModelServer() as server:
        server.script("gpt-5-mini", Ok("hi", model_answered="gpt-5-mini-2025-08-07"), Status(503))
        server.always("claude-sonnet-4-6", Delay(5))        # every call, once the script is used up
        env = server.env()                                   # OPENAI_/ANTHROPIC_ API keys + base URLs
        config = server.retarget(load_config("lanes.toml"))  # openai_compatible tiers point here too
        ...
        assert len(server.requests_for("gpt-5-mini")) == 2   # e.g. proves max_retries=0
        assert server.requests[0].api_key == TEST_OPENAI_KEY

Routes: ``POST /v1/chat/completions`` (and ``/chat/completions``) answer as OpenAI,
``POST /v1/messages`` as Anthropic. Bodies mirror the real ones: ids, model, usage,
``finish_reason`` / ``stop_reason``, and each provider's error envelope
(OpenAI ``{"error": {"message", "type", "param", "code"}}``, Anthropic
``{"type": "error", "error": {"type", "message"}}``).

Which behaviour answers a request for model ``m``: the next scripted one for ``m``, else the next
scripted for ``ANY``, else the standing rule for ``m`` (``always``), else for ``ANY``, else
``Ok()`` with a deterministic text. Every request is recorded before it is answered (so a hung
one is visible too). ``close()`` wakes hung and delayed handlers and shuts every connection, so
the server stops at once and leaves no thread behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol

from lanes.config import LanesConfig

log = logging.getLogger(__name__)

ANY = "*"
"""Script key matching every model."""
TEST_OPENAI_KEY = "sk-test-openai-0123456789"
TEST_ANTHROPIC_KEY = "sk-ant-test-0123456789"
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z: fixed, so bodies are deterministic

WireName = Literal["openai", "anthropic"]
_ROUTES: Mapping[str, WireName] = {
    "/v1/chat/completions": "openai",
    "/chat/completions": "openai",
    "/v1/messages": "anthropic",
}


# --- what the server saw ------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived: path, lower-cased headers, parsed JSON body."""

    method: str
    path: str
    wire: WireName | None
    headers: Mapping[str, str]
    body: Any

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def api_key(self) -> str | None:
        """The key sent as ``x-api-key`` or ``Authorization: Bearer``."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    @property
    def prompt(self) -> str:
        """The text of the last user message."""
        messages = self.body.get("messages", []) if isinstance(self.body, dict) else []
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return _text_of(users[-1].get("content")) if users else ""

    @property
    def system(self) -> str:
        """The system prompt (Anthropic ``system`` field or OpenAI system message)."""
        if not isinstance(self.body, dict):
            return ""
        if "system" in self.body:
            return _text_of(self.body["system"])
        systems = [m for m in self.body.get("messages", []) if m.get("role") in ("system", "developer")]
        return "\n".join(_text_of(m.get("content")) for m in systems)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


# --- behaviours -----------------------------------------------------------------------------------
class Behaviour(Protocol):
    """What the server does with one request."""

    def act(self, exchange: Exchange) -> None: ...


@dataclass(frozen=True)
class Ok:
    """A normal answer. ``model_answered`` defaults to the model asked; tokens default to len/4."""

    text: str | None = None
    model_answered: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None

    def act(self, exchange: Exchange) -> None:
        text = self.text if self.text is not None else f"Test answer from {exchange.request.model}."
        exchange.answer(text, self)


@dataclass(frozen=True)
class Json:
    """An answer whose text is ``obj`` as JSON."""

    obj: Any
    model_answered: str | None = None

    def act(self, exchange: Exchange) -> None:
        Ok(json.dumps(self.obj), model_answered=self.model_answered).act(exchange)


@dataclass(frozen=True)
class Echo:
    """An answer that repeats the user prompt."""

    model_answered: str | None = None

    def act(self, exchange: Exchange) -> None:
        Ok(exchange.request.prompt, model_answered=self.model_answered).act(exchange)


@dataclass(frozen=True)
class Empty:
    """HTTP 200 with empty content (OpenAI ``content: ""``, Anthropic ``content: []``)."""

    def act(self, exchange: Exchange) -> None:
        exchange.answer("", Ok(output_tokens=0))


@dataclass(frozen=True)
class Delay:
    """Sleep ``seconds`` (to trip a client timeout), then behave as ``then``."""

    seconds: float
    then: Behaviour = field(default_factory=Ok)

    def act(self, exchange: Exchange) -> None:
        if exchange.wait(self.seconds):
            self.then.act(exchange)


@dataclass(frozen=True)
class Gate:
    """Hold the request until the test sets ``event`` (or the server stops), then behave as ``then``;
    for tests that need calls in flight at a known moment (worker pools, queue limits)."""

    event: threading.Event
    then: Behaviour = field(default_factory=Ok)

    def act(self, exchange: Exchange) -> None:
        if exchange.wait_for(self.event):
            self.then.act(exchange)


@dataclass(frozen=True)
class Dynamic:
    """Pick the behaviour from the request itself, e.g. by prompt keyword."""

    choose: Callable[[RecordedRequest], Behaviour]

    def act(self, exchange: Exchange) -> None:
        self.choose(exchange.request).act(exchange)


@dataclass(frozen=True)
class Hang:
    """Never answer; the connection is closed when the server stops."""

    def act(self, exchange: Exchange) -> None:
        exchange.wait(None)
        exchange.drop()


@dataclass(frozen=True)
class Reset:
    """Abort the connection with a TCP reset before any response byte."""

    def act(self, exchange: Exchange) -> None:
        exchange.reset()


@dataclass(frozen=True)
class Status:
    """An HTTP error with the provider's error envelope; ``retry_after`` sets Retry-After."""

    code: int
    message: str | None = None
    retry_after: str | float | None = None
    error_type: str | None = None
    error_code: str | None = None

    def act(self, exchange: Exchange) -> None:
        headers = {"retry-after": _header_value(self.retry_after)} if self.retry_after is not None else {}
        exchange.error(
            self.code, self.message, error_type=self.error_type, error_code=self.error_code, headers=headers
        )


@dataclass(frozen=True)
class ContextLength:
    """The input is over the model's window (OpenAI ``context_length_exceeded``, Anthropic
    ``prompt is too long``)."""

    def act(self, exchange: Exchange) -> None:
        exchange.context_length()


@dataclass(frozen=True)
class ContentPolicy:
    """A policy refusal: OpenAI 400 ``content_policy_violation``; Anthropic 200 with
    ``stop_reason: "refusal"`` and ``stop_details`` (what the Messages API really does)."""

    reason: str = "The request was flagged by the safety system."
    category: str | None = None

    def act(self, exchange: Exchange) -> None:
        exchange.content_policy(self.reason, self.category)


@dataclass(frozen=True)
class Malformed:
    """HTTP 200 whose body is not the answer the wire protocol promises: JSON cut off mid-way by
    default, or any ``body`` (text that is not JSON, JSON of the wrong shape) as ``content_type``."""

    body: str = (
        '{"id": "resp_cut", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Half'
    )
    content_type: str = "application/json"

    def act(self, exchange: Exchange) -> None:
        exchange.send_raw(200, self.body.encode(), self.content_type)


@dataclass(frozen=True)
class Auth:
    """HTTP 401 for a bad key."""

    def act(self, exchange: Exchange) -> None:
        exchange.error(401, None)


def _header_value(value: str | float) -> str:
    return f"{value:g}" if isinstance(value, float | int) else str(value)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


# --- the two wire protocols -----------------------------------------------------------------------
_OPENAI_ERRORS: Mapping[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: {masked}. You can find "
        "your API key at https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for {model} in organization org-test on "
        "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
    ),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}
_ANTHROPIC_ERRORS: Mapping[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def _openai_error(
    status: int, message: str | None, error_type: str | None, code: str | None, request: RecordedRequest
) -> dict[str, Any]:
    default_type, default_code, default_message = _OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
    )
    key = request.api_key or ""
    masked = f"{key[:5]}****{key[-4:]}" if len(key) > 9 else "****"
    text = message or default_message.format(model=request.model, masked=masked)
    return {
        "error": {
            "message": text,
            "type": error_type or default_type,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


def _anthropic_error(
    status: int, message: str | None, error_type: str | None, request_id: str, request: RecordedRequest
) -> dict[str, Any]:
    default_type, default_message = _ANTHROPIC_ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", f"HTTP {status}")
    )
    text = message or default_message.format(model=request.model)
    return {
        "type": "error",
        "error": {"type": error_type or default_type, "message": text},
        "request_id": request_id,
    }


def _openai_answer(
    response_id: str, model: str, text: str, finish: str, usage: tuple[int, int], refusal: str | None = None
) -> dict[str, Any]:
    prompt_tokens, completion_tokens = usage
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _anthropic_answer(
    response_id: str,
    model: str,
    text: str,
    stop: str,
    usage: tuple[int, int],
    stop_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    input_tokens, output_tokens = usage
    return {
        "id": response_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": stop,
        "stop_sequence": None,
        "stop_details": stop_details,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        },
    }


# --- one request/response -------------------------------------------------------------------------
class Exchange:
    """One request being answered; behaviours speak through it, in the request's own protocol."""

    def __init__(self, handler: _Handler, request: RecordedRequest, serial: int) -> None:
        self._handler = handler
        self.request = request
        self._serial = serial

    def _id(self, prefix: str, length: int) -> str:
        digest = hashlib.sha256(f"{self._serial}:{self.request.model}".encode()).hexdigest()
        return prefix + digest[:length]

    def wait(self, seconds: float | None) -> bool:
        """Sleep, waking early when the server stops; True if the server is still running."""
        return not self._handler.server.stopping.wait(seconds)

    def wait_for(self, event: threading.Event) -> bool:
        """Block until ``event`` is set; False if the server stopped first."""
        stopping = self._handler.server.stopping
        while not event.wait(0.01):
            if stopping.is_set():
                return False
        return not stopping.is_set()

    def answer(self, text: str, ok: Ok) -> None:
        model = ok.model_answered or self.request.model or "unknown"
        usage = (
            ok.input_tokens
            if ok.input_tokens is not None
            else _tokens(self.request.system + self.request.prompt),
            ok.output_tokens if ok.output_tokens is not None else _tokens(text),
        )
        if self.request.wire == "anthropic":
            body = _anthropic_answer(
                self._id("msg_01", 22), model, text, ok.finish_reason or "end_turn", usage
            )
        else:
            body = _openai_answer(self._id("chatcmpl-", 29), model, text, ok.finish_reason or "stop", usage)
        self.send(200, body)

    def error(
        self,
        status: int,
        message: str | None,
        *,
        error_type: str | None = None,
        error_code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if self.request.wire == "anthropic":
            body = _anthropic_error(status, message, error_type, self._id("req_", 24), self.request)
        else:
            body = _openai_error(status, message, error_type, error_code, self.request)
        self.send(status, body, headers)

    def context_length(self) -> None:
        if self.request.wire == "anthropic":
            self.error(400, "prompt is too long: 208317 tokens > 200000 maximum")
        else:
            self.error(
                400,
                "This model's maximum context length is 128000 tokens. However, your messages "
                "resulted in 131072 tokens. Please reduce the length of the messages.",
                error_code="context_length_exceeded",
            )

    def content_policy(self, reason: str, category: str | None) -> None:
        if self.request.wire == "anthropic":
            details = {"type": "refusal", "category": category, "explanation": reason}
            usage = (_tokens(self.request.system + self.request.prompt), 1)
            self.send(
                200,
                _anthropic_answer(
                    self._id("msg_01", 22), self.request.model or "unknown", "", "refusal", usage, details
                ),
            )
        else:
            self.error(400, reason, error_code="content_policy_violation")

    def send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self._handler.send_body(status, body, {**self._request_id_header(), **(headers or {})})

    def send_raw(self, status: int, data: bytes, content_type: str) -> None:
        """Send ``data`` as it is, whatever it is (for bodies no SDK can parse)."""
        self._handler.send_bytes(status, data, content_type, self._request_id_header())

    def _request_id_header(self) -> dict[str, str]:
        name = "request-id" if self.request.wire == "anthropic" else "x-request-id"
        return {name: self._id("req_", 24)}

    def drop(self) -> None:
        """Close without answering."""
        self._handler.close_connection = True

    def reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees "connection reset by peer"."""
        self._handler.abort()


# --- the HTTP plumbing ----------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() joins handler threads itself, with a bound
    request_queue_size = 128  # bench tests open many connections at once

    def __init__(self, owner: ModelServer) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.handler_threads: set[threading.Thread] = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("model server: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections.add(self.connection)
            self.server.handler_threads.add(threading.current_thread())

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass
        finally:
            with self.server.lock:
                self.server.connections.discard(self.connection)
                self.server.handler_threads.discard(threading.current_thread())

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("model server: " + format, *args)

    def do_POST(self) -> None:
        body = self._read_json()
        wire = _ROUTES.get(self.path.split("?")[0])
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = RecordedRequest("POST", self.path, wire, headers, body)
        serial = self.server.owner._record(request)
        exchange = Exchange(self, request, serial)
        try:
            self.server.owner._respond(exchange)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired first)

    def do_GET(self) -> None:
        self.send_body(
            404,
            {
                "error": {
                    "message": f"Unknown path {self.path}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "unknown_url",
                }
            },
        )

    def _read_json(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return raw.decode("utf-8", "replace")

    def send_body(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def send_bytes(
        self, status: int, data: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def abort(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drop the makefile reference so close() really closes the socket
        self.connection.close()


# --- the public object ----------------------------------------------------------------------------
class ModelServer:
    """A scripted OpenAI + Anthropic endpoint on 127.0.0.1 (an ephemeral port); a context manager."""

    def __init__(self, *, api_key: str | None = None) -> None:
        """``api_key``: when set, requests carrying another key get the provider's 401."""
        self._required_key = api_key
        self._lock = threading.Condition()
        self._queues: dict[str, deque[Behaviour]] = {}
        self._standing: dict[str, Behaviour] = {}
        self._requests: list[RecordedRequest] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="model-server", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop now: wake hung handlers, shut every connection, join every thread (bounded)."""
        httpd = self._httpd
        if httpd is None:
            return
        httpd.stopping.set()
        httpd.shutdown()
        with httpd.lock:
            connections, threads = list(httpd.connections), list(httpd.handler_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        for thread in [self._thread, *threads]:
            if thread is not None:
                thread.join(timeout=2)
        self._httpd = None

    # addresses
    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the server first (use it as a context manager)"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For ``openai.OpenAI(base_url=...)``, ``OPENAI_BASE_URL`` and openai_compatible ``base_url``."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For ``anthropic.Anthropic(base_url=...)`` and ``ANTHROPIC_BASE_URL`` (the SDK adds /v1)."""
        return self.base_url

    def env(
        self, *, openai_key: str | None = TEST_OPENAI_KEY, anthropic_key: str | None = TEST_ANTHROPIC_KEY
    ) -> dict[str, str]:
        """Environment for ``build_providers`` that sends openai and anthropic tiers here."""
        env = {"OPENAI_BASE_URL": self.openai_base_url, "ANTHROPIC_BASE_URL": self.anthropic_base_url}
        if openai_key is not None:
            env["OPENAI_API_KEY"] = openai_key
        if anthropic_key is not None:
            env["ANTHROPIC_API_KEY"] = anthropic_key
        return env

    def retarget(self, config: LanesConfig) -> LanesConfig:
        """``config`` with every openai_compatible tier's ``base_url`` pointed at this server."""
        models = {
            tier: spec.model_copy(update={"base_url": self.openai_base_url})
            if spec.provider == "openai_compatible"
            else spec
            for tier, spec in config.models.items()
        }
        return config.model_copy(update={"models": models})

    # scripting
    def script(self, model: str, *behaviours: Behaviour) -> None:
        """Queue one-shot behaviours for ``model`` (or ``ANY``), used in order."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(behaviours)

    def always(self, model: str, behaviour: Behaviour) -> None:
        """The standing behaviour for ``model`` (or ``ANY``) once its script is used up."""
        with self._lock:
            self._standing[model] = behaviour

    def clear(self) -> None:
        """Forget scripts, standing rules and recorded requests."""
        with self._lock:
            self._queues.clear()
            self._standing.clear()
            self._requests.clear()

    # what arrived
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.model == model]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; raises ``TimeoutError`` otherwise."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"expected {count} requests, got {len(self._requests)}")
            return list(self._requests)

    # called by handler threads
    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
            return len(self._requests)

    def _respond(self, exchange: Exchange) -> None:
        request = exchange.request
        problem = self._invalid(request)
        if problem is not None:
            exchange.error(*problem)
            return
        self._next_behaviour(request.model or "").act(exchange)

    def _invalid(self, request: RecordedRequest) -> tuple[int, str | None] | None:
        if request.wire is None:
            return 404, f"Unknown request URL: POST {request.path}."
        if self._required_key is not None and request.api_key != self._required_key:
            return 401, None
        if not isinstance(request.body, dict) or not request.body.get("model"):
            return 400, "model: Field required"
        if not request.body.get("messages"):
            return 400, "messages: Field required"
        if request.wire == "anthropic" and "max_tokens" not in request.body:
            return 400, "max_tokens: Field required"
        if request.body.get("stream"):
            return 400, "stream: this test server answers without streaming"
        return None

    def _next_behaviour(self, model: str) -> Behaviour:
        with self._lock:
            for key in (model, ANY):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return self._standing.get(model) or self._standing.get(ANY) or Ok()
