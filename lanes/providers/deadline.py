"""One deadline for a whole model call: connect, send, and every byte of the answer.

The SDKs' ``timeout`` is httpx's, a limit on each socket operation. A server that drips its
answer one byte at a time never trips it, so a tier with ``timeout_s = 3`` could hold a worker
for as long as the server cares to drip. ``timeout_s`` is a promise about the whole call (the
recovery bounds and the worker pool are sized on it), so it is enforced here, below the SDK:

- ``deadline(seconds)`` sets a monotonic deadline for the calls made inside it (a ``ContextVar``,
  so other threads' calls are untouched and a pooled connection obeys whichever call uses it);
- ``http_client()`` builds the ``httpx2.Client`` the SDKs are given: its connection pools use a
  network backend whose every connect, read and write waits at most until the deadline, and
  which raises httpcore2's timeout once it has passed. httpx turns that into its ``ReadTimeout``
  and the SDKs into their ``APITimeoutError``, mapped like any timeout (reason ``timeout``).

Only public httpcore2 interfaces are used (``NetworkBackend``, ``ConnectionPool``); the transport
repeats the few lines of httpx's own that turn an httpx request into an httpcore one. Proxies
from the environment (``HTTPS_PROXY``, ``NO_PROXY``...) are honoured as httpx honours them, since
a client given its own transport would otherwise ignore them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2

_DEADLINE: ContextVar[float | None] = ContextVar("lanebot_model_call_deadline", default=None)

LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
"""The SDKs' own defaults: a worker pool's calls share one client per provider."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every HTTP operation inside the block ends by ``seconds`` from now (monotonic)."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _budget(timeout: float | None, expired: type[httpcore2.TimeoutException]) -> float | None:
    """The per-operation timeout, cut to what is left of the deadline; ``expired`` once it passed."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise expired("the model call's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _budget(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _budget(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        budget = _budget(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, budget))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        budget = _budget(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, budget, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        budget = _budget(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, budget, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# httpcore's exceptions as httpx's (the SDKs catch httpx's), most specific first.
_MAPPED: tuple[tuple[type[Exception], type[httpx2.HTTPError]], ...] = (
    (httpcore2.ConnectTimeout, httpx2.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx2.ReadTimeout),
    (httpcore2.WriteTimeout, httpx2.WriteTimeout),
    (httpcore2.PoolTimeout, httpx2.PoolTimeout),
    (httpcore2.TimeoutException, httpx2.TimeoutException),
    (httpcore2.ConnectError, httpx2.ConnectError),
    (httpcore2.ReadError, httpx2.ReadError),
    (httpcore2.WriteError, httpx2.WriteError),
    (httpcore2.NetworkError, httpx2.NetworkError),
    (httpcore2.ProxyError, httpx2.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx2.UnsupportedProtocol),
    (httpcore2.RemoteProtocolError, httpx2.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx2.LocalProtocolError),
    (httpcore2.ProtocolError, httpx2.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _MAPPED:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx2.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx2.BaseTransport):
    """httpx's default transport, on a connection pool whose sockets obey ``deadline``."""

    def __init__(self, *, proxy_url: str | None = None, limits: httpx2.Limits = LIMITS) -> None:
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            proxy=httpcore2.Proxy(proxy_url) if proxy_url else None,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.SyncByteStream)
        url = httpcore2.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        )
        core_request = httpcore2.Request(
            method=request.method,
            url=url,
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def http_client(timeout_s: float) -> httpx2.Client:
    """The client to give an SDK (``http_client=``): its default transport and its proxies' obey
    ``deadline``; redirects are followed, as the SDKs' own clients do."""
    mounts: dict[str, httpx2.BaseTransport | None] = {
        pattern: DeadlineTransport(proxy_url=url) if url else None
        for pattern, url in _environment_proxies().items()
    }
    return httpx2.Client(
        transport=DeadlineTransport(), mounts=mounts, timeout=timeout_s, follow_redirects=True
    )


def _environment_proxies() -> dict[str, str | None]:
    """URL pattern -> proxy URL (``None``: go direct), read from the environment as httpx reads it."""
    try:
        from httpx2._utils import get_environment_proxies
    except ImportError:  # pragma: no cover - only if httpx2 moves its helper
        return {}
    return {pattern: url for pattern, url in get_environment_proxies().items() if _http_proxy(url)}


def _http_proxy(url: str | None) -> bool:
    return url is None or url.startswith(("http://", "https://"))
