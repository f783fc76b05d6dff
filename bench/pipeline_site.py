"""The benchmark's publishers: a small asyncio HTTP/1.1 server on several loopback hosts.

Run by bench/pipeline.py as its own process (so serving costs no CPU in the measured
process tree, though it shares the machine's cores):

    python bench/pipeline_site.py DATA_DIR PORT LATENCY_MS HOST [HOST ...] [--port80]

Every response waits LATENCY_MS first (per response, not per connection). URLs:
  /p/<tag>/<n>.html              page n of a run: the benchmark page ids[n % 181], served
                                 gzip-encoded as stored (Content-Encoding: gzip)
  /f/<tag>/<first>/<count>.xml   RSS 2.0 feed of pages first .. first+count-1, all on the
                                 host that serves the feed (one host = one publisher); no
                                 validators, so an identical second pass re-reads it
  /q/<k>.xml                     an unchanged feed: ETag "q<k>", 304 to If-None-Match
With --port80 it also listens on port 80 of every host (trafilatura's feed mode refuses
URLs with an explicit port). Prints "ready" on stdout once listening.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path


def load_pages(data_dir: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted((data_dir / "html").glob("*.html.gz"))]


def rss(base: str, tag: str, first: int, count: int) -> bytes:
    now = format_datetime(datetime.now(timezone.utc))
    items = "".join(
        f"<item><title>Story {n}</title><link>{base}/p/{tag}/{n}.html</link>"
        f"<guid isPermaLink=\"false\">{tag}-{n}</guid><pubDate>{now}</pubDate>"
        f"<description>Summary of story {n}.</description></item>"
        for n in range(first, first + count)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench {tag} {first}'
            f"</title><link>{base}/</link><description>bench</description>{items}</channel></rss>").encode()


class Site:
    """What every URL answers; a page's whole response (head and body) is built once."""

    def __init__(self, pages: list[bytes], latency: float) -> None:
        self.pages = [response(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, page)
                      for page in pages]
        self.latency = latency
        self.feeds: dict[tuple[str, str], bytes] = {}  # an identical second pass re-reads the same feed

    def respond(self, host: str, path: str, headers: dict[str, str]) -> bytes:
        parts = path.strip("/").split("/")
        if parts[0] == "p" and len(parts) == 3:
            return self.pages[int(parts[2].split(".")[0]) % len(self.pages)]
        if parts[0] == "f" and len(parts) == 4:
            if (host, path) not in self.feeds:
                body = rss(f"http://{host}", parts[1], int(parts[2]), int(parts[3].split(".")[0]))
                self.feeds[host, path] = response(200, {"Content-Type": "application/rss+xml; charset=utf-8"}, body)
            return self.feeds[host, path]
        if parts[0] == "q" and len(parts) == 2:
            etag = f'"q{parts[1].split(".")[0]}"'
            if headers.get("if-none-match") == etag:
                return response(304, {"ETag": etag}, b"")
            body = rss(f"http://{host}", "q", 0, 0)
            return response(200, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}, body)
        return response(404, {"Content-Type": "text/plain"}, b"not found")


def response(status: int, headers: dict[str, str], body: bytes) -> bytes:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection(asyncio.Protocol):
    """One client connection: requests answered in order, each LATENCY after it came. A
    protocol rather than asyncio streams: the publisher shares the two cores with the
    pass it serves, and a stream reader and writer per connection cost it twice the CPU."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.answering = False  # a request waits for its answer; the next ones wait in the buffer

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.next_request()

    def next_request(self) -> None:
        if self.answering or b"\r\n\r\n" not in self.buffer:
            return
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        try:
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _version = lines[0].split(" ", 2)
        except ValueError:
            self.transport.close()
            return
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        close = headers.get("connection", "").lower() == "close"
        self.answering = True
        asyncio.get_running_loop().call_later(self.site.latency, self.answer, headers, path, close)

    def answer(self, headers: dict[str, str], path: str, close: bool) -> None:
        self.answering = False
        if self.transport.is_closing():
            return
        self.transport.write(self.site.respond(headers.get("host", ""), path, headers))
        if close:
            self.transport.close()
        else:
            self.next_request()


async def serve(data_dir: Path, port: int, latency: float, hosts: list[str], port80: bool) -> None:
    site = Site(load_pages(data_dir), latency)
    loop = asyncio.get_running_loop()
    servers = []
    for host in hosts:
        for p in (port, 80) if port80 else (port,):
            servers.append(await loop.create_server(lambda: Connection(site), host, p, backlog=1024,
                                                    reuse_address=True))
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main(argv: list[str]) -> None:
    port80 = "--port80" in argv
    args = [a for a in argv if a != "--port80"]
    data_dir, port, latency_ms, hosts = Path(args[0]), int(args[1]), float(args[2]), args[3:]
    asyncio.run(serve(data_dir, port, latency_ms / 1000, hosts, port80))


if __name__ == "__main__":
    main(sys.argv[1:])
