"""Make any text safe to store and match: valid UTF-8, no NUL or control characters.

Contract: `clean_text(value, limit)` accepts anything (None, bytes, str with lone
surrogates) and returns a str that encodes to UTF-8, contains no NUL and no C0/C1
control characters except tab and newline, has no leading/trailing whitespace, and is
at most `limit` characters long (cut at a word boundary when one is near).
`html_to_text(html)` turns an HTML fragment (a feed summary) into plain text.
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
BLOCK_TAGS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre tr table section article header footer".split()
)
SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})


def clean_text(value: object, limit: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    text = CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if limit is not None and len(text) > limit:
        text = truncate(text, limit)
    return text


def truncate(text: str, limit: int) -> str:
    cut = text[:limit]
    space = cut.rfind(" ", max(limit - 100, 0))
    return (cut[:space] if space > 0 else cut).rstrip()


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self.skipping:
            self.skipping -= 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, blank lines squeezed."""
    if "<" not in fragment:
        return normalize_space(html_lib.unescape(fragment))
    collector = _TextCollector()
    try:
        collector.feed(fragment)
        collector.close()
    except Exception:  # noqa: BLE001 - html.parser may choke on hostile markup
        return normalize_space(re.sub(r"<[^>]*>", " ", fragment))
    return normalize_space("".join(collector.parts))


def normalize_space(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
