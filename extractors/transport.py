"""An httpx transport whose every TCP connection passes the address guard.

Contract: `GuardedTransport(policy, ...)` is an `httpx.BaseTransport` (httpx's interface for
custom transports) that sends each request through an `httpcore.ConnectionPool` built with
`GuardedBackend` as its network backend: one pool for http, one for https (its TLS context
made on first use). For each new connection the backend resolves the host
itself, checks every resolved address with the `AddressPolicy` (refusing the host if
any address is blocked), connects to a checked IP, and checks the peer address of the
connected socket again. The URL, the Host header and TLS SNI/certificate checks keep
the host name, since httpcore passes the origin host name to `start_tls`.
Every connect/read/write timeout is clamped to the thread's fetch deadline.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
import threading
import typing
from collections.abc import Iterator

import certifi
import httpcore
import httpx

from extractors.deadline import clamp_timeout
from extractors.netguard import AddressPolicy, resolve_addresses


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose timeouts never exceed the current fetch deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, clamp_timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, clamp_timeout(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, clamp_timeout(timeout))
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve, check every address, connect to a checked IP, check the peer again."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._sync = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.policy.check_host(host)
        addresses = resolve_addresses(host, port, clamp_timeout(timeout))
        for ip in addresses:
            self.policy.check_address(ip, host)
        return self._connect_first(host, addresses, port, timeout, local_address, socket_options)

    def _connect_first(self, host, addresses, port, timeout, local_address, socket_options):
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for ip in addresses:
            try:
                stream = self._sync.connect_tcp(
                    str(ip), port, clamp_timeout(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
                continue
            self._check_peer(stream, host)
            return DeadlineStream(stream)
        raise error

    def _check_peer(self, stream: httpcore.NetworkStream, host: str) -> None:
        peer = stream.get_extra_info("server_addr")
        if peer:
            try:
                self.policy.check_address(ipaddress.ip_address(peer[0].split("%", 1)[0]), host)
            except Exception:
                stream.close()
                raise

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise httpcore.ConnectError("unix sockets are never used by the fetcher")

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


# httpcore's exceptions as httpx's, most specific first (what httpx's own transport raises)
HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def httpx_errors() -> Iterator[None]:
    """Raise httpcore's errors as the httpx errors the client's callers handle."""
    try:
        yield
    except Exception as exc:
        for raised, mapped in HTTPCORE_TO_HTTPX:
            if isinstance(exc, raised):
                raise mapped(str(exc)) from exc
        raise


class ResponseBody(httpx.SyncByteStream):
    """An httpcore response body read and closed through httpx."""

    def __init__(self, stream: typing.Iterable[bytes]) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with httpx_errors():
            yield from self.stream

    def close(self) -> None:
        if hasattr(self.stream, "close"):
            self.stream.close()


class GuardedTransport(httpx.BaseTransport):
    """HTTP/1.1 transport with the address guard and the deadline; no proxies, no env.
    The TLS context is made for the first https request only: a pass over plain-http
    feeds never loads the CA bundle."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits, verify: bool = True) -> None:
        self.limits, self.verify, self.backend = limits, verify, GuardedBackend(policy)
        self.pools: dict[bytes, httpcore.ConnectionPool] = {}
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with httpx_errors():
            response = self.pool_for(request.url.raw_scheme).handle_request(core_request)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=ResponseBody(response.stream), extensions=response.extensions)

    def pool_for(self, scheme: bytes) -> httpcore.ConnectionPool:
        """The connection pool of `scheme`, made on its first request."""
        with self.lock:
            if scheme not in self.pools:
                self.pools[scheme] = httpcore.ConnectionPool(
                    ssl_context=make_ssl_context(self.verify) if scheme == b"https" else None,
                    max_connections=self.limits.max_connections,
                    max_keepalive_connections=self.limits.max_keepalive_connections,
                    keepalive_expiry=self.limits.keepalive_expiry,
                    network_backend=self.backend,
                )
            return self.pools[scheme]

    def close(self) -> None:
        with self.lock:
            pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            pool.close()


def make_ssl_context(verify: bool = True) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=certifi.where())
