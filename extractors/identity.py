"""The one identity of a feed entry, stable across polls.

Contract: `entry_key(guid, link, title, summary)` is the GUID when the feed gives one,
else the canonical link, else "sha256:" + a hash of title and summary. Keys are
unique within one feed (two feeds may both use GUID "1"): the store pairs the key
with the feed. At most MAX_KEY characters; a longer GUID is replaced by its hash.
"""

from __future__ import annotations

import hashlib

from extractors.urls import canonicalize_url

MAX_KEY = 500


def entry_key(guid: str | None, link: str | None, title: str = "", summary: str = "") -> str:
    guid = (guid or "").strip()
    if guid:
        return guid if len(guid) <= MAX_KEY else hash_text("guid", guid)
    canonical = canonicalize_url(link)
    if canonical:
        return canonical if len(canonical) <= MAX_KEY else hash_text("link", canonical)
    return hash_text("content", title.strip(), summary.strip())


def hash_text(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"
