"""Plain data that leaves the extractors stage: feed entries and clean articles.

Later stages (matching, store) import these models and nothing else from extractors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, identified once and for all by `entry_key`.

    `entry_key` is the GUID, else the canonical link, else a content hash (see
    `extractors.identity`). `link` is already canonicalised.
    """

    entry_key: str
    link: str | None
    title: str
    summary: str
    published: datetime | None = None
    guid: str | None = None
    author: str | None = None
    language: str | None = None  # the entry's or its feed's declared language (a hint), as given


@dataclass(frozen=True)
class Article:
    """The cleaned article: what the matcher reads, never raw HTML.

    `flagged` says why the text is only the feed entry's own title and summary
    (page unreachable, paywall, unsupported type...); None when extraction worked.
    `title` is the page's article title; the store falls back to the feed entry's.
    """

    url: str
    title: str
    text: str
    date: str | None = None  # ISO 8601 date or datetime, as found on the page
    language: str | None = None  # ISO 639-1 code when known
    author: str | None = None
    canonical_url: str | None = None
    flagged: str | None = None
    # how `language` was decided: "text", "metadata", "text+metadata" or "undecided"
    # (extractors.language); None when no decision was made (an Article built by hand)
    language_source: str | None = None
