"""Build an RSS 2.0 document from plain items (the demo's feed, and the tests')."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape


def build_rss(items: list[dict], title: str = "Test feed") -> str:
    """Each item: title, link, and optionally guid, description, published (aware datetime)."""
    now = datetime.now(timezone.utc)
    parts = []
    for item in items:
        published = format_datetime(item.get("published", now))
        parts.append(
            f"<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>"
            f"<guid>{escape(item.get('guid', item['link']))}</guid>"
            f"<description>{escape(item.get('description', ''))}</description>"
            f"<pubDate>{published}</pubDate></item>"
        )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>http://example.org/</link><description>{escape(title)}</description>"
            f"{''.join(parts)}</channel></rss>")
