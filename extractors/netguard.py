"""Which IP addresses the fetcher may connect to.

Contract: `AddressPolicy.check_address(ip)` raises `BlockedAddress` unless the address
is globally routable (or explicitly allowed). Addresses embedded in IPv6 forms
(::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::/96, 6to4 2002::/16, Teredo) are judged by
their IPv4 part. `parse_ip_literal` reads a URL host the way the C resolver would,
so decimal, octal and hex IPv4 forms (http://2130706433/, http://0x7f.1/) are
recognised and refused before any DNS lookup or connection.

`resolve_addresses` resolves a host name with a time budget; the transport then
checks every resolved address and connects to a checked one, never re-resolving,
so DNS rebinding cannot swap the address between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from extractors.errors import BlockedAddress, ConnectFailed, DeadlineExceeded

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
CGNAT = ipaddress.ip_network("100.64.0.0/10")

_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="newswatch-dns")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in a mapped, compatible, NAT64, 6to4 or Teredo IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for unicast, globally routable addresses (and their embedded IPv4)."""
    if ip in METADATA_ADDRESSES or ip.is_multicast or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(inner)
        if ip.scope_id:
            return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes by itself, or None for a name needing DNS."""
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


class AddressPolicy:
    """Decides whether an address may be connected to, given the fetch settings."""

    def __init__(self, allow_private: bool = False, allowed_networks: tuple[str, ...] = ()) -> None:
        self.allow_private = allow_private
        self.allowed = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)

    def is_allowed(self, ip: IPAddress) -> bool:
        if self.allow_private or any(ip.version == n.version and ip in n for n in self.allowed):
            return True
        return is_public_address(ip)

    def check_address(self, ip: IPAddress, host: str = "") -> None:
        """Raise BlockedAddress when `ip` is not allowed."""
        if not self.is_allowed(ip):
            shown = f"{host} ({ip})" if host and host != str(ip) else str(ip)
            raise BlockedAddress(
                f"refused to connect to {shown}: not a public address. "
                "Hint: add its network to fetch.allowed_networks in settings.yaml if this is intended."
            )

    def check_host(self, host: str) -> None:
        """Refuse a literal IP host (any notation) before DNS and before connecting."""
        ip = parse_ip_literal(host)
        if ip is not None:
            self.check_address(ip, host)


def refusal_without_dns(host: str, policy: AddressPolicy) -> str | None:
    """The guard's own refusal of a host known without DNS (a literal IP in any notation, or
    `localhost`, which is 127.0.0.1), for `newswatch check`; None when it is allowed or only
    a DNS lookup could tell (names are never resolved here)."""
    ip = parse_ip_literal(host)
    name = host.strip().lower().rstrip(".")
    if ip is None and (name == "localhost" or name.endswith(".localhost")):
        ip = ipaddress.ip_address("127.0.0.1")
    if ip is None:
        return None
    try:
        policy.check_address(ip, host)
    except BlockedAddress as exc:
        return str(exc)
    return None


def resolve_addresses(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    """All addresses of `host` (literal or DNS name), within `timeout` seconds."""
    literal = parse_ip_literal(host)
    if literal is not None:
        return [literal]
    future = _RESOLVER.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise DeadlineExceeded(f"DNS lookup of {host} took too long") from None
    except (OSError, UnicodeError) as exc:
        raise ConnectFailed(f"could not resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(addresses))
