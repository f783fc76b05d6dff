"""Make outside text safe for each message format.

Everything in a message that came from a feed or a page (title, feed name, snippet,
terms, URL) passes through here: HTML escaping, markdown escaping, `@everyone`-style
mentions defused, CR/LF and control characters removed from one-line fields (an email
subject), and links only for http(s) URLs. Plain-text bodies (json://, form://,
xml://: nothing renders markdown there) get no escaping but mentions defused.
"""

from __future__ import annotations

import html
import re

SUBJECT_LIMIT = 200
_MENTION = re.compile(r"@(?=(everyone|here|channel|all)\b)", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def defuse_mentions(text: str) -> str:
    """`@everyone` -> `@\u200beveryone`: shown the same, pings nobody."""
    return _MENTION.sub("@\u200b", text)


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """No CR/LF or control characters (header injection), at most `limit` characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CHAT_TITLE = str.maketrans({"[": "(", "]": ")", "<": "‹", ">": "›", "`": "'", "*": "∗", "|": "¦"})


def chat_title(text: str) -> str:
    """A one-line chat title with no markup that chats act on (links, <!here>, code, bold),
    written with look-alike characters instead of backslashes, which titles would show."""
    return one_line(defuse_mentions(text)).translate(_CHAT_TITLE)


def escape_markdown(text: str) -> str:
    return defuse_mentions(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


def escape_html(text: str) -> str:
    return defuse_mentions(html.escape(text, quote=True))


def safe_link(url: str) -> str | None:
    """The URL when it is http(s) and has no whitespace or control characters, else None."""
    if not re.match(r"^https?://", url, re.IGNORECASE) or re.search(r"[\s\x00-\x1f\x7f]", url):
        return None
    return url


def markdown_link(label: str, url: str, marks=()) -> str:
    """A link when the URL is http(s), else the label alone; `marks` (offsets into the label:
    the matched terms of a title) are set in italics."""
    link = safe_link(url)
    text = mark_snippet(label, marks, escape_markdown, "*", "*")
    if link is None:
        return text
    return f"[{text}]({link.replace('(', '%28').replace(')', '%29').replace('<', '%3C').replace('>', '%3E')})"


def html_link(label: str, url: str, marks=()) -> str:
    link = safe_link(url)
    text = mark_snippet(label, marks, escape_html, "<mark>", "</mark>")
    return f'<a href="{html.escape(link, quote=True)}">{text}</a>' if link else text


def mark_snippet(snippet: str, marks, escape, before: str, after: str) -> str:
    """Escape the snippet and wrap each marked span in before/after."""
    pieces, position = [], 0
    for start, end in sorted(marks):
        if start < position or end > len(snippet):
            continue
        pieces += [escape(snippet[position:start]), before, escape(snippet[start:end]), after]
        position = end
    pieces.append(escape(snippet[position:]))
    return "".join(pieces)


def find_terms(text: str, terms) -> tuple[tuple[int, int], ...]:
    """Offsets of each term in `text`, compared case-insensitively, not inside a longer word
    (Hangul, Han and Kana terms are found anywhere: those scripts do not space their words)."""
    spans = set()
    for term in terms:
        edge = "" if term and _UNSPACED.match(term[0]) else r"(?<!\w)"
        tail = "" if term and _UNSPACED.match(term[-1]) else r"(?!\w)"
        pattern = re.compile(edge + re.escape(term) + tail, re.IGNORECASE)
        spans.update(found.span() for found in pattern.finditer(text) if found.end() > found.start())
    kept, position = [], 0
    for start, end in sorted(spans):
        if start >= position:
            kept.append((start, end))
            position = end
    return tuple(kept)


_UNSPACED = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def truncate(body: str, limit: int) -> str:
    if len(body) <= limit:
        return body
    return body[: max(limit - 1, 0)] + "…"
