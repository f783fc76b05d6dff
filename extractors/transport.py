"""An httpx transport whose every TCP connection passes the address guard.

Contract: `GuardedTransport(policy, ...)` is an `httpx.HTTPTransport` whose httpcore
pool uses `GuardedBackend`. For each new connection the backend resolves the host
itself, checks every resolved address with the `AddressPolicy` (refusing the host if
any address is blocked), connects to a checked IP, and checks the peer address of the
connected socket again. The URL, the Host header and TLS SNI/certificate checks keep
the host name, since httpcore passes the origin host name to `start_tls`.
Every connect/read/write timeout is clamped to the thread's fetch deadline.
"""

from __future__ import annotations

import ipaddress
import ssl
import typing

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


class GuardedTransport(httpx.HTTPTransport):
    """HTTP/1.1 transport with the address guard and the deadline; no proxies, no env."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits, verify: bool = True) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=make_ssl_context(verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


def make_ssl_context(verify: bool = True) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=certifi.where())
