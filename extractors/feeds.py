"""Feed bytes in, plain `FeedEntry` objects out. No I/O.

Contract:
    parse_feed(body, headers, url) -> ParsedFeed
feedparser reads the bytes through `io.BytesIO` (never a path or URL) with the
response headers, so it negotiates the charset as a browser would, sanitises HTML and
resolves relative links against the feed URL. Every text field of every entry is a
valid UTF-8 str without NUL, capped (title 1,000, summary 20,000, link 2,000 chars);
links are canonical (`extractors.urls`); each entry has its `entry_key`
(`extractors.identity`); duplicate keys within one feed are dropped.
An empty body, an HTML page or a binary file gives error_class "not_a_feed";
`ttl_seconds` is the feed's <ttl> or the response's Cache-Control/Expires, clamped to
5 min .. 24 h, or None.

    parse_feed_with_budget(body, headers, url, budget=10.0, workers=None) -> ParsedFeed
does the same in a worker process (of the pass's pool) that is killed once the budget is used up
(feedparser has regular expressions with catastrophic inputs): error_class
"parse_timeout" then, or "parse_crashed" if the worker died.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from extractors.identity import entry_key
from extractors.models import FeedEntry
from extractors.wait_times import clamp_ttl
from extractors.sniff import describe_magic
from extractors.text import clean_text, html_to_text
from extractors.urls import canonicalize_url

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_LINK = 2_000
MAX_AUTHOR = 500
MAX_ENTRIES = 1_000
MAX_LANGUAGE = 35
PASSED_HEADERS = ("content-type", "content-location", "content-language", "etag", "last-modified")
MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass
class ParsedFeed:
    """A parsed feed. `error_class` None means entries (maybe zero) were read."""

    title: str = ""
    entries: list[FeedEntry] = field(default_factory=list)
    error_class: str | None = None
    error: str | None = None
    ttl_seconds: int | None = None
    link: str | None = None


def parse_feed(body: bytes, headers: dict[str, str] | None = None, url: str = "") -> ParsedFeed:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    reason = reject_reason(body)
    if reason:
        return ParsedFeed(error_class="not_a_feed", error=reason)
    try:
        result = run_feedparser(body, headers, url)
    except Exception as exc:  # noqa: BLE001 - feedparser on hostile input: classify, never crash
        return ParsedFeed(error_class="parse_error", error=f"feedparser failed: {type(exc).__name__}: {exc}")
    if not result.get("version") and not result.get("entries"):
        return ParsedFeed(error_class="not_a_feed", error=describe_non_feed(result))
    return build_parsed_feed(result, headers)


def reject_reason(body: bytes) -> str | None:
    if not body or not body.strip(b" \t\r\n\x00"):
        return "empty body where a feed was expected"
    what = describe_magic(body[:16])
    return f"the body is {what}, not a feed" if what else None


def run_feedparser(body: bytes, headers: dict[str, str], url: str) -> Any:
    passed = {k: v for k, v in headers.items() if k in PASSED_HEADERS}
    if url:
        passed["content-location"] = url
    return feedparser.parse(
        io.BytesIO(body),
        response_headers=passed,
        resolve_relative_uris=True,
        sanitize_html=True,
    )


def describe_non_feed(result: Any) -> str:
    exc = result.get("bozo_exception")
    detail = f" ({type(exc).__name__}: {exc})" if exc else ""
    return f"not an RSS, Atom or JSON feed{detail}"[:500]


def build_parsed_feed(result: Any, headers: dict[str, str]) -> ParsedFeed:
    feed = result.get("feed", {})
    return ParsedFeed(
        title=text_of(feed, "title", MAX_TITLE),
        entries=build_entries(result.get("entries", []), feed.get("language") or headers.get("content-language")),
        ttl_seconds=clamp_ttl(feed_ttl(feed, headers)),
        link=clean_link(feed.get("link")),
    )


def build_entries(raw_entries: list[Any], feed_language: Any = None) -> list[FeedEntry]:
    entries: dict[str, FeedEntry] = {}
    for raw in raw_entries[:MAX_ENTRIES]:
        entry = build_entry(raw, feed_language)
        entries.setdefault(entry.entry_key, entry)
    return list(entries.values())


def build_entry(raw: Any, feed_language: Any = None) -> FeedEntry:
    title = text_of(raw, "title", MAX_TITLE)
    summary = summary_of(raw)
    link = clean_link(raw.get("link"))
    guid = clean_text(raw.get("id") or raw.get("guid"), MAX_LINK) or None
    return FeedEntry(
        entry_key=entry_key(guid, link, title, summary),
        link=link,
        title=title,
        summary=summary,
        published=published_of(raw),
        guid=guid,
        author=clean_text(raw.get("author"), MAX_AUTHOR) or None,
        language=declared_language(raw, feed_language),
    )


def declared_language(raw: Any, feed_language: Any) -> str | None:
    """The language the entry (xml:lang) or else its feed (<language>, Content-Language)
    declares, as written: only a hint, the text decides (extractors.language)."""
    for detail in ("title_detail", "summary_detail"):
        language = (raw.get(detail) or {}).get("language")
        if language:
            return clean_text(language, MAX_LANGUAGE) or None
    return clean_text(feed_language, MAX_LANGUAGE) or None


def text_of(container: Any, name: str, limit: int) -> str:
    """A feedparser text construct as plain text (HTML stripped when it is HTML)."""
    value = container.get(name)
    if not isinstance(value, str):
        return clean_text(value, limit) if value else ""
    detail = container.get(f"{name}_detail") or {}
    if "html" in str(detail.get("type", "")) or "<" in value:
        value = html_to_text(value)
    return clean_text(value, limit)


def summary_of(raw: Any) -> str:
    summary = text_of(raw, "summary", MAX_SUMMARY)
    if summary:
        return summary
    for content in raw.get("content") or []:
        text = text_of(content, "value", MAX_SUMMARY)
        if text:
            return text
    return ""


def clean_link(link: Any) -> str | None:
    if not isinstance(link, str):
        return None
    canonical = canonicalize_url(clean_text(link))
    if not canonical or not canonical.lower().startswith(("http://", "https://")):
        return None
    return canonical if len(canonical) <= MAX_LINK else None


def published_of(raw: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(raw, name)  # plain lookup: skips feedparser's deprecated key fallbacks
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=timezone.utc)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def feed_ttl(feed: Any, headers: dict[str, str]) -> float | None:
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit():
        return int(ttl) * 60.0
    match = MAX_AGE.search(headers.get("cache-control", ""))
    if match:
        return float(match.group(1))
    return seconds_until(headers.get("expires"), headers.get("date"))


def seconds_until(expires: str | None, date: str | None) -> float | None:
    if not expires:
        return None
    try:
        end = parsedate_to_datetime(expires)
        start = parsedate_to_datetime(date) if date else datetime.now(timezone.utc)
        if end.tzinfo is None or start.tzinfo is None:
            end, start = end.replace(tzinfo=timezone.utc), start.replace(tzinfo=timezone.utc)
        return (end - start).total_seconds()
    except (TypeError, ValueError, IndexError):
        return None


def parse_feed_with_budget(
    body: bytes, headers: dict[str, str] | None = None, url: str = "", budget: float = 10.0, workers=None
) -> ParsedFeed:
    """`parse_feed` in a worker process of `workers` (an `extractors.workers.WorkerPool`; a
    pool of one for this call when None), killed once `budget` is used up."""
    from extractors.errors import ParseCrashed, ParseTimeout, WorkFailed
    from extractors.workers import WorkerPool

    if workers is None:
        with WorkerPool(size=1) as own:
            return parse_feed_with_budget(body, headers, url, budget, own)
    try:
        return workers.run(parse_feed, (body, headers, url), budget, (ParseTimeout, ParseCrashed))
    except WorkFailed as failure:
        return ParsedFeed(error_class=failure.error_class, error=str(failure))
