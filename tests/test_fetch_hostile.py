"""Hostile servers: every misbehaviour ends quickly in a classified error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import brotli
import pytest

from config.models import FetchSettings
from extractors.feeds import parse_feed
from extractors.http import SafeClient
from tests.servers import RawServer, gzip_bomb, send_head, wait_closed

LOOPBACK = FetchSettings(allowed_networks=("127.0.0.0/8",), timeout_seconds=3)
SECONDS_ALLOWED = 5.0


@pytest.fixture()
def client():
    with SafeClient(LOOPBACK) as c:
        yield c


@pytest.fixture()
def stop():
    event = threading.Event()
    yield event
    event.set()


def timed_fetch(client, url, kind="feed"):
    started = time.monotonic()
    result = client.fetch(url, kind=kind)
    return result, time.monotonic() - started


def peak_rss_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def test_drip_one_byte_every_two_seconds_hits_the_total_deadline(client, stop):
    def drip(conn, path):
        send_head(conn, headers={"Content-Type": "application/rss+xml", "Content-Length": "1000"})
        for _ in range(1000):
            if stop.wait(2):
                return
            conn.sendall(b"<")

    with RawServer(drip) as server:
        result, elapsed = timed_fetch(client, server.url("/feed"))
    assert result.error_class == "timeout"
    assert elapsed < SECONDS_ALLOWED


def test_server_that_never_answers_times_out(client, stop):
    with RawServer(lambda conn, path: wait_closed(conn, stop)) as server:
        result, elapsed = timed_fetch(client, server.url("/feed"))
    assert result.error_class == "timeout"
    assert elapsed < SECONDS_ALLOWED


def test_endless_body_stops_at_the_size_cap(stop):
    def endless(conn, path):
        send_head(conn, headers={"Content-Type": "application/rss+xml"})
        chunk = b"<item>" * 10000
        while not stop.is_set():
            conn.sendall(chunk)

    settings = FetchSettings(allowed_networks=("127.0.0.0/8",), timeout_seconds=20, max_feed_bytes=2 * 1024 * 1024)
    with SafeClient(settings) as client, RawServer(endless) as server:
        result, elapsed = timed_fetch(client, server.url("/feed"))
    assert result.error_class == "too_large"
    assert elapsed < SECONDS_ALLOWED


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(512)


@pytest.mark.parametrize("kind", ["feed", "page"])
def test_gzip_bomb_costs_neither_memory_nor_time(client, bomb, kind):
    def serve_bomb(conn, path):
        send_head(conn, headers={"Content-Type": "text/html", "Content-Encoding": "gzip",
                                 "Content-Length": str(len(bomb))})
        conn.sendall(bomb)

    measurable = peak_rss_reset()
    before = peak_rss_bytes()
    with RawServer(serve_bomb) as server:
        result, elapsed = timed_fetch(client, server.url("/bomb"), kind=kind)
    growth = peak_rss_bytes() - before
    assert result.error_class == "too_large"
    assert elapsed < SECONDS_ALLOWED
    if measurable:
        print(f"\ngzip bomb ({kind}): peak RSS growth {growth / 2**20:.1f} MiB, {elapsed:.2f} s")
        assert growth < 64 * 1024 * 1024


def test_brotli_bomb_stops_at_the_cap(client):
    payload = brotli.compress(b" " * (256 * 1024 * 1024), quality=1)

    def serve(conn, path):
        send_head(conn, headers={"Content-Type": "text/html", "Content-Encoding": "br",
                                 "Content-Length": str(len(payload))})
        conn.sendall(payload)

    peak_rss_reset()
    before = peak_rss_bytes()
    with RawServer(serve) as server:
        result, elapsed = timed_fetch(client, server.url("/br"), kind="page")
    assert result.error_class == "too_large"
    assert peak_rss_bytes() - before < 64 * 1024 * 1024
    assert elapsed < SECONDS_ALLOWED


def redirect_to(location_of):
    def handler(conn, path):
        send_head(conn, "302 Found", {"Location": location_of(path), "Content-Length": "0"})
    return handler


def test_redirect_loop_is_detected(client):
    with RawServer(redirect_to(lambda path: "/b" if path == "/a" else "/a")) as server:
        result, elapsed = timed_fetch(client, server.url("/a"))
    assert result.error_class == "redirect_loop"
    assert elapsed < SECONDS_ALLOWED


@pytest.mark.parametrize("kind, allowed", [("feed", 10), ("page", 5)])
def test_redirect_chain_longer_than_the_limit_is_refused(client, kind, allowed):
    def next_hop(path):
        return f"/hop{int(path.removeprefix('/hop') or 0) + 1}"

    with RawServer(redirect_to(next_hop)) as server:
        result = client.fetch(server.url("/hop0"), kind=kind)
        hops = len(server.paths)
    assert result.error_class == "too_many_redirects"
    assert hops == allowed + 1


@pytest.mark.parametrize(
    "status, error_class",
    [(404, "http_404"), (410, "http_410"), (500, "http_5xx"), (503, "http_5xx"), (429, "http_429")],
)
def test_error_statuses_are_classified(client, httpserver, status, error_class):
    httpserver.expect_request("/feed").respond_with_data("no", status=status, headers={"Retry-After": "120"})
    result = client.fetch(httpserver.url_for("/feed"))
    assert result.status == status
    assert result.error_class == error_class
    assert result.body == b""
    if status in (429, 503):
        assert result.retry_after == 120


def test_retry_after_as_http_date(client, httpserver):
    httpserver.expect_request("/feed").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    )
    result = client.fetch(httpserver.url_for("/feed"))
    assert result.error_class == "http_429"
    assert result.retry_after == 24 * 3600  # capped at a day


def test_html_page_where_a_feed_was_expected_is_not_a_feed(client, httpserver):
    page = b"<!doctype html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    httpserver.expect_request("/feed").respond_with_data(page, content_type="text/html")
    result = client.fetch(httpserver.url_for("/feed"))
    assert result.ok
    parsed = parse_feed(result.body, result.headers, result.final_url)
    assert parsed.error_class == "not_a_feed"
    assert parsed.entries == []


def test_body_naming_dev_zero_is_read_as_bytes_not_opened(client, httpserver):
    httpserver.expect_request("/feed").respond_with_data("/dev/zero", content_type="text/plain")
    result = client.fetch(httpserver.url_for("/feed"))
    started = time.monotonic()
    parsed = parse_feed(result.body, result.headers, result.final_url)
    assert parsed.error_class == "not_a_feed"
    assert time.monotonic() - started < 10  # opening /dev/zero would never return


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(2000), "application/pdf"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(2000), "text/html"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), "application/octet-stream"),
        (b"\x00\x01\x02\x03binary" * 200, "text/html"),
    ],
)
def test_binary_pages_are_skipped_with_a_reason(client, httpserver, body, content_type):
    httpserver.expect_request("/page").respond_with_data(body, content_type=content_type)
    result = client.fetch(httpserver.url_for("/page"), kind="page")
    assert result.error_class == "unsupported_type"
    assert "skipped page" in result.error


def test_user_agent_is_descriptive_and_sent(client, httpserver):
    httpserver.expect_request("/feed", headers={"User-Agent": LOOPBACK.user_agent}).respond_with_data("ok")
    assert client.fetch(httpserver.url_for("/feed")).ok


def test_per_host_concurrency_is_capped(stop):
    active, peak, lock = [0], [0], threading.Lock()

    def slow(conn, path):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        send_head(conn, headers={"Content-Type": "text/plain", "Content-Length": "2"})
        conn.sendall(b"ok")

    settings = FetchSettings(allowed_networks=("127.0.0.0/8",), per_host_concurrency=2, concurrency=8)
    with SafeClient(settings) as client, RawServer(slow) as server:
        threads = [threading.Thread(target=client.fetch, args=(server.url(f"/{i}"),)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak[0] == 2


@pytest.mark.parametrize("inflate", ["isal", "zlib"])
def test_gzip_and_deflate_bodies_decode_alike_with_isal_and_with_zlib(monkeypatch, inflate):
    """Pages are inflated by ISA-L when its wheel is installed, else by the standard zlib:
    the same bytes either way, in gzip (several members too), zlib-wrapped or raw deflate,
    and a corrupt body is a BadEncoding, not a crash."""
    import gzip
    import zlib

    from extractors import decoding
    from extractors.errors import BadEncoding

    if inflate == "zlib":
        monkeypatch.setattr(decoding, "inflate", zlib)
    else:
        assert decoding.inflate.__name__ == "isal.isal_zlib", "isal is a dependency: its wheel should be installed"
    page = ("<html><body>" + "<p>Pyongyang fired two missiles.</p>" * 5000 + "</body></html>").encode()
    bodies = {"gzip": gzip.compress(page[:90000]) + gzip.compress(page[90000:]),
              "deflate": zlib.compress(page), "raw deflate": zlib.compress(page)[2:-4]}
    for name, body in bodies.items():
        decoder = decoding.make_decoder("gzip" if name == "gzip" else "deflate")
        decoded = b"".join([*decoder.feed(body[:1000]), *decoder.feed(body[1000:]), *decoder.flush()])
        assert decoded == page, name
        assert all(len(piece) <= decoding.CHUNK for piece in decoding.make_decoder("gzip").feed(bodies["gzip"]))
    with pytest.raises(BadEncoding):
        list(decoding.make_decoder("gzip").feed(b"\x1f\x8b\x08\x00" + b"not gzip at all" * 10))
