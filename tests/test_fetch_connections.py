"""Connections the fetcher keeps: reused per outlet, bounded in number, TLS still verified.

Served by real keep-alive HTTP/1.1 servers on 127.0.0.1-3 (one per "outlet"), which
count the connections they accept and the ones the client closed.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config.models import FetchSettings
from extractors.http import SafeClient
from tests.servers import self_signed_context

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


Answer = tuple[int, dict[str, str], bytes]


def feed_answer(path: str, cookie: str) -> Answer:
    return 200, {"Content-Type": "application/rss+xml"}, FEED


class KeepAliveServer:
    """An HTTP/1.1 server that keeps connections open; counts opened and closed ones and
    records the paths asked. `answer(path, cookie_header)` gives (status, headers, body)."""

    def __init__(self, host: str, tls: ssl.SSLContext | None = None,
                 answer: Callable[[str, str], Answer] = feed_answer) -> None:
        self.opened = 0
        self.closed = 0
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                server.opened += 1
                super().setup()

            def finish(self):
                super().finish()
                server.closed += 1

            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.paths.append(self.path)
                status, headers, body = answer(self.path, self.headers.get("Cookie") or "")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/feed.xml", host: str | None = None) -> str:
        address, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host or address}:{port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def outlets():
    servers = [KeepAliveServer(f"127.0.0.{k}") for k in (1, 2, 3)]
    yield servers
    for server in servers:
        server.close()


def settings(**overrides) -> FetchSettings:
    return FetchSettings(allow_private_networks=True, timeout_seconds=5, **overrides)


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_an_outlet_is_fetched_over_one_kept_alive_connection(outlets):
    first, second, _ = outlets
    with SafeClient(settings()) as client:
        for _ in range(3):
            assert client.fetch(first.url()).ok
            assert client.fetch(second.url()).ok
    assert (first.opened, second.opened) == (1, 1)


def test_unchanged_feeds_are_polled_over_one_kept_alive_connection():
    """A quiet pass is mostly 304s: each must leave its connection open for the next poll of
    that outlet (10,000 feeds on 200 outlets opened 10,000 connections when it did not)."""
    outlet = KeepAliveServer("127.0.0.1", answer=lambda path, cookie: (304, {"ETag": '"v1"'}, b""))
    try:
        with SafeClient(settings()) as client:
            results = [client.fetch(outlet.url(f"/feeds/{n}.xml"), etag='"v1"') for n in range(5)]
        assert all(result.ok and result.not_modified for result in results)
        assert len(outlet.paths) == 5
        assert outlet.opened == 1
    finally:
        outlet.close()


def test_past_the_concurrency_the_least_recently_used_outlet_is_let_go(outlets):
    """With concurrency 2, at most 2 outlets keep open connections: the third outlet's
    fetch closes the first's idle socket, and the first outlet is later dialled anew."""
    first, second, third = outlets
    with SafeClient(settings(concurrency=2, per_host_concurrency=1)) as client:
        for server in (first, second, third):
            assert client.fetch(server.url()).ok
        assert wait_for(lambda: first.closed == 1)
        assert (second.closed, third.closed) == (0, 0)
        assert client.fetch(first.url()).ok
    assert first.opened == 2
    assert (second.opened, third.opened) == (1, 1)


def test_concurrent_fetches_over_many_outlets_all_succeed_and_leave_no_socket_open(outlets):
    from concurrent.futures import ThreadPoolExecutor

    urls = [server.url(f"/feed-{n}.xml") for n in range(40) for server in outlets]
    with SafeClient(settings(concurrency=4, per_host_concurrency=2)) as client:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(client.fetch, urls))
    assert all(result.ok for result in results), [r.error for r in results if not r.ok][:3]
    assert all(wait_for(lambda s=server: s.closed == s.opened) for server in outlets)
    assert sum(server.opened for server in outlets) <= 3 * 2 * 3  # reused, not one per fetch


@pytest.fixture()
def tls_outlet(tmp_path):
    server = KeepAliveServer("127.0.0.1", tls=self_signed_context(tmp_path))
    yield server
    server.close()


def test_https_is_verified_by_default(tls_outlet):
    with SafeClient(settings()) as client:
        result = client.fetch(tls_outlet.url(host="localhost"))
    assert result.error_class == "connect_error"
    assert "CERTIFICATE_VERIFY_FAILED" in result.error


def test_https_fetch_without_verification_works(tls_outlet):
    with SafeClient(settings(), verify=False) as client:
        result = client.fetch(tls_outlet.url(host="localhost"))
        again = client.fetch(tls_outlet.url(host="localhost"))
    assert result.ok and again.ok, (result.error, again.error)
    assert b"<rss" in result.body
    assert tls_outlet.opened == 1


def test_a_cookie_set_by_a_site_is_sent_back_on_its_next_request():
    """A consent wall: /feed.xml answers only with the cookie that /consent sets."""

    def consent_wall(path: str, cookie: str) -> Answer:
        if path == "/consent":
            return 302, {"Location": "/feed.xml", "Set-Cookie": "consent=yes; Path=/"}, b""
        if "consent=yes" in cookie:
            return feed_answer(path, cookie)
        return 302, {"Location": "/consent"}, b""

    server = KeepAliveServer("127.0.0.1", answer=consent_wall)
    try:
        with SafeClient(settings()) as client:
            result = client.fetch(server.url())
    finally:
        server.close()
    assert result.ok, result.error
    assert b"<rss" in result.body
    assert server.paths == ["/feed.xml", "/consent", "/feed.xml"]
