"""An httpx transport whose every TCP connection passes the address guard.

Contract: `GuardedTransport(policy, ...)` is an `httpx.HTTPTransport` whose httpcore
pools (one per origin, `OriginPools`) use `GuardedBackend`. For each new connection the backend resolves the host
itself, checks every resolved address with the `AddressPolicy` (refusing the host if
any address is blocked), connects to a checked IP, and checks the peer address of the
connected socket again. The URL, the Host header and TLS SNI/certificate checks keep
the host name, since httpcore passes the origin host name to `start_tls`.
Every connect/read/write timeout is clamped to the thread's fetch deadline.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import typing
from collections import OrderedDict
from collections.abc import Callable, Iterator

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


class OriginPools:
    """httpcore connection pools, one per origin (scheme, host, port); past `max_origins`
    the least recently used pools with no request in flight are closed with their idle
    connections, so a pass over hundreds of outlets keeps few sockets open.

    Why not one pool: on every request and every response's close, httpcore's pool walks
    all its connections and polls each idle socket for a hang-up. Over 8 outlets x 2
    connections that was ~30 poll() calls per page fetched, each one giving up and taking
    back the GIL that 16 fetch threads want; an origin's pool walks its own 2 connections
    (the per-host slot keeps them at that). Fetch CPU, 1,000 pages over 8 outlets with
    16 threads on busy cores: 1.12 -> 1.05 ms per page (median of 5 paired runs).
    """

    def __init__(self, make_pool: Callable[[bytes], httpcore.ConnectionPool], max_origins: int) -> None:
        self._make_pool = make_pool
        self._max_origins = max(max_origins, 1)
        self._pools: OrderedDict[tuple, _Origin] = OrderedDict()
        self._lock = threading.Lock()

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        origin, evicted = self._checkout((request.url.scheme, request.url.host, request.url.port))
        for pool in evicted:
            pool.close()
        try:
            response = origin.pool.handle_request(request)
        except BaseException:
            self._release(origin)
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_ReleasingStream(response.stream, lambda: self._release(origin)),
                                 extensions=response.extensions)

    def _checkout(self, key: tuple) -> tuple[_Origin, list[httpcore.ConnectionPool]]:
        with self._lock:
            origin = self._pools.get(key)
            if origin is None:
                origin = self._pools[key] = _Origin(self._make_pool(key[0]))
            self._pools.move_to_end(key)
            origin.active += 1
            evicted = []
            for old_key in list(self._pools)[:-1]:
                if len(self._pools) <= self._max_origins:
                    break
                if not self._pools[old_key].active:
                    evicted.append(self._pools.pop(old_key).pool)
            return origin, evicted

    def _release(self, origin: _Origin) -> None:
        with self._lock:
            origin.active -= 1

    def close(self) -> None:
        with self._lock:
            pools = [origin.pool for origin in self._pools.values()]
            self._pools.clear()
        for pool in pools:
            pool.close()

    def __enter__(self) -> OriginPools:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Origin:
    __slots__ = ("pool", "active")

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self.pool = pool
        self.active = 0  # requests sent through this pool whose response is not closed yet


class _ReleasingStream:
    """A response body that tells its `OriginPools` when it is closed (once)."""

    def __init__(self, stream: typing.Iterable[bytes], release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            if hasattr(self._stream, "close"):
                self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class GuardedTransport(httpx.HTTPTransport):
    """HTTP/1.1 transport with the address guard and the deadline; no proxies, no env.
    Up to `max_origins` origins keep their pools (default: the keep-alive limit). The TLS
    context (loading the CA bundle: ~15 ms) is made for the first https origin only."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits, verify: bool = True,
                 max_origins: int | None = None) -> None:
        super().__init__(verify=False, trust_env=False, limits=limits)  # its own pool is replaced
        self._pool.close()
        self._limits, self._verify, self._backend = limits, verify, GuardedBackend(policy)
        self._ssl_context: ssl.SSLContext | None = None
        self._ssl_lock = threading.Lock()
        self._pool = OriginPools(self._make_pool, max_origins or limits.max_keepalive_connections or 16)

    def _make_pool(self, scheme: bytes) -> httpcore.ConnectionPool:
        return httpcore.ConnectionPool(
            ssl_context=self._tls_context() if scheme == b"https" else None,
            max_connections=self._limits.max_connections,
            max_keepalive_connections=self._limits.max_keepalive_connections,
            keepalive_expiry=self._limits.keepalive_expiry,
            network_backend=self._backend,
        )

    def _tls_context(self) -> ssl.SSLContext:
        with self._ssl_lock:
            if self._ssl_context is None:
                self._ssl_context = make_ssl_context(self._verify)
            return self._ssl_context


def make_ssl_context(verify: bool = True) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=certifi.where())
