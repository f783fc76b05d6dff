"""The private-network guard: refused before any connection, on every hop."""

from __future__ import annotations

import ipaddress
import sys
import threading

import pytest

from config.models import FetchSettings
from extractors.http import SafeClient
from extractors.netguard import AddressPolicy, is_public_address, parse_ip_literal
from tests.servers import RawServer, send_head

_connects: list[object] = []
_recording = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and _recording.is_set():
        _connects.append(args[1])


sys.addaudithook(_audit)


@pytest.fixture()
def connects():
    """Every socket.connect address made while the test runs (Python audit events)."""
    _connects.clear()
    _recording.set()
    yield _connects
    _recording.clear()


@pytest.fixture()
def client():
    with SafeClient(FetchSettings(timeout_seconds=3)) as c:
        yield c


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[fd00:ec2::254]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://localhost/",
    ],
)
def test_private_addresses_are_refused_before_connecting(client, connects, url):
    result = client.fetch(url)
    assert result.error_class == "ssrf_blocked", result.error
    assert connects == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://127.0.0.1/", "data:,x"])
def test_only_http_and_https_are_fetched(client, connects, url):
    result = client.fetch(url)
    assert result.error_class == "bad_scheme"
    assert connects == []


def test_redirect_from_allowed_server_to_blocked_one_never_reaches_it(connects):
    with RawServer(lambda conn, path: None, host="127.0.0.3") as blocked:
        target = blocked.url("/secret")

        def redirect(conn, path):
            send_head(conn, "302 Found", {"Location": target, "Content-Length": "0"})

        with RawServer(redirect, host="127.0.0.2") as allowed:
            settings = FetchSettings(allowed_networks=("127.0.0.2/32",), timeout_seconds=3)
            with SafeClient(settings) as client:
                result = client.fetch(allowed.url("/feed"))
            assert allowed.connections == 1
        assert result.error_class == "ssrf_blocked"
        assert blocked.connections == 0
    assert all(addr[0] != "127.0.0.3" for addr in connects)


def test_allowed_networks_open_only_the_listed_range(httpserver):
    httpserver.expect_request("/feed").respond_with_data("ok")
    with SafeClient(FetchSettings(allowed_networks=("127.0.0.1/32",))) as client:
        assert client.fetch(httpserver.url_for("/feed")).ok
    with SafeClient(FetchSettings(allowed_networks=("127.0.0.2/32",))) as client:
        assert client.fetch(httpserver.url_for("/feed")).error_class == "ssrf_blocked"
    with SafeClient(FetchSettings(allow_private_networks=True)) as client:
        assert client.fetch(httpserver.url_for("/feed")).ok


def test_ipv6_loopback_server_is_allowed_only_when_listed():
    def hello(conn, path):
        send_head(conn, headers={"Content-Type": "text/plain", "Content-Length": "5"})
        conn.sendall(b"hello")

    try:
        server = RawServer(hello, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        with SafeClient(FetchSettings(timeout_seconds=3)) as client:
            assert client.fetch(server.url("/")).error_class == "ssrf_blocked"
        with SafeClient(FetchSettings(allowed_networks=("::1/128",), timeout_seconds=3)) as client:
            assert client.fetch(server.url("/")).body == b"hello"


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::", False),
        ("ff02::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b::a00:1", False),
        ("2002:0a00:0001::", False),
        ("2002:0808:0808::", True),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "host, expected",
    [("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
     ("[::1]", "::1"), ("example.com", None), ("deadbeef", None)],
)
def test_parse_ip_literal_reads_every_notation(host, expected):
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed else None) == expected


def test_allowed_networks_do_not_open_other_addresses():
    policy = AddressPolicy(allowed_networks=("127.0.0.2/32",))
    assert policy.is_allowed(ipaddress.ip_address("127.0.0.2"))
    assert not policy.is_allowed(ipaddress.ip_address("127.0.0.3"))
