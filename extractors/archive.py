"""Read an archive of articles for `newswatch import`: outside data coming in, checked here.

The format is JSON Lines, one article per line, as a JSON object:

    {"url": "https://...", "text": "...", "title": "...", "published": "2026-11-27T08:15:00Z",
     "feed": "NK News", "language": "en"}

`url` and `text` are required; `title`, `published` (ISO 8601, or an RFC 2822 date as feeds
write them; a date without a zone is UTC), `feed` (free text: the outlet's name) and
`language` (ISO 639-1) are optional. Blank lines are passed over. A line that is not JSON,
not an object, lacks `url` or `text`, or has a date that cannot be read is a `BadLine`
naming its number and why; the reading goes on.

The article's identity is the same as a polled entry's: its canonical URL, so an archive
holding an article a feed already brought in (or the same article twice) stores it once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from extractors.identity import entry_key
from extractors.models import Article, FeedEntry
from extractors.urls import canonicalize_url

DEFAULT_FEED = "imported"


@dataclass(frozen=True)
class ArchivedArticle:
    """One good line: the entry (for identity and dates) and its clean article."""

    line: int
    feed: str
    entry: FeedEntry
    article: Article


@dataclass(frozen=True)
class BadLine:
    """A line that was skipped, and why, in words a user can act on."""

    line: int
    reason: str


def read_archive(lines: Iterable[str | bytes]) -> Iterator[ArchivedArticle | BadLine]:
    """Each non-blank line as an ArchivedArticle, or a BadLine saying what is wrong with it."""
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if raw.strip():
            yield read_line(number, raw)


def read_line(number: int, raw: str) -> ArchivedArticle | BadLine:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return BadLine(number, f"not JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})")
    if not isinstance(data, dict):
        return BadLine(number, f"not a JSON object (a {type(data).__name__})")
    problem = missing_field(data)
    if problem:
        return BadLine(number, problem)
    try:
        published = parse_published(data.get("published"))
    except ValueError as exc:
        return BadLine(number, str(exc))
    return to_archived(number, data, published)


def missing_field(data: dict) -> str | None:
    for name in ("url", "text"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"no {name!r} (a non-empty string is required)"
    if urlsplit(data["url"].strip()).scheme.lower() not in ("http", "https"):
        return f"'url' is not an http(s) URL: {data['url'][:100]!r}"
    for name in ("title", "feed", "language"):
        if data.get(name) is not None and not isinstance(data[name], str):
            return f"{name!r} must be a string"
    return None


def parse_published(value) -> datetime | None:
    """An ISO 8601 or RFC 2822 date as an aware UTC datetime; None when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"'published' must be a date string, not {type(value).__name__}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"'published' is not a date: {text[:60]!r} (use ISO 8601, e.g. 2026-11-27T08:15:00Z)")
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def to_archived(number: int, data: dict, published: datetime | None) -> ArchivedArticle:
    link = canonicalize_url(data["url"].strip())
    title = (data.get("title") or "").strip()
    text = data["text"].strip()
    entry = FeedEntry(entry_key=entry_key(None, link), link=link, title=title, summary="", published=published)
    article = Article(url=link, title=title, text=text, date=published.isoformat() if published else None,
                      language=(data.get("language") or "").strip().lower() or None)
    return ArchivedArticle(number, (data.get("feed") or "").strip() or DEFAULT_FEED, entry, article)
