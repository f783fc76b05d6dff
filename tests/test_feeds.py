"""Feed parsing on saved bytes, conditional GET, TTLs, identity and canonical links."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from config.models import FetchSettings
from extractors.feeds import parse_feed, parse_feed_with_budget
from extractors.http import SafeClient
from extractors.identity import entry_key
from extractors.wait_times import clamp_ttl, parse_retry_after
from extractors.urls import canonicalize_url
from extractors.errors import ParseCrashed, ParseTimeout
from extractors.workers import WorkerPool

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FEEDS = SHARED / "data" / "feeds"


def shared_feed(name: str) -> bytes:
    path = FEEDS / name
    if not path.is_file():
        pytest.skip(f"real feed captures not found: {FEEDS} (../shared/data/feeds beside the repo)")
    return path.read_bytes()


def rss(items: str, channel_extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
            f"<link>https://example.com/</link>{channel_extra}{items}</channel></rss>").encode()


def test_conditional_get_answers_304_as_not_modified(httpserver):
    body = rss("<item><title>A</title><link>https://example.com/a</link></item>")
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    httpserver.expect_request("/feed").respond_with_data(
        body, content_type="application/rss+xml",
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 03 Jan 2024 10:00:00 GMT"},
    )
    with SafeClient(FetchSettings(allowed_networks=("127.0.0.0/8",))) as client:
        first = client.fetch(httpserver.url_for("/feed"))
        assert first.ok and not first.not_modified
        assert len(parse_feed(first.body, first.headers, first.final_url).entries) == 1
        second = client.fetch(httpserver.url_for("/feed"), etag=first.headers["etag"],
                              last_modified=first.headers["last-modified"])
    assert second.ok and second.not_modified
    assert second.status == 304 and second.body == b""


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=ISO-8859-1", "application/rss+xml"])
def test_iso_8859_1_feed_decodes_accents(httpserver, content_type):
    raw = shared_feed("uol_noticias_2018-09.rss")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really a legacy encoding, with no XML declaration
    httpserver.expect_request("/uol").respond_with_data(raw, content_type=content_type)
    with SafeClient(FetchSettings(allowed_networks=("127.0.0.0/8",))) as client:
        fetched = client.fetch(httpserver.url_for("/uol"))
    parsed = parse_feed(fetched.body, fetched.headers, fetched.final_url)
    assert parsed.error_class is None and parsed.entries
    text = " ".join(e.title + " " + e.summary for e in parsed.entries)
    assert "\ufffd" not in text
    assert any(ch in text for ch in "çãéõí")
    assert "simulações" in parsed.entries[0].title


@pytest.mark.parametrize("name", ["bbc_world_2017-01.rss", "geekpark_feeder.rss", "ukrnet_feeder.rss",
                                  "heise_developer_2016-02.atom", "lemonde_feeder.rss"])
def test_real_news_feeds_parse(name):
    parsed = parse_feed(shared_feed(name), {}, "https://example.com/feed")
    assert parsed.error_class is None
    assert parsed.entries and all(e.title or e.summary for e in parsed.entries)
    assert len({e.entry_key for e in parsed.entries}) == len(parsed.entries)


@pytest.mark.parametrize("body", [b"", b"   \n", b"/dev/zero", b"%PDF-1.4 binary", b"\x89PNG\r\n\x1a\nxx",
                                  b"<html><body><p>Hello</p></body></html>", b"just some words"])
def test_things_that_are_not_feeds(body):
    assert parse_feed(body, {"content-type": "text/html"}, "https://example.com/").error_class == "not_a_feed"


def test_fields_are_capped_and_cleaned():
    title = "T" * 5000 + "\x00"
    summary = "<p>" + ("word " * 10000) + "</p>"
    link = "https://example.com/" + "a" * 3000
    parsed = parse_feed(rss(f"<item><title>{title}</title><description><![CDATA[{summary}]]></description>"
                            f"<link>{link}</link></item>"), {}, "https://example.com/feed")
    entry = parsed.entries[0]
    assert len(entry.title) <= 1000 and "\x00" not in entry.title
    assert len(entry.summary) <= 20000 and "<p>" not in entry.summary
    assert entry.link is None  # too long to be a link worth storing
    assert entry.entry_key.startswith("sha256:")


def test_entry_identity_prefers_guid_then_canonical_link_then_hash():
    assert entry_key("urn:uuid:1", "https://e.com/a", "t", "s") == "urn:uuid:1"
    assert entry_key(None, "HTTPS://E.com:443/a?utm_source=x&id=2#top", "t", "s") == "https://e.com/a?id=2"
    assert entry_key(None, None, "t", "s") == entry_key("", "", "t", "s")
    assert entry_key(None, None, "t", "s").startswith("sha256:")


def test_relative_links_resolve_against_the_feed_url_and_are_canonical():
    parsed = parse_feed(rss("<item><title>A</title><link>/news/a?utm_medium=rss&amp;fbclid=1</link></item>"),
                        {}, "https://Example.com/feed.xml")
    assert parsed.entries[0].link == "https://example.com/news/a"


@pytest.mark.parametrize(
    "url, canonical",
    [
        ("HTTP://Example.COM:80/a/b?x=1&utm_source=t#frag", "http://example.com/a/b?x=1"),
        ("https://example.com:8443/?gclid=1&mc_cid=2&q=ok", "https://example.com:8443/?q=ok"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/p?b=2&a=1", "https://example.com/p?b=2&a=1"),
        ("mailto:x@example.com", "mailto:x@example.com"),
        ("", None),
    ],
)
def test_canonicalize_url(url, canonical):
    assert canonicalize_url(url) == canonical


def test_ttl_comes_from_feed_or_cache_control_and_is_clamped():
    assert parse_feed(rss("", "<ttl>15</ttl>"), {}, "").ttl_seconds == 900
    assert parse_feed(rss("", "<ttl>1</ttl>"), {}, "").ttl_seconds == 300
    assert parse_feed(rss(""), {"cache-control": "public, max-age=999999"}, "").ttl_seconds == 86400
    assert parse_feed(rss(""), {}, "").ttl_seconds is None
    assert clamp_ttl(60) == 300 and clamp_ttl(None) is None


def test_parse_retry_after():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None


def test_parse_feed_with_budget_returns_the_same_result():
    body = rss("".join(f"<item><title>N{i}</title><link>https://e.com/{i}</link></item>" for i in range(50)))
    inline = parse_feed(body, {}, "https://e.com/feed")
    budgeted = parse_feed_with_budget(body, {}, "https://e.com/feed", budget=30)
    assert budgeted == inline


def test_parse_feed_with_budget_kills_a_parse_over_budget():
    items = "".join(f"<item><title>N{i}</title><description>{'x ' * 500}</description></item>" for i in range(5000))
    started = time.monotonic()
    parsed = parse_feed_with_budget(rss(items), {}, "https://e.com/feed", budget=0.05)
    assert parsed.error_class == "parse_timeout"
    assert time.monotonic() - started < 5


def test_a_worker_pool_kills_a_runaway_call():
    with WorkerPool(size=1) as pool:
        pool.run(len, ("warm",), 60, (ParseTimeout, ParseCrashed))  # the worker's start-up is not the call's
        started = time.monotonic()
        with pytest.raises(ParseTimeout) as failure:
            pool.run(time.sleep, (30,), 0.5, (ParseTimeout, ParseCrashed))
        assert failure.value.error_class == "parse_timeout"
        assert time.monotonic() - started < 5
        assert pool.run(len, ("after",), 60, (ParseTimeout, ParseCrashed)) == 5  # a new worker took over
