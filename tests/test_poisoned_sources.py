"""Poisoned sources among healthy ones: a feed that drips bytes, one that triggers
feedparser's quadratic author-email regex, a gzip bomb and an endless redirect chain.
Each ends in its own classified error, all 50 healthy feeds are processed, and the pass
takes at most about one per-feed deadline longer than the same pass without them."""

from __future__ import annotations

import time

import pytest

from config import load_config
from flows.run_pass import run_pass
from tests.conftest import rss, write_config
from tests.servers import RawServer, gzip_bomb, send_head

DEADLINE = 3.0
HEALTHY = 50
PAGE = ("<html><body><article><h1>Story {0}</h1><p>Story {0} reports on the harbour of Busan, where new cranes "
        "were installed this week.</p><p>Port officials said traffic grew by a tenth this year.</p>"
        "</article></body></html>")


def serve_healthy_feeds(site) -> list[dict]:
    feeds = []
    for n in range(HEALTHY):
        page = site.add(f"/story/{n}.html", PAGE.format(n))
        url = site.add(f"/feed/{n}.xml", rss([{"title": f"Story {n}", "link": page}]),
                       content_type="application/rss+xml")
        feeds.append({"url": url, "name": f"healthy {n}"})
    return feeds


def redos_feed() -> str:
    author = "a@" + "a." * 40_000 + "!"
    item = f"<item><title>x</title><link>http://127.0.0.1:9/x</link><author>{author}</author></item>"
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>slow</title>{item * 3}</channel></rss>'


@pytest.fixture
def poisoned():
    stop = []

    def drip(conn, path):
        send_head(conn, headers={"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        for _ in range(100):
            if stop:
                return
            conn.sendall(b"<")
            time.sleep(1)

    bomb = gzip_bomb(64)

    def serve_bomb(conn, path):
        send_head(conn, headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip",
                                 "Content-Length": str(len(bomb))})
        conn.sendall(bomb)

    def redirect_forever(conn, path):
        hop = int(path.rsplit("/", 1)[-1] or 0) + 1
        send_head(conn, "302 Found", {"Location": f"/hop/{hop}", "Content-Length": "0"})

    servers = [RawServer(drip), RawServer(serve_bomb), RawServer(redirect_forever)]
    yield servers
    stop.append(True)
    for server in servers:
        server.close()


def timed_pass(config_dir):
    config = load_config(config_dir)
    started = time.monotonic()
    summary = run_pass(config)
    return summary, time.monotonic() - started


@pytest.mark.slow
def test_poisoned_feeds_cost_at_most_one_deadline_and_spare_the_healthy_ones(site, poisoned, tmp_path):
    healthy = serve_healthy_feeds(site)
    settings = {"fetch": {"timeout_seconds": DEADLINE}}
    drip, bomb, redirect = poisoned
    bad = [
        {"url": drip.url("/drip.xml"), "name": "drip"},
        {"url": site.add("/slow-regex.xml", redos_feed(), content_type="application/rss+xml"), "name": "slow regex"},
        {"url": bomb.url("/bomb.xml"), "name": "gzip bomb"},
        {"url": redirect.url("/hop/0"), "name": "redirect forever"},
    ]
    clean, clean_seconds = timed_pass(write_config(tmp_path / "clean", feeds=healthy, settings=settings))
    mixed, mixed_seconds = timed_pass(write_config(tmp_path / "mixed", feeds=healthy + bad, settings=settings))

    assert clean.feeds_ok == HEALTHY and clean.new_articles == HEALTHY
    assert mixed.feeds_ok == HEALTHY and mixed.new_articles == HEALTHY
    errors = {o.feed: o.error_class for o in mixed.feeds if o.status == "failed"}
    assert errors == {"drip": "timeout", "slow regex": "parse_timeout", "gzip bomb": "too_large",
                      "redirect forever": "too_many_redirects"}
    # one per-feed deadline, plus a little for the extra connections on a loaded 2-core machine
    print(f"clean pass {clean_seconds:.1f} s, with poisoned feeds {mixed_seconds:.1f} s")
    assert mixed_seconds <= clean_seconds + DEADLINE + 2.0, (clean_seconds, mixed_seconds)
