"""Read what a user points the CLI at: an HTML file, a text file, or a URL.

HTML (`.html`, `.htm`, `.html.gz`) and URLs go through the same extraction as the
monitor; a `.txt` file is taken as the article body as it is (its language detected
the same way, with no metadata to hint).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from config.models import FetchSettings
from extractors.articles import extract_article
from extractors.http import SafeClient
from extractors.language import decide_language
from extractors.models import Article

HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


class InputError(Exception):
    """An input that cannot be read; the message says which and why."""


def is_url(spec: str) -> bool:
    return bool(re.match(r"^https?://", spec, re.IGNORECASE))


def read_article(spec: str, fetch: FetchSettings) -> Article:
    """The clean article behind `spec` (file path or http(s) URL)."""
    if is_url(spec):
        return _fetch_article(spec, fetch)
    path = Path(spec)
    if path.is_dir():
        raise InputError(f"{spec}: is a directory; name the files in it (for example {spec.rstrip('/')}/*.html)")
    if not path.is_file():
        raise InputError(f"{spec}: no such file")
    name = path.name.lower()
    if name.endswith(".txt"):
        text = path.read_text(encoding="utf-8", errors="replace")
        decision = decide_language(text)
        return Article(url=path.resolve().as_uri(), title="", text=text, language=decision.language,
                       language_source=decision.source)
    if name.endswith(HTML_SUFFIXES):
        raw = path.read_bytes()
        html = gzip.decompress(raw) if name.endswith(".gz") else raw
        return extract_article(html, path.resolve().as_uri())
    raise InputError(f"{spec}: unsupported file type (use .html, .htm, .html.gz or .txt)")


def _fetch_article(url: str, fetch: FetchSettings) -> Article:
    with SafeClient(fetch) as client:
        result = client.fetch(url, kind="page")
    if not result.ok:
        raise InputError(f"{url}: {result.error_class}: {result.error}")
    return extract_article(result.body, result.final_url, result.headers)
